#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlswall/compile.h"
#include "tlswall/diag.h"
#include "tlswall/diff.h"
#include "tlswall/evaluate.h"
#include "tlswall/guard.h"
#include "tlswall/nl.h"
#include "tlswall/nl_decode.h"
#include "tlswall/ruleset.h"
#include "tlswall/ssh_session.h"
#include "tlswall/util.h"

/* linux/tcp.h states, as sock_diag reports them */
#define TCP_ESTABLISHED 1
#define TCP_LISTEN 10

/* nfproto values of table families */
#define FAMILY_INET 1
#define FAMILY_IPV4 2
#define FAMILY_IPV6 10

struct conn {
	struct packet p;
	uint16_t client_port;
	bool ssh_session; /* this process runs over it */
};

/* IPv4 peers of an IPv6 socket appear as ::ffff:a.b.c.d */
static void normalize(int *family, uint8_t addr[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (*family == 6 && memcmp(addr, mapped, 12) == 0) {
		memmove(addr, addr + 12, 4);
		memset(addr + 4, 0, 12);
		*family = 4;
	}
}

static bool loopback(int family, const uint8_t *a)
{
	static const uint8_t one6[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

	return family == 4 ? a[0] == 127 : memcmp(a, one6, 16) == 0;
}

/* With no route back to the client its interface is unknown: a name no rule matches, so interface restrictions
 * count against it (a guard should err towards refusing). */
static void fill_iface(struct packet *p)
{
	if (nl_route_iface(p->family == 4 ? AF_INET : AF_INET6, p->saddr, p->iifname) != 0)
		snprintf(p->iifname, sizeof(p->iifname), "%s", "(no route)");
}

static void addr_text(const struct packet *p, char *buf, size_t len)
{
	inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->saddr, buf, (socklen_t)len);
}

static void add_conn(struct conn **v, size_t *n, size_t *cap, const struct conn *c)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].p.family == c->p.family && (*v)[i].p.dport == c->p.dport &&
		    memcmp((*v)[i].p.saddr, c->p.saddr, 16) == 0) {
			(*v)[i].ssh_session |= c->ssh_session;
			return;
		}
	x_grow(v, cap, *n + 1, sizeof(**v));
	(*v)[(*n)++] = *c;
}

/* This process's SSH session: a client that must keep its way in. A session whose SSH_CONNECTION cannot be read is
 * said so: the guard cannot protect it. */
static bool ssh_session(struct conn *c)
{
	const char *env = getenv("SSH_CONNECTION"), *why;
	struct ssh_session s;
	char *shown;

	memset(c, 0, sizeof(*c));
	switch (ssh_session_parse(env, &s, &why)) {
	case SSH_SESSION_NONE:
		return false;
	case SSH_SESSION_MALFORMED:
		shown = printable_dup(env);
		fprintf(stderr, "tlswall: warning: SSH_CONNECTION=\"%s\" is not \"CLIENT_IP CLIENT_PORT SERVER_IP "
				"SERVER_PORT\" (%s); the lockout guard cannot protect this SSH session\n",
			shown, why);
		free(shown);
		return false;
	case SSH_SESSION_FOUND:
		break;
	}
	c->p.family = s.family;
	memcpy(c->p.saddr, s.client, sizeof(c->p.saddr));
	normalize(&c->p.family, c->p.saddr);
	/* a link-local client's zone names its interface, which no route lookup can tell */
	memcpy(c->p.iifname, s.iface, sizeof(c->p.iifname));
	c->p.l4proto = 6;
	c->p.dport = s.server_port;
	c->client_port = s.client_port;
	c->ssh_session = true;
	return true;
}

static bool listened(const struct nl_socket *listen, size_t n, uint16_t port)
{
	for (size_t i = 0; i < n; i++)
		if (listen[i].lport == port)
			return true;
	return false;
}

/* Whether rule r looks set up only to drop (or reject) what it matches; false when it looks it up any other way. */
static bool only_drops_from(const struct rs_rule *r, const char *set)
{
	for (size_t i = 0; i < r->nstmts; i++) {
		const struct rs_stmt *st = &r->stmts[i];

		if (st->kind == RS_STMT_MATCH && st->u.match.set && strcmp(st->u.match.set, set) == 0 &&
		    (st->u.match.op != RS_OP_SET || !rs_rule_drops(r)))
			return false;
	}
	return true;
}

