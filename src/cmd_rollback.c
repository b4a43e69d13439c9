#include <stdio.h>
#include <stdlib.h>

#include "tlswall/cli.h"
#include "tlswall/deploy.h"
#include "tlswall/state.h"

int rollback_main(const struct cli *cli, int argc, char **argv)
{
	struct state *st;
	struct pending p;
	bool exists;
	char *error = NULL;
	int ret = EXIT_ERROR;

	if (cli_extra_args("rollback", argc, argv, 1))
		return EXIT_ERROR;
	st = deploy_open(cli->state_dir, true, &p, &exists);
	if (!st)
		goto out;
	if (exists && p.netns != deploy_netns()) {
		fprintf(stderr, "tlswall: the change waiting for confirmation was applied in another network namespace; "
				"roll it back there (ip netns exec ...)\n");
		goto out;
	}
	if (!state_exists(st, STATE_PREVIOUS)) {
		fprintf(stderr, "tlswall: nothing to roll back to (no previous ruleset has been saved)\n");
		goto out;
	}
	if (deploy_restore(st, STATE_PREVIOUS, cli->verbosity > 0) != 0)
		goto out;
	if (exists) {
		timer_stop(&p);
		state_remove(st, STATE_PENDING);
		state_remove(st, STATE_CANDIDATE);
	} else if (!state_rename(st, STATE_PREVIOUS, STATE_LKG, &error)) {
		/* the admin chose the previous ruleset: it is what boot should come back to */
		fprintf(stderr, "tlswall: warning: %s\n", error);
	}
	state_remove(st, STATE_PREVIOUS);
	state_event(st, "rolled back by \"tlswall rollback\"%s", exists ? " before confirmation" : "");
	if (cli->verbosity >= 0)
		printf("tlswall: rolled back to the ruleset before the last apply\n");
	ret = EXIT_OK;
out:
	free(error);
	state_close(st);
	return ret;
}
