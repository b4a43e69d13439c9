#include <stdio.h>
#include <stdlib.h>

#include "tlswall/cli.h"
#include "tlswall/diag.h"
#include "tlswall/session.h"
#include "tlswall/trail.h"

int remove_main(const struct cli *cli, int argc, char **argv)
{
	struct diag_list *diags;
	struct session s;
	char *table;
	int ret = EXIT_ERROR;

	if (cli_extra_args("remove", argc, argv, 1))
		return EXIT_ERROR;
	diags = diag_list_alloc();
	table = cli_table_name(cli);
	if (session_open(&s, cli->state_dir, SESSION_STATE | SESSION_LOCK, diags) != 0)
		goto out;
	if (session_pending_blocks(&s))
		goto out;
	if (session_read(&s, table, true) != 0)
		goto out;
	if (!s.live) {
		if (cli->verbosity >= 0)
			printf("tlswall: table inet %s does not exist; nothing to remove\n", table);
		ret = EXIT_OK;
		goto out;
	}
	/* only this table: every other table, Docker's and libvirt's included, stays as it is */
	if (session_commit(&s, NULL, NULL, "tlswall remove") == 0) {
		struct trail *t = trail_alloc("removed", "remove");

		trail_add_commit(t, &s);
		trail_send(t, s.st, TRAIL_WARNING);
		if (cli->verbosity >= 0)
			printf("tlswall: removed table inet %s; inbound traffic is no longer filtered by tlswall\n", table);
		ret = EXIT_OK;
	}
out:
	cli_print_diags(cli, diags);
	session_close(&s);
	diag_list_free(diags);
	free(table);
	return ret;
}
