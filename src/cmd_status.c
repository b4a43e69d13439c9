#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tlswall/cli.h"
#include "tlswall/deploy.h"
#include "tlswall/flush_watch.h"
#include "tlswall/record.h"
#include "tlswall/ruleset.h"
#include "tlswall/state.h"

static void print_snapshot(struct state *st, const char *file, const char *label)
{
	struct rs_table *t;
	char *name, *origin, *error = NULL;

	if (!state_exists(st, file)) {
		printf("%s: none\n", label);
		return;
	}
	if (!snapshot_load(st, file, &t, &name, &origin, &error)) {
		printf("%s: unreadable: %s\n", label, error);
		free(error);
		return;
	}
	printf("%s: %s (table inet %s%s)\n", label, origin && *origin ? origin : "?", name, t ? "" : " absent");
	rs_table_free(t);
	free(name);
	free(origin);
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

int status_main(const struct cli *cli, int argc, char **argv)
{
	struct state *st;
	struct pending p;
	bool exists;
	char *error = NULL, *table = NULL;
	int ret = EXIT_ERROR;

	if (cli_extra_args("status", argc, argv, 1))
		return EXIT_ERROR;
	st = deploy_open(cli->state_dir, false, &p, &exists);
	if (!st)
		goto out;
	if (exists) {
		long left = (long)(p.deadline - (int64_t)time(NULL));

		printf("confirmation pending: %s applied to table inet %s; ", p.policy, p.table);
		if (left > 0)
			printf("%ld second%s left, then it rolls back\n", left, left == 1 ? "" : "s");
		else
			printf("the deadline passed %ld second%s ago\n", -left, left == -1 ? "" : "s");
		if (!timer_alive(&p))
			printf("WARNING: the rollback timer (pid %d) is not running: run \"tlswall rollback\" or "
			       "\"tlswall confirm\"\n",
			       (int)p.timer_pid);
		else
			printf("rollback timer: pid %d\n", (int)p.timer_pid);
		if (p.netns != deploy_netns())
			printf("note: it was applied in another network namespace\n");
	} else {
		printf("confirmation pending: no\n");
	}
	table = cli_table_name(cli);
	flush_watch_live_table(table, state_exists(st, STATE_LKG) || state_exists(st, STATE_RECORD), stdout);
	print_snapshot(st, STATE_LKG, "last-known-good");
	print_snapshot(st, STATE_PREVIOUS, "previous (what rollback restores)");
	if (cli->verbosity >= 0)
		print_events(st, 5);
	ret = EXIT_OK;
out:
	free(table);
	free(error);
	state_close(st);
	return ret;
}
