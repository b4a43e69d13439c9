#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "tlswall/cli.h"
#include "tlswall/diag.h"
#include "tlswall/diff.h"
#include "tlswall/emit_json.h"
#include "tlswall/pipeline.h"
#include "tlswall/policy.h"
#include "tlswall/ruleset.h"
#include "tlswall/session.h"
#include "tlswall/shard.h"

int diff_main(const struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct pipeline pl;
	struct session s;
	struct diff d = { 0 };
	struct shard_view view = { 0 };
	size_t max_elems = cli->verbosity > 0 ? 0 : 20;
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
	if (!pipeline_build_logical(&pl, cli->policy_path, TRUST_WARN, cli->state_dir)) {
		if (json) {
			emit_json_failure(pl.policy && pl.policy->table ? pl.policy->table : NULL, pl.diags, stdout);
		} else {
			cli_print_diags(cli, pl.diags);
			fprintf(stderr, "%s: %zu error%s\n", cli->policy_path, diag_errors(pl.diags),
				diag_errors(pl.diags) == 1 ? "" : "s");
		}
		pipeline_release(&pl);
		return EXIT_ERROR;
	}
	/* read-only: no lock; a dump is consistent because nl_read_table checks the generation, and the record is
	 * used only while the generation is the one it names. Without a usable state directory, dump. */
	session_open(&s, cli->state_dir, SESSION_STATE_IF_USABLE, pl.diags);
	if (session_read(&s, pl.logical->name, true) == 0) {
		pipeline_layout(&pl, s.live);
		diff_tables(pl.table, s.live, &d);
		ret = diff_empty(&d) ? EXIT_OK : EXIT_CHANGES;
		/* long lists are shown whole, as the policy wrote them, not as their shards */
		shard_view_diff(&view, &d, pl.table, s.live);
	}
	if (json && ret == EXIT_ERROR) {
		emit_json_failure(pl.logical->name, pl.diags, stdout);
	} else if (json) {
		emit_json_diff(view.d, view.planned, view.live, max_elems, pl.diags, stdout);
	} else {
		cli_print_diags(cli, pl.diags);
		if (ret == EXIT_OK && cli->verbosity >= 0)
			printf("tlswall: no changes: table inet %s matches %s\n", pl.logical->name, cli->policy_path);
		else if (ret == EXIT_CHANGES && view.layout_only)
			printf("tlswall: the lists are unchanged; the shards of long lists would be laid out anew\n");
		else if (ret == EXIT_CHANGES)
			diff_print(view.d, view.planned, view.live, max_elems, stdout);
	}
	shard_view_release(&view);
	diff_release(&d);
	session_close(&s);
	pipeline_release(&pl);
	return ret;
}
