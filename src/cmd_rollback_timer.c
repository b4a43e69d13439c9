#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tlswall/cli.h"
#include "tlswall/diag.h"
#include "tlswall/install.h"
#include "tlswall/pending.h"
#include "tlswall/session.h"
#include "tlswall/state.h"

/* The rollback timer (internal: apply --confirm starts it, detached): sleep until the deadline, then restore the
 * previous ruleset unless the change was confirmed (its pending file is gone or belongs to a newer change). */
int rollback_timer_main(const struct cli *cli, int argc, char **argv)
{
	struct timespec deadline;
	struct diag_list *diags;
	struct session s;
	char *end;
	unsigned long seconds;
	int ret = EXIT_ERROR;

	if (argc != 3 || strlen(argv[1]) != 32 || (seconds = strtoul(argv[2], &end, 10)) == 0 || *end) {
		fprintf(stderr, "tlswall rollback-timer: internal verb, started by apply --confirm\n");
		return EXIT_ERROR;
	}
	/* CLOCK_BOOTTIME keeps counting while the machine is suspended: the deadline is real time away */
	clock_gettime(CLOCK_BOOTTIME, &deadline);
	deadline.tv_sec += (time_t)seconds;
	while (clock_nanosleep(CLOCK_BOOTTIME, TIMER_ABSTIME, &deadline, NULL) == EINTR)
		;

	diags = diag_list_alloc();
	if (session_open(&s, cli->state_dir, SESSION_STATE | SESSION_LOCK, diags) != 0)
		goto out;
	if (!s.pending_exists || strcmp(s.pending.token, argv[1]) != 0) {
		ret = EXIT_OK; /* confirmed, or rolled back by hand */
		goto out;
	}
	if (install_snapshot(&s, STATE_PREVIOUS) != 0) {
		state_event(s.st, "rollback timer: could not restore the previous ruleset of %s; run \"tlswall rollback\"",
			    s.pending.policy);
		goto out;
	}
	state_remove(s.st, STATE_PENDING);
	state_remove(s.st, STATE_CANDIDATE);
	state_remove(s.st, STATE_PREVIOUS);
	state_event(s.st, "not confirmed within %lu seconds: rolled back %s to the previous ruleset", seconds,
		    s.pending.policy);
	ret = EXIT_OK;
out:
	/* nobody reads this process's output: what went wrong goes to the events log */
	for (size_t i = 0; s.st && i < diag_count(diags); i++)
		state_event(s.st, "rollback timer: %s", diag_at(diags, i)->message);
	session_close(&s);
	diag_list_free(diags);
	return ret;
}
