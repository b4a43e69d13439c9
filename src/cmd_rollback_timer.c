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
#include "tlswall/trail.h"

/* Between failed restores: 1, 2, 4 ... seconds, then every minute, for as long as the change stays unconfirmed. */
#define RETRY_MAX_SECONDS 60

enum attempt {
	DONE,  /* restored, or nothing left to do */
	RETRY, /* not restored yet */
};

static void sleep_boottime(unsigned long seconds)
{
	struct timespec until;

	/* CLOCK_BOOTTIME keeps counting while the machine is suspended: the deadline is real time away */
	clock_gettime(CLOCK_BOOTTIME, &until);
	until.tv_sec += (time_t)seconds;
	while (clock_nanosleep(CLOCK_BOOTTIME, TIMER_ABSTIME, &until, NULL) == EINTR)
		;
}

/* One attempt, holding the state directory's lock only while it lasts (so that confirm and rollback can run in
 * between). Failures go to the events log, and into the pending confirmation, so that status tells. */
static enum attempt attempt_rollback(const struct cli *cli, const char *token, unsigned long seconds)
{
	struct diag_list *diags = diag_list_alloc();
	struct session s;
	enum attempt ret = RETRY;
	char *error = NULL;

	if (session_open(&s, cli->state_dir, SESSION_STATE | SESSION_LOCK, diags) != 0)
		goto out;
	/* confirmed, or rolled back by hand; a confirmation that cannot be read cannot say it was confirmed */
	if (!s.pending_damaged && (!s.pending_exists || strcmp(s.pending.token, token) != 0)) {
		ret = DONE;
		goto out;
	}
	if (install_snapshot(&s, STATE_PREVIOUS) == 0) {
		state_remove(s.st, STATE_PENDING);
		state_remove(s.st, STATE_CANDIDATE);
		state_remove(s.st, STATE_PREVIOUS);
		struct trail *t = trail_alloc("rolled_back", "rollback timer");

		trail_add(t, "reason", "not confirmed within %lu seconds", seconds);
		if (s.pending_exists) {
			trail_add_path(t, "unconfirmed", s.pending.policy);
			trail_add(t, "unconfirmed_sha256", "%s", s.pending.sha256);
		}
		trail_add(t, "restored", "%s", s.sent.origin ? s.sent.origin : "");
		trail_add_commit(t, &s);
		trail_send(t, s.st, TRAIL_WARNING);
		ret = DONE;
		goto out;
	}
	if (s.pending_exists) {
		const struct diag *d = diag_count(diags) ? diag_at(diags, 0) : NULL;

		s.pending.restore_failures++;
		snprintf(s.pending.restore_error, sizeof(s.pending.restore_error), "%s",
			 d ? d->message : "the kernel refused it");
		if (!pending_write(s.st, &s.pending, &error))
			diag_error(diags, NULL, 0, "%s", error);
	}
out:
	/* nobody reads this process's output: what went wrong goes to the audit trail */
	if (diag_count(diags)) {
		struct trail *t = trail_alloc("rollback_failed", "rollback timer");

		if (s.pending_exists) {
			trail_add_path(t, "unconfirmed", s.pending.policy);
			trail_add(t, "attempts", "%u", s.pending.restore_failures);
		}
		trail_add_errors(t, diags, 0);
		trail_send(t, s.st, TRAIL_ERROR);
	}
	free(error);
	session_close(&s);
	diag_list_free(diags);
	return ret;
}

/* The rollback timer (internal: apply --confirm starts it, detached): sleep until the deadline, then restore the
 * previous ruleset unless the change was confirmed (its pending file is gone or belongs to a newer change), and
 * keep trying until that succeeds. */
int rollback_timer_main(const struct cli *cli, int argc, char **argv)
{
	unsigned long seconds, pause = 1;
	char *end;

	if (argc != 3 || strlen(argv[1]) != 32 || (seconds = strtoul(argv[2], &end, 10)) == 0 || *end) {
		fprintf(stderr, "tlswall rollback-timer: internal verb, started by apply --confirm\n");
		return EXIT_ERROR;
	}
	sleep_boottime(seconds);
	while (attempt_rollback(cli, argv[1], seconds) == RETRY) {
		sleep_boottime(pause);
		pause = pause * 2 > RETRY_MAX_SECONDS ? RETRY_MAX_SECONDS : pause * 2;
	}
	return EXIT_OK;
}