bool guard_change_only_unblocks(const struct diff *d, const struct rs_table *live)
{
	if (!live || d->structural)
		return false;
	for (size_t i = 0; i < d->n; i++) {
		const struct change *c = &d->v[i];

		if (c->kind != CHANGE_ELEMS || c->nadded || !c->live_set || c->live_set->vmap)
			return false;
		for (size_t k = 0; k < live->nchains; k++)
			for (size_t j = 0; j < live->chains[k]->nrules; j++)
				if (!only_drops_from(live->chains[k]->rules[j], c->object))
					return false;
	}
	return true;
}

/* Inbound TCP connections: established sockets whose local port something listens on. One dump of both families
 * and both states (nl.h): the kernel walks its socket tables once. Without `established_too`, the listening sockets
 * alone: the kernel then skips its established-socket table, whose walk is the dump's cost. */
static void established(bool established_too, struct conn **v, size_t *n, size_t *cap, struct nl_socket **listen,
			size_t *nlisten)
{
	uint32_t states = 1u << TCP_LISTEN | (established_too ? 1u << TCP_ESTABLISHED : 0);
	struct nl_socket *s = NULL;
	size_t ns = 0, caplisten = 0;

	*listen = NULL;
	*nlisten = 0;
	if (nl_sockets(AF_UNSPEC, IPPROTO_TCP, states, &s, &ns) != 0)
		return;
	for (size_t i = 0; i < ns; i++) {
		if (s[i].state != TCP_LISTEN)
			continue;
		x_grow(listen, &caplisten, *nlisten + 1, sizeof(**listen));
		(*listen)[(*nlisten)++] = s[i];
	}
	for (size_t i = 0; i < ns; i++) {
		struct conn c = { 0 };

		if (s[i].state != TCP_ESTABLISHED || !listened(*listen, *nlisten, s[i].lport))
			continue; /* our side is the client: replies are established traffic */
		c.p.family = s[i].family == AF_INET ? 4 : 6;
		memcpy(c.p.saddr, s[i].remote, 16);
		normalize(&c.p.family, c.p.saddr);
		if (loopback(c.p.family, c.p.saddr))
			continue;
		c.p.l4proto = 6;
		c.p.dport = s[i].lport;
		c.client_port = s[i].rport;
		add_conn(v, n, cap, &c);
	}
	free(s);
}

static const struct rs_chain *input_of(const struct rs_table *t)
{
	const struct rs_chain *c = t ? rs_table_find_chain(t, COMPILE_INPUT_CHAIN) : NULL;

	return c && c->base ? c : NULL;
}

/* The chain the services map sends proto/port to, or NULL: the entry that owns the port. */
static const struct rs_chain *owner_of(const struct rs_table *t, uint8_t proto, uint16_t port)
{
	const struct rs_set *map = rs_table_find_set(t, COMPILE_SERVICE_MAP);
	uint8_t key[3] = { proto, (uint8_t)(port >> 8), (uint8_t)port };
	long i = map ? rs_set_lookup(map, key) : -1;

	return i >= 0 && map->data[i].chain ? rs_table_find_chain(t, map->data[i].chain) : NULL;
}

/* Whether rule r comes before the services map lookup in chain c: a drop there is a deny list. */
static bool before_map(const struct rs_chain *c, const struct rs_rule *r)
{
	for (size_t i = 0; i < c->nrules; i++) {
		if (c->rules[i] == r)
			return true;
		for (size_t k = 0; k < c->rules[i]->nstmts; k++)
			if (c->rules[i]->stmts[k].kind == RS_STMT_MATCH && c->rules[i]->stmts[k].u.match.op == RS_OP_VMAP)
				return false;
	}
	return false;
}

