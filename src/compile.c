#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "tlswall/compile.h"
#include "tlswall/policy.h"
#include "tlswall/ruleset.h"
#include "tlswall/util.h"

/* nft's "priority filter" */
#define PRIORITY_FILTER 0

void compiler_set_origin(struct compiler *c, struct rs_rule *r, struct loc l)
{
	r->src_file = rs_table_file(c->t, l.file);
	r->src_line = l.line;
}

struct rs_set *compiler_port_map(struct compiler *c, const char *name, bool ranges)
{
	struct rs_set *map = rs_table_add_set(c->t, name, RS_KEY_PROTO_PORT, ranges);

	map->vmap = true;
	map->src_file = rs_table_file(c->t, c->p->path);
	return map;
}

void compiler_map_port(struct rs_set *map, const struct port_range *port, const char *chain)
{
	uint8_t first[3] = { port->proto, (uint8_t)(port->first >> 8), (uint8_t)port->first };
	uint8_t last[3] = { port->proto, (uint8_t)(port->last >> 8), (uint8_t)port->last };
	struct rs_verdict jump = { RS_JUMP, (char *)chain };

	rs_set_add(map, first, map->interval ? last : NULL, &jump);
}

struct rs_chain *compiler_service_chain(struct compiler *c, const char *prefix, const struct service *s)
{
	char *name = x_asprintf("%s.%s", prefix, s->name);
	struct rs_chain *chain = rs_table_add_chain(c->t, name);

	free(name);
	chain->src_file = rs_table_file(c->t, s->loc.file);
	chain->src_line = s->loc.line;
	return chain;
}

/* Every address list becomes one interval set per family: the kernel looks an address up in one step whatever
 * the list's length, so per-packet cost does not grow with the list. */
/* An empty interval set named BASE.SUFFIX with room for n elements. */
static struct rs_set *addr_set(struct compiler *c, const char *base, const char *suffix, enum rs_keytype key, size_t n,
			       struct loc origin)
{
	char *name = x_asprintf("%s.%s", base, suffix);
	struct rs_set *s = rs_table_add_set(c->t, name, key, true);

	free(name);
	s->src_file = rs_table_file(c->t, origin.file);
	s->src_line = origin.line;
	s->capelem = n ? n : 1;
	s->elems = x_reallocarray(NULL, s->capelem, rs_set_stride(s));
	return s;
}

static void add_addr_sets(struct compiler *c, const char *base, const struct addr_list *l, bool v4, bool v6,
			  struct loc origin)
{
	char *v4name = x_asprintf("%s.v4", base);
	bool made = rs_table_find_set(c->t, v4name) != NULL;

	/* a second chain using the same inline addresses (the forward chain's deny list) uses the same sets */
	free(v4name);
	if (made)
		return;
	if (v4) {
		struct rs_set *s = addr_set(c, base, "v4", RS_KEY_IPV4, l->wire4 ? 0 : l->n4, origin);

		/* a list read in place is already the set's elements (addr.h: wire form), and the policy, which holds
		 * it, outlives the table (compile.h) */
		if (l->wire4)
			rs_set_borrow(s, l->wire4, l->n4);
		else
			addr_list_wire(l, s->elems, NULL);
		s->nelem = l->n4;
	}
	if (v6) {
		struct rs_set *s = addr_set(c, base, "v6", RS_KEY_IPV6, l->wire6 ? 0 : l->n6, origin);

		if (l->wire6)
			rs_set_borrow(s, l->wire6, l->n6);
		else
			addr_list_wire(l, NULL, s->elems);
		s->nelem = l->n6;
	}
}

/* Pass: the table itself. */
static void pass_table(struct compiler *c)
{
	c->t = rs_table_alloc(c->p->table);
	c->t->comment = x_strdup("managed by tlswall: changes made here are replaced on the next apply");
}

/* Pass: named sets. Both families always exist, so a list file that gains its first IPv6 entry changes only
 * elements, never the table's structure. */
static void pass_named_sets(struct compiler *c)
{
	for (size_t i = 0; i < c->p->nsets; i++) {
		const struct named_set *s = &c->p->sets[i];

		if (s->used)
			add_addr_sets(c, s->name, &s->addrs, true, true, s->loc);
	}
}

/* One rule per address source (a named set or the entry's own inline addresses), per family. The number of rules
 * depends on how the policy is written, never on how many addresses it lists. */
