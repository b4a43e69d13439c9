#include <linux/netfilter.h>
#include <string.h>

#include "tlswall/evaluate.h"
#include "tlswall/ruleset.h"
#include "tlswall/selector.h"

/* nftables limits chain jumps to 16 levels; deeper means a loop in a foreign table */
#define MAX_DEPTH 16

enum outcome {
	OUT_CONTINUE, /* no verdict: go on with the next rule */
	OUT_RETURN,
	OUT_ACCEPT,
	OUT_DROP,
	OUT_UNKNOWN,
};

static bool name_matches(const char *pattern, const char *name)
{
	size_t n = strlen(pattern);

	if (n && pattern[n - 1] == '*')
		return strncmp(pattern, name, n - 1) == 0;
	return strcmp(pattern, name) == 0;
}

/* What the first packet of a new connection carries where sel reads: 1 with the value in *v, 0 when it cannot
 * carry it (the kernel's load fails, and the match does not hold), -1 when tlswall cannot know. */
static int field(const struct selector *sel, const struct packet *p, uint32_t *v)
{
	switch (sel->sim) {
	case SIM_CT_STATE:
		*v = RS_CT_NEW;
		return 1;
	case SIM_NFPROTO:
		*v = p->family == 4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
		return 1;
	case SIM_L4PROTO:
		*v = p->l4proto;
		return 1;
	case SIM_DPORT:
		*v = p->dport;
		return 1;
	case SIM_ABSENT:
		return 0; /* the packets asked about are TCP and UDP connection attempts */
	case SIM_PAYLOAD:
		return p->l4proto == 6 ? 0 : -1; /* a SYN carries no payload; a UDP datagram carries anything */
	default:
		return -1;
	}
}

/* The key the packet looks up in a set or map keyed by sel; false when it has none that tlswall knows. */
static bool key_of(const struct selector *sel, const struct packet *p, uint8_t key[16])
{
	switch (sel->sim) {
	case SIM_PROTO_PORT:
		key[0] = p->l4proto;
		key[1] = (uint8_t)(p->dport >> 8);
		key[2] = (uint8_t)p->dport;
		return true;
	case SIM_SADDR:
		memcpy(key, p->saddr, 16);
		return !p->any_source;
	case SIM_DPORT:
		key[0] = (uint8_t)(p->dport >> 8);
		key[1] = (uint8_t)p->dport;
		return true;
	default:
		return false;
	}
}

/* 1 match, 0 no match, -1 cannot tell */
static int match(const struct rs_table *t, const struct rs_match *m, const struct packet *p)
{
	const struct selector *sel = selector_of(m->sel);
	const struct rs_set *s;
	uint8_t key[16];
	bool any = false;
	uint32_t v;
	int known;

	if (sel->nfproto && sel->nfproto != (p->family == 4 ? NFPROTO_IPV4 : NFPROTO_IPV6))
		return 0; /* "ip saddr" does not hold for an IPv6 packet */
	if (m->op == RS_OP_VMAP)
		return 1; /* the map itself decides, in run_rule */
	if (m->op == RS_OP_SET) {
		s = m->set ? rs_table_find_set(t, m->set) : NULL;
		if (!s || s->foreign || s->vmap || !key_of(sel, p, key))
			return -1;
		return rs_set_lookup(s, key) >= 0;
	}
	if (sel->sim == SIM_IFACE) {
		if (!p->iifname[0] && p->not_loopback && m->nvals == 1 && strcmp(m->vals[0].str, "lo") == 0)
			return m->op == RS_OP_NEQ;
		if (!p->iifname[0])
			return -1;
		for (size_t i = 0; i < m->nvals; i++)
			any |= name_matches(m->vals[i].str, p->iifname);
		return m->op == RS_OP_NEQ ? !any : any;
	}
	known = field(sel, p, &v);
	if (known <= 0)
		return known;
	if (m->op == RS_OP_PRESENT)
		return 1;
	if (m->op == RS_OP_FLAGS)
		return (v & m->vals[0].num) != 0;
	if (m->mask)
		v &= m->mask;
	for (size_t i = 0; i < m->nvals; i++)
		any |= m->vals[i].num == v;
	return m->op == RS_OP_NEQ ? !any : any;
}

static enum outcome run_chain(const struct rs_table *t, const struct rs_chain *c, const struct packet *p,
			      struct eval_trace *why, int depth);

