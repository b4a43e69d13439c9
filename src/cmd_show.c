#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlswall/cli.h"
#include "tlswall/diag.h"
#include "tlswall/emit_json.h"
#include "tlswall/emit_nft.h"
#include "tlswall/ruleset.h"
#include "tlswall/session.h"
#include "tlswall/util.h"

static void human_bytes(uint64_t b, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	size_t u = 0;

	while (v >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

/* Per-service hits and drops, then the table in nft syntax with its counters. */
static void show_text(const struct rs_table *t, uint32_t genid, int verbosity)
{
	uint64_t dp = 0, db = 0;
	char size[32];

	printf("# table inet %s, ruleset generation %u\n", t->name, genid);
	if (t->dormant)
		printf("# WARNING: the table is dormant: none of its rules applies, nothing is filtered; "
		       "\"tlswall apply\" wakes it\n");
	printf("# %-28s %12s %12s\n", "service", "packets", "bytes");
	for (size_t i = 0; i < t->nchains; i++) {
		const struct rs_chain *c = t->chains[i];
		uint64_t p = 0, b = 0;

		for (size_t j = 0; c->base && j < c->nrules; j++)
			if (rs_rule_drops(c->rules[j]))
				rs_rule_counters(c->rules[j], &dp, &db);
		if (c->base)
			continue;
		rs_chain_counters(c, &p, &b);
		human_bytes(b, size, sizeof(size));
		printf("# %-28s %12llu %12s\n", c->name, (unsigned long long)p, size);
	}
	human_bytes(db, size, sizeof(size));
	printf("# %-28s %12llu %12s\n", "dropped", (unsigned long long)dp, size);
	for (size_t i = 0; i < t->nchains; i++)
		for (size_t j = 0; j < t->chains[i]->nrules; j++)
			if (t->chains[i]->rules[j]->foreign)
				printf("# chain %s holds a rule tlswall did not make (handle %llu)\n", t->chains[i]->name,
				       (unsigned long long)t->chains[i]->rules[j]->handle);
	putchar('\n');
	emit_nft_table(t, EMIT_COUNTERS | EMIT_FOREIGN | (verbosity > 0 ? EMIT_HANDLES : 0), stdout);
}

int show_main(const struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "table", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *table = NULL;
	struct diag_list *diags = diag_list_alloc();
	struct session s;
	bool json = false;
	int ret = EXIT_ERROR, c;
	char *from_policy = NULL;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+jt:", options, NULL)) != -1) {
		if (c == 'j') {
			json = true;
		} else if (c == 't') {
			table = optarg;
		} else {
			fprintf(stderr, "Usage: tlswall [-f FILE] show [--json] [--table NAME]\n");
			goto out;
		}
	}
	if (cli_extra_args("show", argc, argv, optind))
		goto out;
	if (!table)
		table = from_policy = cli_table_name(cli);
	session_open(&s, NULL, 0, diags);
	/* no record: show reports the kernel's counters, which only a dump has */
	if (session_read(&s, table, false) == 0 && !s.live)
		diag_error(diags, NULL, 0, "table inet %s does not exist: nothing has been applied", table);
	else if (s.live)
		ret = EXIT_OK;
	if (json && s.origin != LIVE_UNREAD)
		emit_json_show(table, s.live, s.genid, diags, stdout);
	else if (json)
		emit_json_failure(table, diags, stdout);
	else if (s.live)
		show_text(s.live, s.genid, cli->verbosity);
	if (!json)
		cli_print_diags(cli, diags);
	session_close(&s);
out:
	diag_list_free(diags);
	free(from_policy);
	return ret;
}
