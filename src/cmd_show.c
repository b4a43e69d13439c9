#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlswall/cli.h"
#include "tlswall/diag.h"
#include "tlswall/emit_json.h"
#include "tlswall/emit_nft.h"
#include "tlswall/ruleset.h"
#include "tlswall/service_counters.h"
#include "tlswall/session.h"
#include "tlswall/shard.h"
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
	struct table_counters tc;
	char size[32];
	char *name = printable_dup(t->name);

	table_counters(t, &tc);
	printf("# table inet %s, ruleset generation %u\n", name, genid);
	free(name);
	if (t->dormant)
		printf("# WARNING: the table is dormant: none of its rules applies, nothing is filtered; "
		       "\"tlswall apply\" wakes it\n");
	printf("# %-28s %12s %12s %18s\n", "service", "packets", "bytes", "plaintext dropped");
	for (size_t i = 0; i < tc.nservices; i++) {
		const struct service_counters *s = &tc.services[i];
		char refused[32] = "-";

		if (s->checked)
			snprintf(refused, sizeof(refused), "%llu", (unsigned long long)s->plaintext_packets);
		human_bytes(s->bytes, size, sizeof(size));
		name = printable_dup(s->chain);
		printf("# %-28s %12llu %12s %18s\n", name, (unsigned long long)s->packets, size, refused);
		free(name);
	}
	human_bytes(tc.dropped_bytes, size, sizeof(size));
	printf("# %-28s %12llu %12s\n", "dropped", (unsigned long long)tc.dropped_packets, size);
	if (tc.forwarding) {
		human_bytes(tc.forwarded_dropped_bytes, size, sizeof(size));
		printf("# %-28s %12llu %12s\n", "dropped (forwarded)", (unsigned long long)tc.forwarded_dropped_packets,
		       size);
		printf("# services count local connections and those forwarded to published ports together; "
		       "\"dropped (forwarded)\" is what was refused on its way to a container or VM\n");
	}
	table_counters_release(&tc);
	for (size_t i = 0; i < t->nchains; i++)
		for (size_t j = 0; j < t->chains[i]->nrules; j++)
			if (t->chains[i]->rules[j]->foreign) {
				name = printable_dup(t->chains[i]->name);
				printf("# chain %s holds a rule tlswall did not make (handle %llu)\n", name,
				       (unsigned long long)t->chains[i]->rules[j]->handle);
				free(name);
			}
	putchar('\n');
	emit_nft_table(t, EMIT_PRINTABLE | EMIT_COUNTERS | EMIT_FOREIGN | (verbosity > 0 ? EMIT_HANDLES : 0), stdout);
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
	struct rs_table *whole = NULL;

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
	/* long lists shown whole, as the policy wrote them, with their counters summed over their shards */
	whole = shard_collapse(s.live);
	if (json && s.origin != LIVE_UNREAD)
		emit_json_show(table, whole ? whole : s.live, s.genid, diags, stdout);
	else if (json)
		emit_json_failure(table, diags, stdout);
	else if (s.live)
		show_text(whole ? whole : s.live, s.genid, cli->verbosity);
	rs_table_free(whole);
	if (!json)
		cli_print_diags(cli, diags);
	session_close(&s);
out:
	diag_list_free(diags);
	free(from_policy);
	return ret;
}