static void explain(const struct rs_table *planned, const struct conn *c, const struct eval_trace *why, char *buf,
		    size_t len)
{
	const char *proto = c->p.l4proto == 6 ? "tcp" : "udp";
	const struct rs_chain *owner = owner_of(planned, c->p.l4proto, c->p.dport);

	if (why->rule && why->chain && why->chain->base && before_map(why->chain, why->rule))
		snprintf(buf, len, "the client is in a deny list (%s:%u)", why->rule->src_file ? why->rule->src_file : "policy",
			 why->rule->src_line);
	else if (!owner)
		snprintf(buf, len, "no entry of the policy opens %u/%s", c->p.dport, proto);
	else
		snprintf(buf, len, "%s (%s:%u) opens %u/%s only to some sources or interfaces, and not to this one",
			 owner->name, owner->src_file ? owner->src_file : "policy", owner->src_line, c->p.dport, proto);
}

int guard_lockout(const struct rs_table *planned, const struct rs_table *live, const struct diff *d, bool force,
		  struct diag_list *diags)
{
	const struct rs_chain *pin = input_of(planned), *lin = input_of(live);
	struct conn *conns = NULL, ssh;
	struct nl_socket *listen = NULL;
	size_t n = 0, cap = 0, nlisten = 0;
	bool can_cut;
	int cut = 0;

	if (!pin)
		return 0;
	can_cut = !d || !guard_change_only_unblocks(d, live);
	if (can_cut && ssh_session(&ssh))
		add_conn(&conns, &n, &cap, &ssh);
	established(can_cut, &conns, &n, &cap, &listen, &nlisten);
	for (size_t i = 0; i < n; i++) {
		struct conn *c = &conns[i];
		struct eval_trace why, lwhy;
		char addr[INET6_ADDRSTRLEN], reason[512];

		if (!c->p.iifname[0])
			fill_iface(&c->p);
		if (evaluate(planned, pin, &c->p, &why) != EVAL_DROP)
			continue;
		/* already shut out by the live table: this change does not cut it */
		if (lin && evaluate(live, lin, &c->p, &lwhy) == EVAL_DROP)
			continue;
		addr_text(&c->p, addr, sizeof(addr));
		explain(planned, c, &why, reason, sizeof(reason));
		(force ? diag_warning : diag_error)(diags, NULL, 0,
						    "%sthe new policy would drop new connections from %s to port %u/tcp, "
						    "%s: %s",
						    force ? "" : "refusing: ", addr, c->p.dport,
						    c->ssh_session ? "which this SSH session uses (SSH_CONNECTION)" :
								     "where a connection from there is established now",
						    reason);
		cut++;
	}
	if (cut && !force)
		diag_note(diags, NULL, 0,
			  "the connection%s would survive only until %s conntrack entr%s expire%s, and could not be made "
			  "again; fix the policy, or apply with --force",
			  cut == 1 ? "" : "s", cut == 1 ? "its" : "their", cut == 1 ? "y" : "ies", cut == 1 ? "s" : "");
	/* listening services nothing lets in: worth a warning, not a refusal */
	for (size_t i = 0; i < nlisten; i++) {
		int family = listen[i].family == AF_INET ? 4 : 6;
		char addr[INET6_ADDRSTRLEN];
		bool seen = false;

		for (size_t j = 0; j < i; j++)
			seen |= listen[j].lport == listen[i].lport;
		if (seen || loopback(family, listen[i].local) || owner_of(planned, 6, listen[i].lport))
			continue;
		inet_ntop(listen[i].family, listen[i].local, addr, sizeof(addr));
		diag_warning(diags, NULL, 0, "something listens on %s port %u/tcp, but the policy opens no way in", addr,
			     listen[i].lport);
	}
	free(listen);
	free(conns);
	return cut && !force ? 1 : 0;
}

static const char *family_name(uint8_t f)
{
	return f == FAMILY_IPV4 ? "ip" : f == FAMILY_IPV6 ? "ip6" : "inet";
}

/* What tlswall lets in: one probe per port (or range start) of the planned services map. */
static size_t probes(const struct rs_table *planned, struct packet **out)
{
	const struct rs_set *map = rs_table_find_set(planned, COMPILE_SERVICE_MAP);
	size_t n = 0;

	*out = NULL;
	if (!map)
		return 0;
	*out = x_calloc(map->nelem * 2, sizeof(**out));
	for (size_t i = 0; i < map->nelem; i++)
		for (int f = 4; f <= 6; f += 2) {
			const uint8_t *e = rs_set_elem(map, i);
			struct packet *p = &(*out)[n++];

			p->family = f;
			p->l4proto = e[0];
			p->dport = (uint16_t)(e[1] << 8 | e[2]);
			p->any_source = true;
		}
	return n;
}

