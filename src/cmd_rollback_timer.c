#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tlswall/cli.h"
#include "tlswall/deploy.h"
#include "tlswall/state.h"

/* The rollback timer (internal: apply --confirm starts it, detached): sleep until the deadline, then restore the
 * previous ruleset unless the change was confirmed (its pending file is gone or belongs to a newer change). */
int rollback_timer_main(const struct cli *cli, int argc, char **argv)
{
	struct timespec deadline;
	struct state *st = NULL;
	struct pending p;
	bool exists;
	char *error = NULL, *end;
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

	st = state_open(cli->state_dir, &error);
	if (!st || !state_lock(st, 300, &error) || !pending_read(st, &p, &exists, &error))
		goto out;
	if (!exists || strcmp(p.token, argv[1]) != 0) {
		ret = EXIT_OK; /* confirmed, or rolled back by hand */
		goto out;
	}
	if (deploy_restore(st, STATE_PREVIOUS, false) != 0) {
		state_event(st, "rollback timer: could not restore the previous ruleset of %s; run \"tlswall rollback\"",
			    p.policy);
		goto out;
	}
	state_remove(st, STATE_PENDING);
	state_remove(st, STATE_CANDIDATE);
	state_remove(st, STATE_PREVIOUS);
	state_event(st, "not confirmed within %lu seconds: rolled back %s to the previous ruleset", seconds, p.policy);
	ret = EXIT_OK;
out:
	if (error && st)
		state_event(st, "rollback timer: %s", error);
	free(error);
	state_close(st);
	return ret;
}