void compiler_source_rules(struct compiler *c, struct rs_chain *chain, const char *literal_base,
			   const struct source_list *from, char *const *ifaces, size_t nifaces, struct loc origin,
			   enum rs_verdict_code verdict, bool counter)
{
	struct source {
		char *set;
		enum rs_selector sel;
	} *sources = NULL;
	size_t n = 0;

	for (size_t i = 0; i < from->nrefs; i++) {
		const char *name = c->p->sets[from->refs[i].index].name;
		bool dup = false;

		for (size_t j = 0; j < i; j++)
			dup |= strcmp(from->refs[j].name, from->refs[i].name) == 0;
		if (dup)
			continue;
		sources = x_reallocarray(sources, n + 2, sizeof(*sources));
		sources[n].set = x_asprintf("%s.v4", name);
		sources[n++].sel = RS_SEL_IP_SADDR;
		sources[n].set = x_asprintf("%s.v6", name);
		sources[n++].sel = RS_SEL_IP6_SADDR;
	}
	if (from->literals.n4 || from->literals.n6)
		add_addr_sets(c, literal_base, &from->literals, from->literals.n4 > 0, from->literals.n6 > 0, origin);
	if (from->literals.n4) {
		sources = x_reallocarray(sources, n + 1, sizeof(*sources));
		sources[n].set = x_asprintf("%s.v4", literal_base);
		sources[n++].sel = RS_SEL_IP_SADDR;
	}
	if (from->literals.n6) {
		sources = x_reallocarray(sources, n + 1, sizeof(*sources));
		sources[n].set = x_asprintf("%s.v6", literal_base);
		sources[n++].sel = RS_SEL_IP6_SADDR;
	}

	for (size_t i = 0; i < (from->present ? n : 1); i++) {
		struct rs_rule *r = rs_chain_add_rule(chain);

		compiler_set_origin(c, r, origin);
		if (nifaces) {
			struct rs_match *m = rs_rule_match(r, RS_SEL_IIFNAME, RS_OP_EQ);

			for (size_t j = 0; j < nifaces; j++)
				rs_match_add_str(m, ifaces[j]);
		}
		if (from->present)
			rs_rule_match(r, sources[i].sel, RS_OP_SET)->set = x_strdup(sources[i].set);
		if (counter)
			rs_rule_counter(r);
		rs_rule_verdict(r, verdict, NULL);
	}
	for (size_t i = 0; i < n; i++)
		free(sources[i].set);
	free(sources);
}

static char *service_comment(const struct service *s)
{
	if (s->exemption)
		return x_strdup(s->reason);
	if (!s->cat)
		return x_asprintf("%s: custom port, TLS from the first byte", s->name);
	if (s->cat->kind == TLS_UPGRADABLE)
		return x_asprintf("%s: plaintext until %s", s->cat->name, s->cat->upgrade);
	return x_asprintf("%s: TLS from the first byte", s->cat->name);
}

/* Pass: one chain per service and exemption, reached through one verdict map keyed by protocol and port: a single
 * lookup per new connection however many services the policy opens, and a counter per service. */
static void pass_services(struct compiler *c)
{
	bool ranges = false;

	for (size_t i = 0; i < c->p->nservices; i++)
		for (size_t j = 0; j < c->p->services[i].nports; j++)
			ranges |= c->p->services[i].ports[j].first != c->p->services[i].ports[j].last;

	for (size_t i = 0; i < c->p->nservices; i++) {
		const struct service *s = &c->p->services[i];
		struct rs_chain *chain = compiler_service_chain(c, s->exemption ? COMPILE_EXEMPTION_PREFIX :
										 COMPILE_SERVICE_PREFIX, s);
		char *literal_base = x_asprintf("%s.src", chain->name);

		if (!c->map)
			c->map = compiler_port_map(c, COMPILE_SERVICE_MAP, ranges);
		for (size_t j = 0; j < s->nports; j++)
			compiler_map_port(c->map, &s->ports[j], chain->name);
		chain->comment = service_comment(s);
		compiler_source_rules(c, chain, literal_base, &s->from, s->ifaces, s->nifaces, s->loc, RS_ACCEPT, true);
		free(literal_base);
	}
	if (c->map)
		rs_set_sort(c->map);
}

