#include <getopt.h>
#include <linux/netfilter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tlswall/cli.h"
#include "tlswall/diag.h"
#include "tlswall/emit_json.h"
#include "tlswall/flush_watch.h"
#include "tlswall/nl.h"
#include "tlswall/nl_decode.h"
#include "tlswall/pending.h"
#include "tlswall/ruleset.h"
#include "tlswall/session.h"
#include "tlswall/snapshot.h"
#include "tlswall/snapshot_file.h"
#include "tlswall/state.h"
#include "tlswall/status_report.h"
#include "tlswall/timer.h"
#include "tlswall/trail.h"

/* How many lines of the audit trail status shows: as text, and in --json. */
#define EVENTS_TEXT 5
#define EVENTS_JSON 20

static void read_saved(struct state *st, const char *file, struct status_saved *out)
{
	struct rs_table *t = NULL;
	struct snapshot_info info;

	memset(out, 0, sizeof(*out));
	out->exists = state_exists(st, file);
	if (!out->exists)
		return;
	if (!snapshot_load(st, file, &t, &info, &out->error))
		return;
	out->origin = info.origin && *info.origin ? x_strdup(info.origin) : NULL;
	out->table = info.table ? x_strdup(info.table) : NULL;
	out->absent = !t;
	table_sha256(t, out->sha256);
	rs_table_free(t);
	snapshot_info_release(&info);
}

static void saved_release(struct status_saved *s)
{
	free(s->error);
	free(s->origin);
	free(s->table);
}

/* Whether the kernel holds the table at all: a table that is missing or switched off filters nothing. A missing
 * one comes with what on this host deletes it (in diags). */
static void read_live(struct status_report *r, struct diag_list *diags)
{
	struct nl_table_name *tables = NULL;
	struct nl *nl = NULL;
	size_t n = 0;
	int ret = nl_open(&nl);

	if (ret == 0)
		ret = nl_list_tables(nl, &tables, &n);
	nl_close(nl);
	if (ret) {
		r->live = STATUS_LIVE_UNKNOWN;
		r->live_error = x_asprintf("cannot read netfilter: %s", strerror(-ret));
		return;
	}
	r->live = STATUS_LIVE_MISSING;
	for (size_t i = 0; i < n; i++)
		if (tables[i].family == NFPROTO_INET && strcmp(tables[i].name, r->table) == 0)
			r->live = tables[i].dormant ? STATUS_LIVE_DORMANT : STATUS_LIVE_PRESENT;
	if (r->live == STATUS_LIVE_MISSING)
		flush_watch_report(r->table, diags);
	free(tables);
}

static void gather(struct status_report *r, struct session *s, const char *table, size_t events,
		   struct diag_list *diags)
{
	char *error = NULL;

	memset(r, 0, sizeof(*r));
	r->table = table;
	r->now = (int64_t)time(NULL);
	if (s->pending_exists) {
		r->pending = &s->pending;
		r->timer_alive = timer_alive(&s->pending);
		r->pending_here = pending_here(&s->pending);
	}
	r->pending_damaged = s->pending_damaged;
	read_live(r, diags);
	read_saved(s->st, STATE_LKG, &r->lkg);
	read_saved(s->st, STATE_PREVIOUS, &r->previous);
	if (!trail_read(s->st, events, &r->events, &r->nevents, &error)) {
		diag_warning(diags, NULL, 0, "%s", error);
		free(error);
	}
}

static void report_release(struct status_report *r)
{
	free(r->live_error);
	saved_release(&r->lkg);
	saved_release(&r->previous);
	trail_lines_free(r->events, r->nevents);
}

static void print_saved(const struct status_saved *s, const char *label)
{
	if (!s->exists)
		printf("%s: none\n", label);
	else if (s->error)
		printf("%s: unreadable: %s\n", label, s->error);
	else
		printf("%s: %s (table inet %s%s)\n", label, s->origin ? s->origin : "?", s->table ? s->table : "?",
		       s->absent ? " absent" : "");
}