static enum outcome jump(const struct rs_table *t, const struct rs_verdict *v, const struct packet *p,
			 struct eval_trace *why, int depth, bool *went)
{
	const struct rs_chain *target = rs_table_find_chain(t, v->chain);
	enum outcome o;

	*went = v->code == RS_GOTO;
	if (!target || depth >= MAX_DEPTH)
		return OUT_UNKNOWN;
	o = run_chain(t, target, p, why, depth + 1);
	if (o == OUT_RETURN && !*went)
		why->rule = NULL; /* the jump came back: nothing there decided */
	if (o == OUT_RETURN)
		return *went ? OUT_RETURN : OUT_CONTINUE;
	return o;
}

static enum outcome run_rule(const struct rs_table *t, const struct rs_rule *r, const struct packet *p,
			     struct eval_trace *why, int depth)
{
	bool unsure = false;

	if (r->unreadable)
		return OUT_UNKNOWN;
	for (size_t i = 0; i < r->nstmts; i++) {
		const struct rs_stmt *st = &r->stmts[i];

		switch (st->kind) {
		case RS_STMT_MATCH: {
			int m = match(t, &st->u.match, p);

			if (m == 0)
				return OUT_CONTINUE;
			unsure |= m < 0;
			if (st->u.match.op == RS_OP_VMAP) {
				const struct rs_set *map = rs_table_find_set(t, st->u.match.set);
				uint8_t key[16];
				long idx;
				bool went;

				if (!map || map->foreign || !map->vmap || !key_of(selector_of(st->u.match.sel), p, key))
					return OUT_UNKNOWN;
				idx = rs_set_lookup(map, key);
				if (idx < 0)
					return OUT_CONTINUE;
				switch (map->data[idx].code) {
				case RS_ACCEPT:
					return unsure ? OUT_UNKNOWN : OUT_ACCEPT;
				case RS_DROP:
					return unsure ? OUT_UNKNOWN : OUT_DROP;
				case RS_JUMP:
				case RS_GOTO: {
					enum outcome o = jump(t, &map->data[idx], p, why, depth, &went);

					if (o != OUT_CONTINUE)
						return o;
					continue;
				}
				default:
					return OUT_CONTINUE;
				}
			}
			break;
		}
		case RS_STMT_VERDICT: {
			bool went;
			enum outcome o;

			switch (st->u.verdict.code) {
			case RS_ACCEPT:
				return unsure ? OUT_UNKNOWN : OUT_ACCEPT;
			case RS_DROP:
				return unsure ? OUT_UNKNOWN : OUT_DROP;
			case RS_RETURN:
				return unsure ? OUT_UNKNOWN : OUT_RETURN;
			case RS_CONTINUE:
				return OUT_CONTINUE;
			case RS_JUMP:
			case RS_GOTO:
				o = jump(t, &st->u.verdict, p, why, depth, &went);
				if (unsure && o != OUT_CONTINUE)
					return OUT_UNKNOWN;
				return o;
			}
			break;
		}
		case RS_STMT_REJECT:
			return unsure ? OUT_UNKNOWN : OUT_DROP;
		case RS_STMT_LIMIT:
			/* over its rate the rule stops here, under it the rule goes on: either may be true now */
			unsure = true;
			break;
		default:
			break; /* counter, log: the packet goes on */
		}
	}
	return OUT_CONTINUE;
}

static enum outcome run_chain(const struct rs_table *t, const struct rs_chain *c, const struct packet *p,
			      struct eval_trace *why, int depth)
{
	for (size_t i = 0; i < c->nrules; i++) {
		enum outcome o = run_rule(t, c->rules[i], p, why, depth);

		if (o == OUT_CONTINUE)
			continue;
		/* the innermost deciding rule is the one worth naming */
		if (!why->rule) {
			why->chain = c;
			why->rule = c->rules[i];
		}
		return o;
	}
	return OUT_RETURN;
}

enum verdict evaluate(const struct rs_table *t, const struct rs_chain *base, const struct packet *p,
		      struct eval_trace *why)
{
	enum outcome o;

	why->chain = base;
	why->rule = NULL;
	o = run_chain(t, base, p, why, 0);
	if (o == OUT_RETURN) {
		why->chain = base;
		why->rule = NULL;
		return base->policy == RS_DROP ? EVAL_DROP : EVAL_ACCEPT;
	}
	return o == OUT_ACCEPT ? EVAL_ACCEPT : o == OUT_DROP ? EVAL_DROP : EVAL_UNKNOWN;
}
