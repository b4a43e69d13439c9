/* Published ports: what other tools' destination NAT forwards from this host's addresses, and what a policy does
 * with it. The rules are read by the decoder (nl_decode_dnat.c); this module lists them and judges them. */
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <stdlib.h>
#include <string.h>

#include "tlswall/catalog.h"
#include "tlswall/compile.h"
#include "tlswall/diag.h"
#include "tlswall/evaluate.h"
#include "tlswall/nl.h"
#include "tlswall/nl_decode.h"
#include "tlswall/published.h"
#include "tlswall/util.h"

/* A range wider than this is judged at its ends and every PORT_STEP ports between: the answer is a summary. */
#define PORTS_JUDGED_ONE_BY_ONE 1024
#define PORT_STEP 257

static void add(struct published_list *l, size_t *cap, const struct nl_table_name *t, const struct rs_chain *c,
		const struct rs_rule *r)
{
	struct published *p;

	x_grow(&l->v, cap, l->n + 1, sizeof(*l->v));
	p = &l->v[l->n++];
	p->table_family = t->family;
	p->table = x_strdup(t->name);
	p->chain = x_strdup(c->name);
	p->dnat = *r->dnat;
	p->dnat.ports = NULL;
	if (r->dnat->nports) {
		p->dnat.ports = x_reallocarray(NULL, r->dnat->nports, sizeof(*p->dnat.ports));
		memcpy(p->dnat.ports, r->dnat->ports, r->dnat->nports * sizeof(*p->dnat.ports));
	}
}

int published_read(struct published_list *out)
{
	struct nl_table_name *tables = NULL;
	struct nl *nl = NULL;
	size_t ntables = 0, cap = 0;
	int err;

	memset(out, 0, sizeof(*out));
	err = nl_open(&nl);
	if (!err)
		err = nl_list_tables(nl, &tables, &ntables);
	for (size_t i = 0; !err && i < ntables; i++) {
		struct rs_table *t = NULL;
		uint32_t genid;

		if (tables[i].family != NFPROTO_INET && tables[i].family != NFPROTO_IPV4 &&
		    tables[i].family != NFPROTO_IPV6)
			continue;
		/* named sets' elements are not needed: a port lookup in one is reported as unread */
		if (nl_read_table_family(nl, tables[i].family, tables[i].name, false, &t, &genid) != 0 || !t)
			continue;
		for (size_t c = 0; c < t->nchains; c++)
			for (size_t r = 0; r < t->chains[c]->nrules; r++)
				if (t->chains[c]->rules[r]->dnat)
					add(out, &cap, &tables[i], t->chains[c], t->chains[c]->rules[r]);
		rs_table_free(t);
	}
	free(tables);
	nl_close(nl);
	if (err)
		published_release(out);
	return err;
}

void published_release(struct published_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].table);
		free(l->v[i].chain);
		free(l->v[i].dnat.ports);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* one port, one family, one protocol: accepted, dropped, or it depends (on the source) */
static enum verdict judge_port(const struct rs_table *t, const struct rs_chain *input, int family, uint8_t proto,
			       uint16_t port)
{
	/* forwarded: from the network, never from loopback */
	struct packet pkt = { .family = family, .l4proto = proto, .dport = port, .any_source = true, .not_loopback = true };
	struct eval_trace why;

	return evaluate(t, input, &pkt, &why);
}

enum published_verdict published_judge(const struct rs_table *t, const struct published *p)
{
	const struct rs_chain *input = rs_table_find_chain(t, COMPILE_INPUT_CHAIN);
	const struct rs_dnat *d = &p->dnat;
	static const uint8_t both_protos[] = { L4_TCP, L4_UDP };
	bool accepted = false, dropped = false;

