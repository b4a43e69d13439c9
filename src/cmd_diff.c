#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "tlswall/cli.h"
#include "tlswall/commit.h"
#include "tlswall/diag.h"
#include "tlswall/diff.h"
#include "tlswall/emit_json.h"
#include "tlswall/nl.h"
#include "tlswall/pipeline.h"
#include "tlswall/ruleset.h"
#include "tlswall/state.h"

int diff_main(const struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct pipeline pl;
	struct nl *nl = NULL;
	struct rs_table *live = NULL;
	struct diff d = { 0 };
	uint32_t genid = 0;
	struct state *st = NULL;
	char *error = NULL;
	bool json = false;
	int ret = EXIT_ERROR, c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+j", options, NULL)) != -1) {
		if (c != 'j') {
			fprintf(stderr, "Usage: tlswall [-f FILE] diff [--json]\n");
			return EXIT_ERROR;
		}
		json = true;
	}
	if (cli_extra_args("diff", argc, argv, optind))
		return EXIT_ERROR;
	if (!pipeline_build(&pl, cli->policy_path, TRUST_WARN)) {
		diag_print(pl.diags, stderr);
		fprintf(stderr, "%s: %zu error%s\n", cli->policy_path, diag_errors(pl.diags),
			diag_errors(pl.diags) == 1 ? "" : "s");
		goto out;
	}
	if (cli->verbosity >= 0)
		diag_print(pl.diags, stderr);
	/* read-only: no lock; a dump is consistent because nl_read_table checks the generation, and the record is
	 * used only while the generation is the one it names. Without a usable state directory, dump. */
	st = state_open(cli->state_dir, &error);
	free(error);
	if (live_read(pl.table->name, st, &nl, &live, &genid, NULL))
		goto out;
	diff_tables(pl.table, live, &d);
	if (json)
		emit_json_diff(&d, pl.table, live, cli->verbosity > 0 ? 0 : 20, stdout);
	else if (diff_empty(&d) && cli->verbosity >= 0)
		printf("tlswall: no changes: table inet %s matches %s\n", pl.table->name, cli->policy_path);
	else if (!diff_empty(&d))
		diff_print(&d, pl.table, live, cli->verbosity > 0 ? 0 : 20, stdout);
	ret = diff_empty(&d) ? EXIT_OK : EXIT_CHANGES;
out:
	diff_release(&d);
	rs_table_free(live);
	nl_close(nl);
	state_close(st);
	pipeline_release(&pl);
	return ret;
}