int guard_coexistence(const struct rs_table *planned, struct diag_list *diags)
{
	struct nl_table_name *tables = NULL;
	struct nl *nl = NULL;
	struct packet *probe = NULL;
	size_t ntables = 0, nprobe = probes(planned, &probe);
	int problems = 0;
	bool accepting = false;
	struct sbuf accept_chains = { 0 };

	if (nl_open(&nl) != 0 || nl_list_tables(nl, &tables, &ntables) != 0) {
		nl_close(nl);
		free(probe);
		return 0;
	}
	for (size_t i = 0; i < ntables; i++) {
		struct rs_table *t = NULL;
		uint8_t fam = tables[i].family;
		uint32_t genid;

		if (fam != FAMILY_INET && fam != FAMILY_IPV4 && fam != FAMILY_IPV6)
			continue;
		if (fam == FAMILY_INET && strcmp(tables[i].name, planned->name) == 0)
			continue;
		/* the base chains and their rules, not the contents of named sets: reading a large set of another tool
		 * would take seconds, for a lookup whose answer is "unknown" anyway (the sources probed are any) */
		if (nl_read_table_family(nl, fam, tables[i].name, false, &t, &genid) != 0 || !t)
			continue;
		for (size_t c = 0; c < t->nchains; c++) {
			const struct rs_chain *ch = t->chains[c];
			struct sbuf drops = { 0 }, maybe = { 0 };

			/* a nat chain on the input hook (iptables' nat INPUT) translates, it does not filter */
			if (!ch->base || ch->hook != RS_HOOK_INPUT || (ch->type && strcmp(ch->type, "filter") != 0))
				continue;
			for (size_t k = 0; k < nprobe; k++) {
				struct eval_trace why;
				struct sbuf *into;
				char port[32];
				enum verdict v;

				if ((fam == FAMILY_IPV4 && probe[k].family != 4) || (fam == FAMILY_IPV6 && probe[k].family != 6))
					continue;
				v = evaluate(t, ch, &probe[k], &why);
				if (v == EVAL_ACCEPT)
					continue;
				into = v == EVAL_DROP ? &drops : &maybe;
				snprintf(port, sizeof(port), "%u/%s", probe[k].dport, probe[k].l4proto == 6 ? "tcp" : "udp");
				sbuf_add_item(into, port);
			}
			if (drops.len) {
				diag_warning(diags, NULL, 0,
					     "table %s %s, chain %s (input hook, priority %d, policy %s) drops new %sconnections "
					     "to %s that tlswall allows: in nftables a packet must be accepted by every base "
					     "chain on the hook, so those ports stay closed",
					     family_name(fam), tables[i].name, ch->name, ch->priority,
					     rs_verdict_name(ch->policy),
					     fam == FAMILY_IPV4 ? "IPv4 " : fam == FAMILY_IPV6 ? "IPv6 " : "", drops.buf);
				problems++;
			}
			if (maybe.len) {
				diag_warning(diags, NULL, 0,
					     "table %s %s, chain %s (input hook, priority %d, policy %s) may drop new "
					     "connections to %s that tlswall allows (it depends on rules or sources tlswall "
					     "cannot judge)",
					     family_name(fam), tables[i].name, ch->name, ch->priority,
					     rs_verdict_name(ch->policy), maybe.buf);
				problems++;
			}
			if (ch->policy == RS_ACCEPT || !drops.len) {
				accepting = true;
				sbuf_addf(&accept_chains, "%s%s %s/%s", accept_chains.len ? ", " : "", family_name(fam),
					  tables[i].name, ch->name);
			}
			sbuf_release(&drops);
			sbuf_release(&maybe);
		}
		rs_table_free(t);
	}
	if (accepting)
		diag_note(diags, NULL, 0,
			  "other tables also filter input (%s); what they accept does not undo what tlswall drops: its drop "
			  "is final",
			  accept_chains.buf);
	sbuf_release(&accept_chains);
	free(tables);
	free(probe);
	nl_close(nl);
	return problems;
}