static void print_pending(const struct status_report *r)
{
	const struct pending *p = r->pending;
	long left;

	if (!p && r->pending_damaged) {
		printf("confirmation pending: unknown: %s; run \"tlswall rollback\" to restore the ruleset from before the "
		       "last apply, or \"tlswall confirm\" to keep the live one (the rollback timer, if it runs, restores "
		       "at its deadline)\n",
		       r->pending_damaged);
		return;
	}
	if (!p) {
		printf("confirmation pending: no\n");
		return;
	}
	left = (long)(p->deadline - r->now);
	printf("confirmation pending: %s applied to table inet %s; ", p->policy, p->table);
	if (left > 0)
		printf("%ld second%s left, then it rolls back\n", left, left == 1 ? "" : "s");
	else
		printf("the deadline passed %ld second%s ago\n", -left, left == -1 ? "" : "s");
	if (!r->timer_alive)
		printf("WARNING: the rollback timer (pid %d) is not running: run \"tlswall rollback\" or "
		       "\"tlswall confirm\"\n",
		       (int)p->timer_pid);
	else
		printf("rollback timer: pid %d\n", (int)p->timer_pid);
	if (p->restore_failures)
		printf("WARNING: the rollback timer has failed %u time%s to restore the previous ruleset (last: %s); it "
		       "keeps retrying, or run \"tlswall rollback\"\n",
		       p->restore_failures, p->restore_failures == 1 ? "" : "s", p->restore_error);
	if (!r->pending_here)
		printf("note: it was applied in another network namespace\n");
}

static void print_text(const struct status_report *r, int verbosity)
{
	print_pending(r);
	switch (r->live) {
	case STATUS_LIVE_UNKNOWN:
		printf("live table: unknown (%s)\n", r->live_error);
		break;
	case STATUS_LIVE_PRESENT:
		printf("live table: table inet %s\n", r->table);
		break;
	case STATUS_LIVE_DORMANT:
		printf("live table: WARNING: table inet %s is dormant: nothing is filtered; \"tlswall apply\" wakes it\n",
		       r->table);
		break;
	case STATUS_LIVE_MISSING:
		printf("live table: WARNING: table inet %s is missing: tlswall filters nothing; \"tlswall apply\" puts it "
		       "back\n",
		       r->table);
		break;
	}
	print_saved(&r->lkg, "last-known-good");
	print_saved(&r->previous, "previous (what rollback restores)");
	if (verbosity < 0 || !r->nevents)
		return;
	/* what the timer, boot and everyone's applies did while nobody watched */
	printf("recent events:\n");
	for (size_t i = 0; i < r->nevents; i++) {
		char *line = printable_dup(r->events[i].text);

		printf("  %s\n", line);
		free(line);
	}
}

int status_main(const struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct diag_list *diags;
	struct status_report r;
	struct session s;
	bool json = false;
	char *table = NULL;
	int ret = EXIT_ERROR, c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+j", options, NULL)) != -1) {
		if (c != 'j') {
			fprintf(stderr, "Usage: tlswall status [--json]\n");
			return EXIT_ERROR;
		}
		json = true;
	}
	if (cli_extra_args("status", argc, argv, optind))
		return EXIT_ERROR;
	diags = diag_list_alloc();
	if (session_open(&s, cli->state_dir, SESSION_STATE, diags) != 0) {
		if (json) {
			table = cli_table_name(cli);
			emit_json_failure(table, diags, stdout);
		}
		goto out;
	}
	table = s.pending_exists ? x_strdup(s.pending.table) : cli_table_name(cli);
	gather(&r, &s, table, json ? EVENTS_JSON : EVENTS_TEXT, diags);
	if (json)
		emit_json_status(&r, diags, stdout);
	else
		print_text(&r, cli->verbosity);
	report_release(&r);
	ret = EXIT_OK;
out:
	if (!json)
		cli_print_diags(cli, diags);
	session_close(&s);
	diag_list_free(diags);
	free(table);
	return ret;
}
