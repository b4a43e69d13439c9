#include <stdio.h>
#include <stdlib.h>

#include "tlswall/cli.h"
#include "tlswall/diag.h"
#include "tlswall/install.h"
#include "tlswall/pending.h"
#include "tlswall/ruleset.h"
#include "tlswall/session.h"
#include "tlswall/snapshot.h"
#include "tlswall/snapshot_file.h"
#include "tlswall/state.h"
#include "tlswall/timer.h"
#include "tlswall/trail.h"

static bool previous_is_a_table(struct session *s)
{
	struct rs_table *t = NULL;
	struct snapshot_info info;
	char *error = NULL;
	bool ok = snapshot_load(s->st, STATE_PREVIOUS, &t, &info, &error) && t;

	rs_table_free(t);
	snapshot_info_release(&info);
	free(error);
	return ok;
}

static void log_rolled_back(struct session *s)
{
	struct trail *t = trail_alloc("rolled_back", "rollback");

	if (s->pending_exists) {
		trail_add_path(t, "unconfirmed", s->pending.policy);
		trail_add(t, "unconfirmed_sha256", "%s", s->pending.sha256);
	} else if (s->pending_damaged) {
		trail_add(t, "unconfirmed", "unknown (the pending confirmation was damaged)");
	}
	trail_add(t, "restored", "%s", s->sent.origin ? s->sent.origin : "");
	trail_add_commit(t, s);
	trail_send(t, s->st, TRAIL_NOTICE);
}

int rollback_main(const struct cli *cli, int argc, char **argv)
{
	struct diag_list *diags;
	struct session s;
	char *error = NULL;
	int ret = EXIT_ERROR;

	if (cli_extra_args("rollback", argc, argv, 1))
		return EXIT_ERROR;
	diags = diag_list_alloc();
	if (session_open(&s, cli->state_dir, SESSION_STATE | SESSION_LOCK, diags) != 0)
		goto out;
	if (s.pending_exists && !pending_here(&s.pending)) {
		diag_error(diags, NULL, 0,
			   "the change waiting for confirmation was applied in another network namespace; roll it back "
			   "there (ip netns exec ...)");
		goto out;
	}
	if (!state_exists(s.st, STATE_PREVIOUS)) {
		diag_error(diags, NULL, 0, "nothing to roll back to (no previous ruleset has been saved)");
		goto out;
	}
	if (install_snapshot(&s, STATE_PREVIOUS) != 0)
		goto out;
	if (s.pending_exists || s.pending_damaged) {
		if (s.pending_exists)
			timer_stop(&s.pending);
		state_remove(s.st, STATE_PENDING);
		state_remove(s.st, STATE_CANDIDATE);
	} else if (!previous_is_a_table(&s)) {
		/* back to no table at all, which is never a last-known-good: what was, the admin just rejected; boot
		 * falls to the emergency ruleset until something is applied again */
		state_remove(s.st, STATE_LKG);
	} else if (!state_rename(s.st, STATE_PREVIOUS, STATE_LKG, &error)) {
		/* the admin chose the previous ruleset: it is what boot should come back to */
		diag_warning(diags, NULL, 0, "%s", error);
	}
	state_remove(s.st, STATE_PREVIOUS);
	log_rolled_back(&s);
	if (cli->verbosity >= 0)
		printf("tlswall: rolled back to the ruleset before the last apply\n");
	ret = EXIT_OK;
out:
	cli_print_diags(cli, diags);
	session_close(&s);
	diag_list_free(diags);
	free(error);
	return ret;
}