static struct rs_rule *input_rule(struct rs_chain *input)
{
	return rs_chain_add_rule(input);
}

static void icmp_rule(struct rs_chain *input, enum rs_selector sel, const uint8_t *types, size_t n, uint32_t hoplimit,
		      bool limited)
{
	struct rs_rule *r = input_rule(input);
	struct rs_match *m = rs_rule_match(r, sel, RS_OP_EQ);

	for (size_t i = 0; i < n; i++)
		rs_match_add_num(m, types[i]);
	if (hoplimit)
		rs_match_add_num(rs_rule_match(r, RS_SEL_IP6_HOPLIMIT, RS_OP_EQ), hoplimit);
	if (limited) {
		struct rs_stmt *st = rs_rule_add(r, RS_STMT_LIMIT);

		st->u.limit.rate = 5;
		st->u.limit.unit = RS_PER_SECOND;
		st->u.limit.burst = 5;
	}
	rs_rule_verdict(r, RS_ACCEPT, NULL);
}

/* Essential ICMP (RFC 4890 for IPv6): errors and path MTU discovery, neighbour discovery (only from the link: hop
 * limit 255), multicast listener discovery (hop limit 1: without it snooping switches stop forwarding the
 * solicited-node multicast that ND needs), and rate-limited echo. */
static void add_icmp(struct compiler *c, struct rs_chain *input)
{
	static const uint8_t v4_errors[] = { 3, 11, 12 };         /* unreachable, time-exceeded, parameter-problem */
	static const uint8_t v6_errors[] = { 1, 2, 3, 4 };        /* unreachable, too-big, time-exceeded, param */
	static const uint8_t v6_nd[] = { 133, 134, 135, 136 };    /* router solicit/advert, neighbour solicit/advert */
	static const uint8_t v6_mld[] = { 130, 131, 132, 143 };   /* MLD query, report, done, MLDv2 report */
	static const uint8_t echo4[] = { 8 }, echo6[] = { 128 };

	if (c->p->icmp == ICMP_ALL) {
		struct rs_rule *r = input_rule(input);
		struct rs_match *m = rs_rule_match(r, RS_SEL_L4PROTO, RS_OP_EQ);

		rs_match_add_num(m, 1);
		rs_match_add_num(m, 58);
		rs_rule_verdict(r, RS_ACCEPT, NULL);
		return;
	}
	icmp_rule(input, RS_SEL_ICMP_TYPE, v4_errors, ARRAY_SIZE(v4_errors), 0, false);
	icmp_rule(input, RS_SEL_ICMP_TYPE, echo4, 1, 0, true);
	icmp_rule(input, RS_SEL_ICMPV6_TYPE, v6_errors, ARRAY_SIZE(v6_errors), 0, false);
	icmp_rule(input, RS_SEL_ICMPV6_TYPE, v6_nd, ARRAY_SIZE(v6_nd), 255, false);
	icmp_rule(input, RS_SEL_ICMPV6_TYPE, v6_mld, ARRAY_SIZE(v6_mld), 1, false);
	icmp_rule(input, RS_SEL_ICMPV6_TYPE, echo6, 1, 0, true);
}

/* The input chain's pending chain: what is not a TLS record goes on, by protocol and port, to its check. */
static void pending_input(struct compiler *c)
{
	struct rs_chain *pending = compiler_pending_chain(c, COMPILE_PENDING_CHAIN);
	struct rs_rule *r = rs_chain_add_rule(pending);

	compiler_match_payload(r);
	rs_rule_match(r, RS_SEL_L4PROTO_DPORT, RS_OP_VMAP)->set = x_strdup(COMPILE_PAYLOAD_MAP);
}

/* Pass: the input base chain. Order matters for cost: established traffic, the bulk, leaves at the first rule, or
 * with payload checks at the second. */
