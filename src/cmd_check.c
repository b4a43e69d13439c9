#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlswall/cli.h"
#include "tlswall/diag.h"
#include "tlswall/emit_json.h"
#include "tlswall/flush_watch.h"
#include "tlswall/guard.h"
#include "tlswall/pipeline.h"
#include "tlswall/policy.h"
#include "tlswall/published.h"
#include "tlswall/ruleset.h"
#include "tlswall/session.h"
#include "tlswall/util.h"

static void put_sources(struct sbuf *sb, const struct source_list *l)
{
	char buf[ADDR_TEXT_MAX];

	for (size_t i = 0; i < l->nrefs; i++)
		sbuf_addf(sb, " @%s", l->refs[i].name);
	for (size_t i = 0; i < l->literals.n4; i++) {
		range4_format(&l->literals.v4[i], buf);
		sbuf_addf(sb, " %s", buf);
	}
	for (size_t i = 0; i < l->literals.n6; i++) {
		range6_format(&l->literals.v6[i], buf);
		sbuf_addf(sb, " %s", buf);
	}
}

static const char *tls_label(const struct service *s)
{
	if (s->exemption)
		return "exempt";
	if (!s->cat)
		return "TLS";
	return s->cat->kind == TLS_UPGRADABLE ? "STARTTLS" : "TLS";
}

static char *ports_text(const struct service *s)
{
	struct sbuf sb = { 0 };

	for (size_t j = 0; j < s->nports; j++) {
		char port[32];

		port_range_format(&s->ports[j], port, sizeof(port));
		sbuf_addf(&sb, "%s%s", j ? " " : "", port);
	}
	return sbuf_detach(&sb);
}

/* What a reviewer needs: every opened port, how it is protected, who may reach it, and every exemption's reason. */
static void print_summary(const struct policy *p, int verbosity)
{
	size_t nopen = 0, nexempt = 0, wname = 4, wports = 5;

	printf("%s: OK: table inet %s, policy %s, icmp %s%s\n", p->path, p->table,
	       p->verdict == VERDICT_DROP ? "drop" : "reject", p->icmp == ICMP_ALL ? "all" : "essential",
	       p->log.enabled ? ", drops logged" : "");
	for (size_t i = 0; i < p->nservices; i++) {
		char *ports = ports_text(&p->services[i]);

		if (strlen(p->services[i].name) > wname)
			wname = strlen(p->services[i].name);
		if (strlen(ports) > wports)
			wports = strlen(ports);
		free(ports);
	}
	for (size_t i = 0; i < p->nservices; i++) {
		const struct service *s = &p->services[i];
		char *ports = ports_text(s);
		struct sbuf line = { 0 };

		sbuf_addf(&line, "  %-8s %-*s  %-*s", tls_label(s), (int)wname, s->name, (int)wports, ports);
		if (s->from.present) {
			sbuf_puts(&line, "  from");
			put_sources(&line, &s->from);
		}
		if (s->nifaces) {
			sbuf_puts(&line, "  on");
			for (size_t j = 0; j < s->nifaces; j++)
				sbuf_addf(&line, " %s", s->ifaces[j]);
		}
		if (service_checks(s, CHECK_LOGINS))
			sbuf_puts(&line, "  guard_credentials");
		else if (service_checks(s, CHECK_NONE))
			sbuf_puts(&line, "  require_tls");
		while (line.len && line.buf[line.len - 1] == ' ')
			line.buf[--line.len] = '\0';
		puts(line.buf);
		if (s->exemption)
			printf("  %-8s %-*s  reason: %s (%s:%u)\n", "", (int)wname, "", s->reason, s->loc.file, s->loc.line);
		sbuf_release(&line);
		free(ports);
		if (s->exemption)
			nexempt++;
		else
			nopen++;
	}
	if (p->deny.present) {
		struct sbuf sb = { 0 };

		put_sources(&sb, &p->deny);
		printf("  %-8s%s\n", "deny", sb.buf ? sb.buf : " (nothing)");
		sbuf_release(&sb);
	}
	for (size_t i = 0; i < p->nsets && verbosity > 0; i++)
		printf("  %-8s @%s: %zu IPv4 and %zu IPv6 ranges after merging%s%s\n", "set", p->sets[i].name,
		       p->sets[i].addrs.n4, p->sets[i].addrs.n6, p->sets[i].file ? ", from " : "",
		       p->sets[i].file ? p->sets[i].file : "");
	printf("%zu service%s, %zu exemption%s\n", nopen, nopen == 1 ? "" : "s", nexempt, nexempt == 1 ? "" : "s");
}

/* --live: how the policy would meet this host's kernel: other tables on the same hook, and the connections the
 * change would cut. Reported, never refused. */
static int check_live(const struct rs_table *planned, struct diag_list *diags)
{
	struct session s;
	int ret = -1;

	session_open(&s, NULL, 0, diags);
	if (session_read(&s, planned->name, false) == 0) {
		if (!guard_coexistence(planned, diags))
			diag_note(diags, NULL, 0, "no other table on the input hook undoes what %s allows", planned->name);
		guard_lockout(planned, s.live, NULL, true, diags);
		published_report(planned, diags);
		flush_watch_report(planned->name, diags);
		ret = 0;
	}
	session_close(&s);
	return ret;
}

int check_main(const struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "live", no_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	struct pipeline pl;
	bool json = false, live = false;
	int ret = EXIT_ERROR, c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+jl", options, NULL)) != -1) {
		if (c == 'j') {
			json = true;
		} else if (c == 'l') {
			live = true;
		} else {
			fprintf(stderr, "Usage: tlswall [-f FILE] check [--json] [--live]\n");
			return EXIT_ERROR;
		}
	}
	if (cli_extra_args("check", argc, argv, optind))
		return EXIT_ERROR;
	if (pipeline_build(&pl, cli->policy_path, TRUST_WARN))
		ret = EXIT_OK;
	if (ret == EXIT_OK && live && check_live(pl.table, pl.diags) != 0)
		ret = EXIT_ERROR;
	if (json) {
		emit_json_check(cli->policy_path, pl.policy, pl.table, pl.diags, ret == EXIT_OK, stdout);
	} else {
		cli_print_diags(cli, pl.diags);
		if (ret == EXIT_OK && cli->verbosity >= 0)
			print_summary(pl.policy, cli->verbosity);
		else if (ret != EXIT_OK && diag_errors(pl.diags))
			fprintf(stderr, "%s: %zu error%s; nothing was changed\n", cli->policy_path, diag_errors(pl.diags),
				diag_errors(pl.diags) == 1 ? "" : "s");
	}
	pipeline_release(&pl);
	return ret;
}
