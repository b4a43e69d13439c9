#include <stdio.h>
#include <stdlib.h>

#include "tlswall/cli.h"
#include "tlswall/diag.h"
#include "tlswall/pending.h"
#include "tlswall/session.h"
#include "tlswall/state.h"
#include "tlswall/timer.h"
#include "tlswall/trail.h"

static void log_confirmed(struct session *s)
{
	struct trail *t = trail_alloc("confirmed", "confirm");

	if (s->pending_exists) {
		trail_add_path(t, "policy", s->pending.policy);
		trail_add(t, "table", "%s", s->pending.table);
		trail_add(t, "sha256", "%s", s->pending.sha256);
		trail_add(t, "applied_at", "%lld", (long long)s->pending.applied_at);
	} else {
		trail_add(t, "policy", "unknown (the pending confirmation was damaged)");
	}
	trail_send(t, s->st, TRAIL_NOTICE);
}

int confirm_main(const struct cli *cli, int argc, char **argv)
{
	struct diag_list *diags;
	struct session s;
	char *error = NULL;
	int ret = EXIT_ERROR;

	if (cli_extra_args("confirm", argc, argv, 1))
		return EXIT_ERROR;
	diags = diag_list_alloc();
	if (session_open(&s, cli->state_dir, SESSION_STATE | SESSION_LOCK, diags) != 0)
		goto out;
	if (!s.pending_exists && !s.pending_damaged) {
		diag_error(diags, NULL, 0,
			   "nothing to confirm (no change is waiting; see \"tlswall status\" for what the rollback timer did)");
		goto out;
	}
	if (s.pending_exists && !pending_here(&s.pending)) {
		diag_error(diags, NULL, 0,
			   "the change waiting for confirmation was applied in another network namespace; run confirm there "
			   "(ip netns exec ...)");
		goto out;
	}
	/* the applied ruleset becomes last-known-good; the timer finds no pending file and would do nothing, but it
	 * is stopped all the same */
	if (!state_rename(s.st, STATE_CANDIDATE, STATE_LKG, &error)) {
		diag_error(diags, NULL, 0, "%s", error);
		goto out;
	}
	state_remove(s.st, STATE_PENDING);
	if (s.pending_exists)
		timer_stop(&s.pending); /* with a damaged confirmation, the timer finds nothing pending and does nothing */
	log_confirmed(&s);
	if (cli->verbosity >= 0)
		printf("tlswall: confirmed %s; it is now the last-known-good ruleset\n",
		       s.pending_exists ? s.pending.policy : "the live ruleset");
	ret = EXIT_OK;
out:
	cli_print_diags(cli, diags);
	session_close(&s);
	diag_list_free(diags);
	free(error);
	return ret;
}