static void pass_input(struct compiler *c)
{
	const struct policy *p = c->p;
	struct rs_chain *input;
	struct rs_rule *r;

	if (c->payload)
		pending_input(c);
	input = rs_table_add_chain(c->t, COMPILE_INPUT_CHAIN);
	input->base = true;
	input->hook = RS_HOOK_INPUT;
	input->type = x_strdup("filter");
	input->priority = PRIORITY_FILTER;
	input->policy = RS_DROP;
	input->src_file = rs_table_file(c->t, p->path);

	/* before established traffic leaves: a connection whose check is still pending (compile_payload.c) */
	if (c->payload) {
		r = input_rule(input);
		compiler_match_pending(r, 1u << p->ct_mark_bit, 1u << p->ct_mark_bit);
		rs_rule_verdict(r, RS_JUMP, COMPILE_PENDING_CHAIN);
	}

	r = input_rule(input);
	rs_match_add_num(rs_rule_match(r, RS_SEL_CT_STATE, RS_OP_FLAGS), RS_CT_ESTABLISHED | RS_CT_RELATED);
	rs_rule_verdict(r, RS_ACCEPT, NULL);

	/* after them: a new connection to a port whose payload is checked, to its check chain, which marks it pending
	 * (a new connection's first packet meets its check once: it has no mark yet at the first rule) */
	if (c->payload) {
		r = input_rule(input);
		rs_match_add_num(rs_rule_match(r, RS_SEL_CT_STATE, RS_OP_FLAGS), RS_CT_NEW);
		rs_rule_match(r, RS_SEL_L4PROTO_DPORT, RS_OP_VMAP)->set = x_strdup(COMPILE_PAYLOAD_MAP);
	}

	r = input_rule(input);
	rs_match_add_num(rs_rule_match(r, RS_SEL_CT_STATE, RS_OP_FLAGS), RS_CT_INVALID);
	rs_rule_counter(r);
	rs_rule_verdict(r, RS_DROP, NULL);

	r = input_rule(input);
	rs_match_add_str(rs_rule_match(r, RS_SEL_IIF, RS_OP_EQ), "lo");
	rs_rule_verdict(r, RS_ACCEPT, NULL);

	if (p->deny.present && (p->deny.nrefs || p->deny.literals.n4 || p->deny.literals.n6))
		compiler_source_rules(c, input, "deny.src", &p->deny, NULL, 0, p->deny.loc, RS_DROP, true);

	add_icmp(c, input);

	if (c->map) {
		r = input_rule(input);
		rs_rule_match(r, RS_SEL_L4PROTO_DPORT, RS_OP_VMAP)->set = x_strdup(COMPILE_SERVICE_MAP);
	}

	compiler_refuse(c, input);
}

void compiler_refuse(struct compiler *c, struct rs_chain *chain)
{
	const struct policy *p = c->p;
	struct loc top = { p->path, 0 };
	struct rs_rule *r;

	if (p->log.enabled) {
		struct rs_stmt *st;

		r = rs_chain_add_rule(chain);
		compiler_set_origin(c, r, p->log.loc);
		st = rs_rule_add(r, RS_STMT_LIMIT);
		st->u.limit.rate = p->log.rate;
		st->u.limit.unit = (enum rs_rate_unit)p->log.unit;
		st->u.limit.burst = 5;
		st = rs_rule_add(r, RS_STMT_LOG);
		st->u.log.prefix = x_strdup(p->log.prefix);
	}
	if (p->verdict == VERDICT_REJECT) {
		r = rs_chain_add_rule(chain);
		compiler_set_origin(c, r, top);
		rs_match_add_num(rs_rule_match(r, RS_SEL_L4PROTO, RS_OP_EQ), 6);
		rs_rule_counter(r);
		rs_rule_add(r, RS_STMT_REJECT)->u.reject = RS_REJECT_TCP_RESET;
		r = rs_chain_add_rule(chain);
		compiler_set_origin(c, r, top);
		rs_rule_counter(r);
		rs_rule_add(r, RS_STMT_REJECT)->u.reject = RS_REJECT_ICMPX_ADMIN_PROHIBITED;
	} else {
		/* a drop policy would do it too; this rule is here to count what is dropped */
		r = rs_chain_add_rule(chain);
		compiler_set_origin(c, r, top);
		rs_rule_counter(r);
		rs_rule_verdict(r, RS_DROP, NULL);
	}
}

static void (*const passes[])(struct compiler *) = {
	pass_table,
	pass_named_sets,
	pass_services,
	pass_payload_checks,
	pass_input,
	pass_published,
};

struct rs_table *compile_policy(const struct policy *p)
{
	struct compiler c = { p, NULL, NULL, NULL };

	for (size_t i = 0; i < ARRAY_SIZE(passes); i++)
		passes[i](&c);
	return c.t;
}
