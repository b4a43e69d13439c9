/* Pass: ports published on this host's addresses. Docker, Podman, libvirt or any DNAT rule forwards a connection
 * to one of this host's addresses on to a container or VM; it goes through the forward hook and never reaches the
 * input chain. The policy judges it all the same, on the port the client asked for.
 *
 * Before destination NAT (at the prerouting hook, priority mangle) a new connection to an address of this host has
 * a bit of its connection mark set (published_mark_bit). The forward chain lets through everything else untouched
 * (routed traffic, containers talking to each other or out, replies), and sends a marked new connection through the
 * same service chains as the input chain: by protocol and its original destination port (ct original proto-dst),
 * one lookup in a map per protocol (nft cannot put the protocol and that port in one key), then the same sources,
 * interfaces, counters and payload checks. What no entry accepts is dropped or rejected. A drop in this base chain
 * is final whatever another table's forward chain accepts. */
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "tlswall/compile.h"
#include "tlswall/util.h"

/* nft's "priority mangle": before destination NAT (dstnat, -100), so the address is still the client's choice */
#define PRIORITY_MANGLE (-150)

static const uint8_t protos[] = { L4_TCP, L4_UDP };

/* The entries of a map keyed by protocol and port, for one protocol: a map keyed by port. NULL when it has none. */
static struct rs_set *port_map(struct compiler *c, const struct rs_set *by_proto_port, uint8_t proto,
			       const char *name)
{
	struct rs_set *m = NULL;

	for (size_t i = 0; by_proto_port && i < by_proto_port->nelem; i++) {
		const uint8_t *e = rs_set_elem(by_proto_port, i);
		const uint8_t *last = by_proto_port->interval ? e + 3 : e;

		if (e[0] != proto)
			continue;
		if (!m) {
			m = rs_table_add_set(c->t, name, RS_KEY_PORT, by_proto_port->interval);
			m->vmap = true;
			m->src_file = rs_table_file(c->t, c->p->path);
		}
		rs_set_add(m, e + 1, last + 1, &by_proto_port->data[i]);
	}
	if (m)
		rs_set_sort(m);
	return m;
}

static struct rs_chain *base_chain(struct compiler *c, const char *name, uint32_t hook, int priority)
{
	struct rs_chain *chain = rs_table_add_chain(c->t, name);

	chain->base = true;
	chain->hook = hook;
	chain->type = x_strdup("filter");
	chain->priority = priority;
	chain->policy = RS_ACCEPT;
	chain->src_file = rs_table_file(c->t, c->p->path);
	return chain;
}

/* meta l4proto PROTO ct original proto-dst vmap @MAP */
static void lookup_original_port(struct rs_rule *r, uint8_t proto, const char *map)
{
	rs_match_add_num(rs_rule_match(r, RS_SEL_L4PROTO, RS_OP_EQ), proto);
	rs_rule_match(r, RS_SEL_CT_ORIGINAL_DPORT, RS_OP_VMAP)->set = x_strdup(map);
}

/* prerouting: a new connection to an address of this host carries the published bit from now on */
static void mark_local(struct compiler *c, uint32_t local)
{
	struct rs_chain *chain = base_chain(c, COMPILE_PREROUTING_CHAIN, RS_HOOK_PREROUTING, PRIORITY_MANGLE);
	struct rs_rule *r = rs_chain_add_rule(chain);

	rs_match_add_num(rs_rule_match(r, RS_SEL_CT_STATE, RS_OP_FLAGS), RS_CT_NEW);
	rs_match_add_num(rs_rule_match(r, RS_SEL_FIB_DADDR_TYPE, RS_OP_EQ), RTN_LOCAL);
	rs_rule_add(r, RS_STMT_CT_MARK_OR)->u.mark_bits = local;
}

void pass_published(struct compiler *c)
{
	const struct policy *p = c->p;
	uint32_t local = 1u << p->published_mark_bit, pending = 1u << p->ct_mark_bit;
	struct rs_set *payload_maps[ARRAY_SIZE(protos)] = { NULL };
	struct rs_chain *forward, *pending_chain = NULL;
	struct rs_rule *r;
	struct rs_match *m;

	if (!p->published_ports)
		return;
	mark_local(c, local);
	/* payload checks as in the input chain (compile_payload.c), keyed by the original port: a forwarded
	 * connection whose check is pending goes to its own pending chain, a new one to a checked port to its check */
	for (size_t i = 0; c->payload && i < ARRAY_SIZE(protos); i++) {
		char *name = x_asprintf("%s.%s.%s", COMPILE_PUBLISHED_PREFIX, COMPILE_PAYLOAD_MAP, l4proto_name(protos[i]));

		payload_maps[i] = port_map(c, c->payload, protos[i], name);
		free(name);
	}
	for (size_t i = 0; i < ARRAY_SIZE(protos); i++) {
		if (!payload_maps[i])
			continue;
		if (!pending_chain)
			pending_chain = compiler_pending_chain(c, COMPILE_PUBLISHED_PREFIX "." COMPILE_PENDING_CHAIN);
		r = rs_chain_add_rule(pending_chain);
		compiler_match_payload(r);
		lookup_original_port(r, protos[i], payload_maps[i]->name);
	}
	forward = base_chain(c, COMPILE_FORWARD_CHAIN, RS_HOOK_FORWARD, 0);
	if (pending_chain) {
		r = rs_chain_add_rule(forward);
		compiler_match_pending(r, local | pending, local | pending);
		rs_rule_verdict(r, RS_JUMP, pending_chain->name);
	}
	r = rs_chain_add_rule(forward);
	rs_match_add_num(rs_rule_match(r, RS_SEL_CT_STATE, RS_OP_FLAGS), RS_CT_ESTABLISHED | RS_CT_RELATED);
	rs_rule_verdict(r, RS_ACCEPT, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(protos); i++) {
		if (!payload_maps[i])
			continue;
		r = rs_chain_add_rule(forward);
		rs_match_add_num(rs_rule_match(r, RS_SEL_CT_STATE, RS_OP_FLAGS), RS_CT_NEW);
		m = rs_rule_match(r, RS_SEL_CT_MARK, RS_OP_EQ);
		m->mask = local;
		rs_match_add_num(m, local);
		lookup_original_port(r, protos[i], payload_maps[i]->name);
	}
	/* not to an address of this host: routed traffic, containers among themselves or going out; not ours */
	r = rs_chain_add_rule(forward);
	m = rs_rule_match(r, RS_SEL_CT_MARK, RS_OP_EQ);
	m->mask = local;
	rs_match_add_num(m, 0);
	rs_rule_verdict(r, RS_ACCEPT, NULL);
	if (p->deny.present && (p->deny.nrefs || p->deny.literals.n4 || p->deny.literals.n6))
		compiler_source_rules(c, forward, "deny.src", &p->deny, NULL, 0, p->deny.loc, RS_DROP, true);
	for (size_t i = 0; c->map && i < ARRAY_SIZE(protos); i++) {
		char *name = x_asprintf("%s.%s", COMPILE_PUBLISHED_PREFIX, l4proto_name(protos[i]));

		if (port_map(c, c->map, protos[i], name))
			lookup_original_port(rs_chain_add_rule(forward), protos[i], name);
		free(name);
	}
	compiler_refuse(c, forward);
}