	if (!input || !rs_table_find_chain(t, COMPILE_FORWARD_CHAIN))
		return PUBLISHED_NOT_JUDGED;
	/* every port, or ports tlswall cannot list: what the policy does not open is dropped, what it opens is not */
	if (d->nports == 0 || d->ports_unread)
		return PUBLISHED_SOME;
	for (int family = 4; family <= 6; family += 2) {
		if (d->family && d->family != family)
			continue;
		for (size_t k = 0; k < ARRAY_SIZE(both_protos); k++) {
			if (d->l4proto && d->l4proto != both_protos[k])
				continue;
			for (size_t i = 0; i < d->nports; i++) {
				uint32_t first = d->ports[i].first, last = d->ports[i].last;
				uint32_t step = last - first < PORTS_JUDGED_ONE_BY_ONE ? 1 : PORT_STEP;

				for (uint32_t port = first; port <= last; port = port + step > last && port != last ? last : port + step) {
					enum verdict v = judge_port(t, input, family, both_protos[k], (uint16_t)port);

					accepted |= v != EVAL_DROP;
					dropped |= v != EVAL_ACCEPT;
				}
			}
		}
	}
	return !dropped ? PUBLISHED_ALLOWED : !accepted ? PUBLISHED_BLOCKED : PUBLISHED_SOME;
}

const char *published_verdict_text(enum published_verdict v)
{
	switch (v) {
	case PUBLISHED_ALLOWED:
		return "allowed by the policy";
	case PUBLISHED_SOME:
		return "allowed by the policy for some ports or sources only";
	case PUBLISHED_BLOCKED:
		return "blocked by the policy: new connections forwarded to it are dropped";
	case PUBLISHED_NOT_JUDGED:
		return "not judged by tlswall (published_ports = false): what the other tables accept gets through";
	}
	return "?";
}

char *published_ports_text(const struct published *p)
{
	const struct rs_dnat *d = &p->dnat;
	const char *proto = d->l4proto ? l4proto_name(d->l4proto) : NULL;
	struct sbuf sb = { 0 };

	if (d->ports_unread)
		sbuf_addf(&sb, "%s%sports matched by a set or map tlswall cannot list", proto ? proto : "", proto ? " " : "");
	else if (d->nports == 0)
		sbuf_addf(&sb, "every %s%sport", proto ? proto : "", proto ? " " : "");
	else
		sbuf_addf(&sb, "%s%sport%s ", proto ? proto : "", proto ? " " : "",
			  d->nports > 1 || d->ports[0].first != d->ports[0].last ? "s" : "");
	for (size_t i = 0; !d->ports_unread && i < d->nports; i++) {
		sbuf_addf(&sb, "%s%u", i ? ", " : "", d->ports[i].first);
		if (d->ports[i].last != d->ports[i].first)
			sbuf_addf(&sb, "-%u", d->ports[i].last);
	}
	return sbuf_detach(&sb);
}

static const char *family_word(uint8_t f)
{
	return f == NFPROTO_IPV4 ? "ip" : f == NFPROTO_IPV6 ? "ip6" : "inet";
}

char *published_where_text(const struct published *p)
{
	const struct rs_dnat *d = &p->dnat;
	char *table = printable_dup(p->table), *chain = printable_dup(p->chain);
	char addr[INET6_ADDRSTRLEN] = "";
	struct sbuf sb = { 0 };

	sbuf_addf(&sb, "table %s %s, chain %s", family_word(p->table_family), table, chain);
	if (d->have_addr)
		inet_ntop(d->family == 4 ? AF_INET : AF_INET6, d->addr, addr, sizeof(addr));
	if (d->have_addr && d->to_port)
		sbuf_addf(&sb, " (to %s port %u)", addr, d->to_port);
	else if (d->have_addr)
		sbuf_addf(&sb, " (to %s)", addr);
	else if (d->to_port)
		sbuf_addf(&sb, " (to port %u)", d->to_port);
	free(table);
	free(chain);
	return sbuf_detach(&sb);
}

void published_report(const struct rs_table *planned, struct diag_list *diags)
{
	struct published_list l;
	int err = published_read(&l);

	if (err) {
		diag_warning(diags, NULL, 0, "cannot read the other tables for published ports: %s", strerror(-err));
		return;
	}
	for (size_t i = 0; i < l.n; i++) {
		enum published_verdict v = published_judge(planned, &l.v[i]);
		char *ports = published_ports_text(&l.v[i]), *where = published_where_text(&l.v[i]);

		if (v == PUBLISHED_ALLOWED)
			diag_note(diags, NULL, 0, "%s is published by %s: %s", ports, where, published_verdict_text(v));
		else
			diag_warning(diags, NULL, 0, "%s is published by %s: %s", ports, where, published_verdict_text(v));
		free(ports);
		free(where);
	}
	published_release(&l);
}
