#include <stdio.h>
#include <stdlib.h>

#include "tlswall/cli.h"
#include "tlswall/commit.h"
#include "tlswall/deploy.h"
#include "tlswall/nl.h"
#include "tlswall/ruleset.h"
#include "tlswall/state.h"

int remove_main(const struct cli *cli, int argc, char **argv)
{
	struct state *st = NULL;
	struct nl *nl = NULL;
	struct rs_table *live = NULL;
	uint32_t genid = 0;
	struct pending pend;
	bool pending = false;
	char *error = NULL, *table = NULL;
	int ret = EXIT_ERROR;

	if (cli_extra_args("remove", argc, argv, 1))
		return EXIT_ERROR;
	table = cli_table_name(cli);
	st = deploy_open(cli->state_dir, true, &pend, &pending);
	if (!st)
		goto out;
	if (pending) {
		/* the rollback timer would bring a table back behind the admin's back */
		fprintf(stderr, "tlswall: a change is waiting for confirmation (%s); run \"tlswall confirm\" or "
				"\"tlswall rollback\" first\n",
			pend.policy);
		goto out;
	}
	if (live_read(table, st, &nl, &live, &genid, NULL))
		goto out;
	if (!live) {
		if (cli->verbosity >= 0)
			printf("tlswall: table inet %s does not exist; nothing to remove\n", table);
		ret = EXIT_OK;
		goto out;
	}
	/* only this table: every other table, Docker's and libvirt's included, stays as it is */
	if (commit_table(nl, st, NULL, NULL, table, genid, "tlswall remove", cli->verbosity > 0) == 0) {
		if (cli->verbosity >= 0)
			printf("tlswall: removed table inet %s; inbound traffic is no longer filtered by tlswall\n", table);
		ret = EXIT_OK;
	}
out:
	rs_table_free(live);
	nl_close(nl);
	state_close(st);
	free(error);
	free(table);
	return ret;
}
