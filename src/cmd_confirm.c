#include <stdio.h>
#include <stdlib.h>

#include "tlswall/cli.h"
#include "tlswall/deploy.h"
#include "tlswall/state.h"

int confirm_main(const struct cli *cli, int argc, char **argv)
{
	struct state *st;
	struct pending p;
	bool exists;
	char *error = NULL;
	int ret = EXIT_ERROR;

	if (cli_extra_args("confirm", argc, argv, 1))
		return EXIT_ERROR;
	st = deploy_open(cli->state_dir, true, &p, &exists);
	if (!st)
		goto out;
	if (!exists) {
		fprintf(stderr, "tlswall: nothing to confirm (no change is waiting; see \"tlswall status\" for what the "
				"rollback timer did)\n");
		goto out;
	}
	if (p.netns != deploy_netns()) {
		fprintf(stderr, "tlswall: the change waiting for confirmation was applied in another network namespace; "
				"run confirm there (ip netns exec ...)\n");
		goto out;
	}
	/* the applied ruleset becomes last-known-good; the timer finds no pending file and would do nothing, but it
	 * is stopped all the same */
	if (!state_rename(st, STATE_CANDIDATE, STATE_LKG, &error)) {
		fprintf(stderr, "tlswall: %s\n", error);
		goto out;
	}
	state_remove(st, STATE_PENDING);
	timer_stop(&p);
	state_event(st, "confirmed %s", p.policy);
	if (cli->verbosity >= 0)
		printf("tlswall: confirmed %s; it is now the last-known-good ruleset\n", p.policy);
	ret = EXIT_OK;
out:
	free(error);
	state_close(st);
	return ret;
}
