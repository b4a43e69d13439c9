#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tlswall/cli.h"
#include "tlswall/commit.h"
#include "tlswall/diag.h"
#include "tlswall/diff.h"
#include "tlswall/nl.h"
#include "tlswall/pipeline.h"
#include "tlswall/policy.h"
#include "tlswall/ruleset.h"
#include "tlswall/state.h"

/* Tests only: stop between reading the kernel and committing, so a test can change the ruleset in that window.
 * Creates PATH.ready, then waits (at most 30 s) for PATH to appear. */
static void test_pause(void)
{
	const char *path = getenv("TLSWALL_TEST_PAUSE_FILE");
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	struct stat st;
	char ready[4096];
	FILE *f;

	if (!path || !*path)
		return;
	snprintf(ready, sizeof(ready), "%s.ready", path);
	f = fopen(ready, "w");
	if (f)
		fclose(f);
	for (int i = 0; i < 1500 && stat(path, &st) != 0; i++)
		nanosleep(&tick, NULL);
}

static void warn_foreign(const struct diff *d)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].kind == CHANGE_RULE_DEL && d->v[i].rule->foreign)
			fprintf(stderr, "tlswall: warning: removing a rule in chain %s that tlswall did not make (handle %llu)\n",
				d->v[i].object, (unsigned long long)d->v[i].rule->handle);
}

int apply_main(const struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct pipeline pl;
	struct state *st = NULL;
	struct nl *nl = NULL;
	struct rs_table *live = NULL;
	struct diff d = { 0 };
	uint32_t genid = 0;
	bool dry_run = false;
	char *error = NULL;
	int ret = EXIT_ERROR, c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+n", options, NULL)) != -1) {
		if (c != 'n') {
			fprintf(stderr, "Usage: tlswall [-f FILE] apply [--dry-run]\n");
			return EXIT_ERROR;
		}
		dry_run = true;
	}
	if (optind < argc) {
		fprintf(stderr, "tlswall apply: unexpected argument \"%s\"\n", argv[optind]);
		return EXIT_ERROR;
	}

	/* load, validate, compile: a policy with any error never reaches the kernel */
	if (!pipeline_build(&pl, cli->policy_path, TRUST_REQUIRE)) {
		diag_print(pl.diags, stderr);
		fprintf(stderr, "%s: %zu error%s; nothing was changed\n", cli->policy_path, diag_errors(pl.diags),
			diag_errors(pl.diags) == 1 ? "" : "s");
		goto out;
	}
	if (cli->verbosity >= 0)
		diag_print(pl.diags, stderr);

	st = state_open(cli->state_dir, &error);
	if (!st || !state_lock(st, 60, &error)) {
		fprintf(stderr, "tlswall: %s\n", error);
		goto out;
	}
	if (live_read(pl.table->name, &nl, &live, &genid))
		goto out;
	diff_tables(pl.table, live, &d);
	if (diff_empty(&d)) {
		if (cli->verbosity >= 0)
			printf("tlswall: no changes: table inet %s already matches %s\n", pl.table->name, cli->policy_path);
		ret = EXIT_OK;
		goto out;
	}
	if (dry_run) {
		diff_print(&d, pl.table, live, cli->verbosity > 0 ? 0 : 20, stdout);
		printf("tlswall: dry run, nothing applied: ");
		diff_print_summary(&d, stdout);
		ret = EXIT_CHANGES;
		goto out;
	}
	warn_foreign(&d);
	if (cli->verbosity > 0)
		diff_print(&d, pl.table, live, 0, stdout);
	test_pause();
	if (commit_table(nl, pl.table, pl.table->name, genid, cli->verbosity > 0) == 0) {
		if (cli->verbosity >= 0) {
			printf("tlswall: applied %s to table inet %s: ", cli->policy_path, pl.table->name);
			diff_print_summary(&d, stdout);
		}
		ret = EXIT_OK;
	}
out:
	diff_release(&d);
	rs_table_free(live);
	nl_close(nl);
	state_close(st);
	free(error);
	pipeline_release(&pl);
	return ret;
}
