#include <linux/netfilter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tlswall/cli.h"
#include "tlswall/diag.h"
#include "tlswall/flush_watch.h"
#include "tlswall/nl.h"
#include "tlswall/nl_decode.h"
#include "tlswall/pending.h"
#include "tlswall/ruleset.h"
#include "tlswall/session.h"
#include "tlswall/snapshot.h"
#include "tlswall/snapshot_file.h"
#include "tlswall/state.h"
#include "tlswall/timer.h"

static void print_snapshot(struct state *st, const char *file, const char *label)
{
	struct rs_table *t;
	struct snapshot_info info;
	char *error = NULL;

	if (!state_exists(st, file)) {
		printf("%s: none\n", label);
		return;
	}
	if (!snapshot_load(st, file, &t, &info, &error)) {
		printf("%s: unreadable: %s\n", label, error);
		free(error);
		return;
	}
	printf("%s: %s (table inet %s%s)\n", label, info.origin && *info.origin ? info.origin : "?", info.table,
	       t ? "" : " absent");
	rs_table_free(t);
	snapshot_info_release(&info);
}

/* The last lines of the events log: what the timer and boot did while nobody watched. */
static void print_events(struct state *st, size_t last)
{
	char *text, *error = NULL;
	size_t len, lines = 0;
	const char *p;

	if (!state_read(st, STATE_EVENTS, &text, &len, &error) || !text) {
		free(error);
		return;
	}
	p = text + len;
	while (p > text && lines <= last)
		if (*--p == '\n')
			lines++;
	if (*p == '\n')
		p++;
	printf("recent events:\n");
	for (const char *line = p; *line;) {
		const char *nl = strchr(line, '\n');

		printf("  %.*s\n", (int)(nl ? nl - line : (long)strlen(line)), line);
		line = nl ? nl + 1 : line + strlen(line);
	}
	free(text);
}

/* Whether the kernel holds the table at all: a table that is missing or switched off filters nothing. A missing
 * one comes with what on this host deletes it (in diags). */
static void print_live(const char *table, struct diag_list *diags)
{
	struct nl_table_name *tables = NULL;
	struct nl *nl = NULL;
	size_t n = 0;
	int ret = nl_open(&nl);

	if (ret == 0)
		ret = nl_list_tables(nl, &tables, &n);
	nl_close(nl);
	if (ret) {
		printf("live table: unknown (cannot read netfilter: %s)\n", strerror(-ret));
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (tables[i].family == NFPROTO_INET && strcmp(tables[i].name, table) == 0) {
			if (tables[i].dormant)
				printf("live table: WARNING: table inet %s is dormant: nothing is filtered; \"tlswall apply\" "
				       "wakes it\n",
				       table);
			else
				printf("live table: table inet %s\n", table);
			free(tables);
			return;
		}
	printf("live table: WARNING: table inet %s is missing: tlswall filters nothing; \"tlswall apply\" puts it back\n",
	       table);
	flush_watch_report(table, diags);
	free(tables);
}

int status_main(const struct cli *cli, int argc, char **argv)
{
	struct diag_list *diags;
	struct session s;
	int ret = EXIT_ERROR;

	if (cli_extra_args("status", argc, argv, 1))
		return EXIT_ERROR;
	diags = diag_list_alloc();
	if (session_open(&s, cli->state_dir, SESSION_STATE, diags) != 0)
		goto out;
	if (s.pending_exists) {
		const struct pending *p = &s.pending;
		long left = (long)(p->deadline - (int64_t)time(NULL));

		printf("confirmation pending: %s applied to table inet %s; ", p->policy, p->table);
		if (left > 0)
			printf("%ld second%s left, then it rolls back\n", left, left == 1 ? "" : "s");
		else
			printf("the deadline passed %ld second%s ago\n", -left, left == -1 ? "" : "s");
		if (!timer_alive(p))
			printf("WARNING: the rollback timer (pid %d) is not running: run \"tlswall rollback\" or "
			       "\"tlswall confirm\"\n",
			       (int)p->timer_pid);
		else
			printf("rollback timer: pid %d\n", (int)p->timer_pid);
		if (p->restore_failures)
			printf("WARNING: the rollback timer has failed %u time%s to restore the previous ruleset (last: %s); it "
			       "keeps retrying, or run \"tlswall rollback\"\n",
			       p->restore_failures, p->restore_failures == 1 ? "" : "s", p->restore_error);
		if (!pending_here(p))
			printf("note: it was applied in another network namespace\n");
	} else if (s.pending_damaged) {
		printf("confirmation pending: unknown: %s; run \"tlswall rollback\" to restore the ruleset from before the "
		       "last apply, or \"tlswall confirm\" to keep the live one (the rollback timer, if it runs, restores "
		       "at its deadline)\n",
		       s.pending_damaged);
	} else {
		printf("confirmation pending: no\n");
	}
	{
		char *table = s.pending_exists ? x_strdup(s.pending.table) : cli_table_name(cli);

		print_live(table, diags);
		free(table);
	}
	print_snapshot(s.st, STATE_LKG, "last-known-good");
	print_snapshot(s.st, STATE_PREVIOUS, "previous (what rollback restores)");
	if (cli->verbosity >= 0)
		print_events(s.st, 5);
	ret = EXIT_OK;
out:
	cli_print_diags(cli, diags);
	session_close(&s);
	diag_list_free(diags);
	return ret;
}
