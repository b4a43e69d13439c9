/* A rule's expressions are read the way nftables' own delinearizer reads them: each expression is handled by the
 * decoder its name selects, loads put a selector in a register, bitwise and byteorder change what the register
 * holds, and cmp and lookup turn it into a match. Dependencies nft adds implicitly ("meta nfproto ipv4" before
 * "ip saddr") are removed afterwards, in a pass of their own. */
#include <stdio.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "nft_abi.h"
#include "nl_decoder.h"
#include "tlswall/selector.h"
#include "tlswall/util.h"

/* What a 32-bit register holds while a rule is read. */
struct reg {
	const struct selector *sel; /* NULL: nothing */
	uint32_t offset, length;    /* raw payload, in bits */
	uint32_t mask;              /* a bitwise AND applied to it; 0: none */
	uint32_t or_bits;           /* a bitwise OR applied to it ("ct mark | 0x1"): only "ct mark set" takes it */
};

struct rule_reader {
	const struct anon_sets *anons;
	struct rs_rule *rule;
	struct reg regs[NFT_REG32_COUNT];
	uint8_t nfproto, l4proto; /* what the rule has matched so far: tells "icmp type" from "icmpv6 type" */
};

void anon_sets_release(struct anon_sets *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].name);
		free(a->v[i].ranges);
	}
	free(a->v);
	memset(a, 0, sizeof(*a));
}

static uint32_t u32(const struct nftnl_expr *x, uint16_t attr)
{
	return nftnl_expr_is_set(x, attr) ? nftnl_expr_get_u32(x, attr) : 0;
}

static const uint8_t *data(const struct nftnl_expr *x, uint16_t attr, uint32_t *len)
{
	*len = 0;
	return nftnl_expr_is_set(x, attr) ? nftnl_expr_get(x, attr, len) : NULL;
}

int nl_reg_slot(uint32_t reg)
{
	if (reg >= NFT_REG_1 && reg <= NFT_REG_4)
		return (int)(reg - NFT_REG_1) * 4;
	if (reg >= NFT_REG32_00 && reg < NFT_REG32_00 + NFT_REG32_COUNT)
		return (int)(reg - NFT_REG32_00);
	return -1;
}

static struct reg *reg_at(struct rule_reader *rr, uint32_t reg)
{
	int slot = nl_reg_slot(reg);

	return slot < 0 ? NULL : &rr->regs[slot];
}

static bool load(struct rule_reader *rr, uint32_t dreg, const struct selector *sel, uint32_t offset, uint32_t length)
{
	struct reg *r = reg_at(rr, dreg);

	if (!r || !sel)
		return false;
	r->sel = sel;
	r->offset = offset;
	r->length = length;
	r->mask = 0;
	r->or_bits = 0;
	return true;
}

/* The register a match reads: it must hold something, and nothing a match cannot take. */
static struct reg *source(struct rule_reader *rr, uint32_t sreg)
{
	struct reg *r = reg_at(rr, sreg);

	return r && r->sel && !r->or_bits ? r : NULL;
}

static uint32_t width_of(const struct reg *r)
{
	return r->sel->source == SEL_RAW_PAYLOAD ? r->length / 8 : r->sel->width;
}

static bool number_of(const struct selector *sel, const uint8_t *b, uint32_t len, uint32_t *out)
{
	uint16_t v16;

	*out = 0;
	if (len == 0 || len > 4)
		return false;
	if (sel->order == ORDER_BIG) {
		for (uint32_t i = 0; i < len; i++)
			*out = *out << 8 | b[i];
	} else if (len == 1) {
		*out = b[0];
	} else if (len == 2) {
		memcpy(&v16, b, 2);
		*out = v16;
	} else {
		memcpy(out, b, len);
	}
	return true;
}

static struct rs_match *new_match(struct rule_reader *rr, const struct reg *r, enum rs_op op)
{
	struct rs_match *m = rs_rule_match(rr->rule, r->sel->id, op);

	m->offset = r->offset;
	m->length = r->length;
	return m;
}

/* ---- loads ---- */

static bool decode_meta(struct rule_reader *rr, const struct nftnl_expr *x)
{
	if (nftnl_expr_is_set(x, NFTNL_EXPR_META_SREG))
		return false; /* "meta ... set": tlswall never writes it */
	return load(rr, u32(x, NFTNL_EXPR_META_DREG), selector_by_meta(u32(x, NFTNL_EXPR_META_KEY)), 0, 0);
}

/* "ct mark set ct mark | bits" and "ct mark set ct mark & ~bits": the only ct writes tlswall makes. */
static bool decode_ct_set(struct rule_reader *rr, const struct nftnl_expr *x)
{
	struct reg *r = reg_at(rr, u32(x, NFTNL_EXPR_CT_SREG));

	if (!r || !r->sel || r->sel->id != RS_SEL_CT_MARK || u32(x, NFTNL_EXPR_CT_KEY) != NFT_CT_MARK ||
	    (!r->or_bits && (!r->mask || r->mask == UINT32_MAX)))
		return false;
	if (r->or_bits)
		rs_rule_add(rr->rule, RS_STMT_CT_MARK_OR)->u.mark_bits = r->or_bits;
	else
		rs_rule_add(rr->rule, RS_STMT_CT_MARK_CLEAR)->u.mark_bits = ~r->mask;
	r->sel = NULL;
	r->or_bits = 0;
	r->mask = 0;
	return true;
}

static bool decode_ct(struct rule_reader *rr, const struct nftnl_expr *x)
{
	int dir = nftnl_expr_is_set(x, NFTNL_EXPR_CT_DIR) ? nftnl_expr_get_u8(x, NFTNL_EXPR_CT_DIR) : -1;

	if (nftnl_expr_is_set(x, NFTNL_EXPR_CT_SREG))
		return dir < 0 && decode_ct_set(rr, x);
	return load(rr, u32(x, NFTNL_EXPR_CT_DREG), selector_by_ct(u32(x, NFTNL_EXPR_CT_KEY), dir), 0, 0);
}

static bool decode_fib(struct rule_reader *rr, const struct nftnl_expr *x)
{
	return load(rr, u32(x, NFTNL_EXPR_FIB_DREG),
		    selector_by_fib(u32(x, NFTNL_EXPR_FIB_RESULT), u32(x, NFTNL_EXPR_FIB_FLAGS)), 0, 0);
}

static bool decode_payload(struct rule_reader *rr, const struct nftnl_expr *x)
{
	uint32_t base = u32(x, NFTNL_EXPR_PAYLOAD_BASE), offset = u32(x, NFTNL_EXPR_PAYLOAD_OFFSET);
	uint32_t len = u32(x, NFTNL_EXPR_PAYLOAD_LEN);
	const struct selector *sel;

	if (nftnl_expr_is_set(x, NFTNL_EXPR_PAYLOAD_SREG))
		return false; /* a payload write */
	sel = selector_by_payload(base, offset, len, rr->nfproto, rr->l4proto);
	if (sel && sel->source == SEL_RAW_PAYLOAD)
		return len <= 4 && load(rr, u32(x, NFTNL_EXPR_PAYLOAD_DREG), sel, offset * 8, len * 8);
	return load(rr, u32(x, NFTNL_EXPR_PAYLOAD_DREG), sel, 0, 0);
}

/* ---- what changes a register ---- */

static bool decode_bitwise(struct rule_reader *rr, const struct nftnl_expr *x)
{
	struct reg *r = source(rr, u32(x, NFTNL_EXPR_BITWISE_SREG));
	const uint8_t *mask, *xor;
	uint32_t mlen, xlen, m, v;

	if (!r || reg_at(rr, u32(x, NFTNL_EXPR_BITWISE_DREG)) != r || r->mask ||
	    (nftnl_expr_is_set(x, NFTNL_EXPR_BITWISE_OP) && u32(x, NFTNL_EXPR_BITWISE_OP) != NFT_BITWISE_BOOL))
		return false;
	mask = data(x, NFTNL_EXPR_BITWISE_MASK, &mlen);
	xor = data(x, NFTNL_EXPR_BITWISE_XOR, &xlen);
	if (!mask || !xor || mlen != width_of(r) || xlen != mlen || !number_of(r->sel, mask, mlen, &m) ||
	    !number_of(r->sel, xor, xlen, &v) || m == 0)
		return false;
	if (v == 0) {
		r->mask = m;
		return true;
	}
	/* (value & ~bits) ^ bits sets bits: nft's "| bits", on a ct mark about to be written back */
	if (r->sel->id != RS_SEL_CT_MARK || m != ~v)
		return false;
	r->or_bits = v;
	return true;
}

/* nft's byteorder before a host-order member of an interval concatenation: a no-op on one-byte fields. */
static bool decode_byteorder(struct rule_reader *rr, const struct nftnl_expr *x)
{
	struct reg *r = source(rr, u32(x, NFTNL_EXPR_BYTEORDER_SREG));

	return r && reg_at(rr, u32(x, NFTNL_EXPR_BYTEORDER_DREG)) == r && r->sel->order == ORDER_HOST &&
	       u32(x, NFTNL_EXPR_BYTEORDER_OP) == NFT_BYTEORDER_HTON && u32(x, NFTNL_EXPR_BYTEORDER_LEN) == 1;
}

/* ---- what turns a register into a match ---- */

/* One compared value, as the model holds it. */
static bool value_of(const struct reg *r, const uint8_t *b, uint32_t len, struct rs_value *v)
{
	size_t n;
	uint32_t idx;

	memset(v, 0, sizeof(*v));
	switch (r->sel->format) {
	case FMT_ADDR:
		return false; /* addresses are matched through named sets only */
	case FMT_IFINDEX:
		if (len != 4)
			return false;
		memcpy(&idx, b, 4);
		if (!if_indextoname(idx, v->str))
			snprintf(v->str, sizeof(v->str), "%u", idx);
		return true;
	case FMT_IFNAME:
		n = strnlen((const char *)b, len);
		if (len > RS_IFNAMSIZ || n >= RS_IFNAMSIZ)
			return false;
		memcpy(v->str, b, n);
		if (len < RS_IFNAMSIZ && n == len)
			v->str[n] = '*'; /* a prefix compare is nft's "name*" */
		return true;
	default:
		return len == width_of(r) && number_of(r->sel, b, len, &v->num);
	}
}

/* What later loads depend on: "meta l4proto icmp" makes the byte at transport offset 0 an ICMP type. */
static void note_context(struct rule_reader *rr, const struct rs_match *m)
{
	if (m->op != RS_OP_EQ || m->nvals != 1 || m->mask)
		return;
	if (m->sel == RS_SEL_NFPROTO)
		rr->nfproto = (uint8_t)m->vals[0].num;
	else if (m->sel == RS_SEL_L4PROTO)
		rr->l4proto = (uint8_t)m->vals[0].num;
}

static bool decode_cmp(struct rule_reader *rr, const struct nftnl_expr *x)
{
	struct reg *r = source(rr, u32(x, NFTNL_EXPR_CMP_SREG));
	uint32_t op = u32(x, NFTNL_EXPR_CMP_OP), len, zero = 0;
	const uint8_t *b = data(x, NFTNL_EXPR_CMP_DATA, &len);
	struct rs_value v;
	struct rs_match *m;

	if (!r || !b)
		return false;
	if (op == NFT_CMP_GTE && r->sel->source == SEL_RAW_PAYLOAD && !r->mask && len == width_of(r) &&
	    len <= sizeof(zero) && memcmp(b, &zero, len) == 0) {
		/* ">= 0" holds for any bytes: the packet has them */
		note_context(rr, new_match(rr, r, RS_OP_PRESENT));
		r->sel = NULL;
		return true;
	}
	if (op != NFT_CMP_EQ && op != NFT_CMP_NEQ)
		return false;
	if (r->mask && op == NFT_CMP_NEQ && len == width_of(r) && len <= 4 && memcmp(b, &zero, len) == 0) {
		/* (value & bits) != 0: any of the bits, as "ct state established,related" */
		m = new_match(rr, r, RS_OP_FLAGS);
		rs_match_add_num(m, r->mask);
	} else {
		if (!value_of(r, b, len, &v))
			return false;
		m = new_match(rr, r, op == NFT_CMP_EQ ? RS_OP_EQ : RS_OP_NEQ);
		m->mask = r->mask;
		m->vals = x_calloc(1, sizeof(*m->vals));
		m->vals[0] = v;
		m->nvals = 1;
	}
	note_context(rr, m);
	r->sel = NULL;
	return true;
}

const struct anon_set *anon_set_find(const struct anon_sets *a, const char *name)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].name, name) == 0)
			return &a->v[i];
	return NULL;
}

static int cmp_value(const void *a, const void *b)
{
	const struct rs_value *x = a, *y = b;
	int c = strcmp(x->str, y->str);

	return c ? c : (x->num > y->num) - (x->num < y->num);
}

/* "{ a, b }": the anonymous set's keys as values of the register's selector. */
static bool anon_values(struct rule_reader *rr, struct reg *r, const struct anon_set *a)
{
	struct rs_match *m;
	uint32_t width = width_of(r);

	if (a->n == 0 || a->keylen != width || r->mask)
		return false;
	m = new_match(rr, r, RS_OP_EQ);
	m->vals = x_calloc(a->n, sizeof(*m->vals));
	for (size_t i = 0; i < a->n; i++) {
		const struct anon_range *k = &a->ranges[i];
		struct rs_value *v = &m->vals[m->nvals];

		if (r->sel->format == FMT_IFNAME) {
			/* an interval of names is a "prefix*" wildcard */
			size_t n = strnlen((const char *)k->first, RS_IFNAMSIZ);

			memset(v, 0, sizeof(*v));
			memcpy(v->str, k->first, n < RS_IFNAMSIZ - 1 ? n : RS_IFNAMSIZ - 1);
			if (memcmp(k->first, k->last, RS_IFNAMSIZ) != 0 && n < RS_IFNAMSIZ - 1)
				v->str[n] = '*';
		} else if (memcmp(k->first, k->last, width) != 0 || !value_of(r, k->first, width, v)) {
			return false;
		}
		m->nvals++;
	}
	/* a hash set dumps in hash order; the model, like nft's listing, keeps values sorted */
	if (m->nvals > 1)
		qsort(m->vals, m->nvals, sizeof(*m->vals), cmp_value);
	return true;
}

static bool decode_lookup(struct rule_reader *rr, const struct nftnl_expr *x)
{
	struct reg *r = source(rr, u32(x, NFTNL_EXPR_LOOKUP_SREG));
	const char *set = nftnl_expr_get_str(x, NFTNL_EXPR_LOOKUP_SET);
	bool vmap = nftnl_expr_is_set(x, NFTNL_EXPR_LOOKUP_DREG);
	enum rs_selector members[SELECTOR_MAX_MEMBERS];
	const struct selector *sel;
	const struct anon_set *anon;
	size_t n = 0;
	bool ok;

	if (!r || !set || u32(x, NFTNL_EXPR_LOOKUP_FLAGS) != 0 || (vmap && u32(x, NFTNL_EXPR_LOOKUP_DREG) != NFT_REG_VERDICT))
		return false;
	anon = anon_set_find(rr->anons, set);
	if (anon) {
		ok = !vmap && anon_values(rr, r, anon);
		r->sel = NULL;
		return ok;
	}
	/* a concatenation: its members sit in consecutive registers, each rounded up to 32 bits */
	for (struct reg *at = r; at < rr->regs + NFT_REG32_COUNT && at->sel && n < SELECTOR_MAX_MEMBERS;) {
		size_t slots = (width_of(at) + 3) / 4;

		if (at->mask)
			return false;
		members[n++] = at->sel->id;
		at->sel = NULL;
		at += slots;
	}
	sel = n > 1 ? selector_by_members(members, n) : selector_of(members[0]);
	if (!sel)
		return false;
	rs_rule_match(rr->rule, sel->id, vmap ? RS_OP_VMAP : RS_OP_SET)->set = x_strdup(set);
	return true;
}

/* ---- statements ---- */

static bool decode_counter(struct rule_reader *rr, const struct nftnl_expr *x)
{
	struct rs_stmt *st = rs_rule_add(rr->rule, RS_STMT_COUNTER);

	st->u.counter.packets = nftnl_expr_get_u64(x, NFTNL_EXPR_CTR_PACKETS);
	st->u.counter.bytes = nftnl_expr_get_u64(x, NFTNL_EXPR_CTR_BYTES);
	return true;
}

static bool decode_limit(struct rule_reader *rr, const struct nftnl_expr *x)
{
	enum rs_rate_unit unit;
	struct rs_stmt *st;

	if (!rs_rate_unit_of(nftnl_expr_get_u64(x, NFTNL_EXPR_LIMIT_UNIT), &unit) ||
	    u32(x, NFTNL_EXPR_LIMIT_TYPE) != NFT_LIMIT_PKTS || u32(x, NFTNL_EXPR_LIMIT_FLAGS) != 0)
		return false;
	st = rs_rule_add(rr->rule, RS_STMT_LIMIT);
	st->u.limit.rate = nftnl_expr_get_u64(x, NFTNL_EXPR_LIMIT_RATE);
	st->u.limit.unit = unit;
	st->u.limit.burst = u32(x, NFTNL_EXPR_LIMIT_BURST);
	return true;
}

static bool decode_log(struct rule_reader *rr, const struct nftnl_expr *x)
{
	struct rs_stmt *st;

	/* the kernel reports the default level (4, warning) even when none was given */
	if (nftnl_expr_is_set(x, NFTNL_EXPR_LOG_GROUP) ||
	    (nftnl_expr_is_set(x, NFTNL_EXPR_LOG_LEVEL) && u32(x, NFTNL_EXPR_LOG_LEVEL) != 4) ||
	    u32(x, NFTNL_EXPR_LOG_FLAGS) != 0)
		return false;
	st = rs_rule_add(rr->rule, RS_STMT_LOG);
	if (nftnl_expr_is_set(x, NFTNL_EXPR_LOG_PREFIX))
		st->u.log.prefix = x_strdup(nftnl_expr_get_str(x, NFTNL_EXPR_LOG_PREFIX));
	return true;
}

static bool decode_immediate(struct rule_reader *rr, const struct nftnl_expr *x)
{
	struct rs_stmt *st;

	if (u32(x, NFTNL_EXPR_IMM_DREG) != NFT_REG_VERDICT)
		return false;
	st = rs_rule_add(rr->rule, RS_STMT_VERDICT);
	st->u.verdict.code = rs_verdict_of((int32_t)u32(x, NFTNL_EXPR_IMM_VERDICT), RS_CONTINUE);
	if (nftnl_expr_is_set(x, NFTNL_EXPR_IMM_CHAIN))
		st->u.verdict.chain = x_strdup(nftnl_expr_get_str(x, NFTNL_EXPR_IMM_CHAIN));
	return true;
}

static bool decode_reject(struct rule_reader *rr, const struct nftnl_expr *x)
{
	uint32_t type = u32(x, NFTNL_EXPR_REJECT_TYPE);
	uint8_t code = nftnl_expr_get_u8(x, NFTNL_EXPR_REJECT_CODE);
	enum rs_reject reject;

	if (type == NFT_REJECT_TCP_RST)
		reject = RS_REJECT_TCP_RESET;
	else if (type == NFT_REJECT_ICMPX_UNREACH && code == NFT_REJECT_ICMPX_ADMIN_PROHIBITED)
		reject = RS_REJECT_ICMPX_ADMIN_PROHIBITED;
	else
		return false;
	rs_rule_add(rr->rule, RS_STMT_REJECT)->u.reject = reject;
	return true;
}

static const struct expr_decoder {
	const char *name;
	bool (*decode)(struct rule_reader *rr, const struct nftnl_expr *x);
} decoders[] = {
	{ "meta", decode_meta },
	{ "ct", decode_ct },
	{ "fib", decode_fib },
	{ "payload", decode_payload },
	{ "bitwise", decode_bitwise },
	{ "byteorder", decode_byteorder },
	{ "cmp", decode_cmp },
	{ "lookup", decode_lookup },
	{ "counter", decode_counter },
	{ "limit", decode_limit },
	{ "log", decode_log },
	{ "immediate", decode_immediate },
	{ "reject", decode_reject },
};

static bool decode_expr(struct rule_reader *rr, const struct nftnl_expr *x)
{
	const char *name = nftnl_expr_get_str(x, NFTNL_EXPR_NAME);

	for (size_t i = 0; name && i < ARRAY_SIZE(decoders); i++)
		if (strcmp(decoders[i].name, name) == 0)
			return decoders[i].decode(rr, x);
	return false;
}

/* ---- dependencies ---- */

/* Pass: drop the "meta nfproto" and "meta l4proto" matches that a later selector implies (nft adds them for
 * "ip saddr" and "icmp type", and leaves them out of its listing): each implied match goes once. */
static void remove_dependencies(struct rs_rule *r)
{
	long nfproto = -1, l4proto = -1;
	uint32_t nfproto_value = 0, l4proto_value = 0;
	bool *drop = x_calloc(r->nstmts ? r->nstmts : 1, sizeof(*drop));
	size_t out = 0;

	for (size_t i = 0; i < r->nstmts; i++) {
		const struct rs_match *m = &r->stmts[i].u.match;
		const struct selector *sel;
		bool single = m->op == RS_OP_EQ && m->nvals == 1 && !m->mask;

		if (r->stmts[i].kind != RS_STMT_MATCH)
			continue;
		if (m->sel == RS_SEL_NFPROTO && single) {
			nfproto = (long)i;
			nfproto_value = m->vals[0].num;
			continue;
		}
		if (m->sel == RS_SEL_L4PROTO && single) {
			l4proto = (long)i;
			l4proto_value = m->vals[0].num;
			continue;
		}
		sel = selector_of(m->sel);
		if (sel->nfproto && nfproto >= 0 && nfproto_value == sel->nfproto) {
			drop[nfproto] = true;
			nfproto = -1;
		}
		if (sel->l4proto && l4proto >= 0 && l4proto_value == sel->l4proto) {
			drop[l4proto] = true;
			l4proto = -1;
		}
	}
	for (size_t i = 0; i < r->nstmts; i++) {
		if (drop[i])
			rs_stmt_release(&r->stmts[i]);
		else
			r->stmts[out++] = r->stmts[i];
	}
	r->nstmts = out;
	free(drop);
}

/* ---- the rule ---- */

/* A rule this model cannot express: kept, described in libnftnl's notation, so diff and show can name it. */
static void make_unreadable(struct rs_rule *rule, const struct nftnl_rule *nr)
{
	char buf[4096];
	struct sbuf sb = { 0 };
	char *line;

	for (size_t i = 0; i < rule->nstmts; i++)
		rs_stmt_release(&rule->stmts[i]);
	free(rule->stmts);
	rule->stmts = NULL;
	rule->nstmts = 0;
	rule->unreadable = true;
	nftnl_rule_snprintf(buf, sizeof(buf), nr, NFTNL_OUTPUT_DEFAULT, 0);
	/* skip the "family table chain handle" header line, then one expression per "[ ... ]" */
	line = strchr(buf, '\n');
	sbuf_puts(&sb, "# unreadable to tlswall:");
	for (char *p = line ? line + 1 : buf; *p; p++) {
		if (*p == '\n')
			continue;
		if (*p == ' ' && sb.len && sb.buf[sb.len - 1] == ' ')
			continue;
		sbuf_putc(&sb, *p);
	}
	while (sb.len && sb.buf[sb.len - 1] == ' ')
		sb.buf[--sb.len] = '\0';
	rule->raw_text = sbuf_detach(&sb);
}

void nl_decode_rule(const struct nftnl_rule *nr, uint8_t family, const struct anon_sets *anons, struct rs_rule *r)
{
	/* in an ip or ip6 table the family is implied, not matched */
	struct rule_reader rr = { anons, r, { { NULL, 0, 0, 0, 0 } }, family == NFPROTO_INET ? 0 : family, 0 };
	struct nftnl_expr_iter *it;
	struct nftnl_expr *x;
	bool ok = true;

	r->handle = nftnl_rule_get_u64(nr, NFTNL_RULE_HANDLE);
	r->foreign = true;
	if (nftnl_rule_is_set(nr, NFTNL_RULE_USERDATA)) {
		uint32_t len;
		const void *ud = nftnl_rule_get_data(nr, NFTNL_RULE_USERDATA, &len);
		char *mark = udata_string(ud, len, UDATA_RULE_OWNER);

		r->comment = udata_string(ud, len, NFTNL_UDATA_RULE_COMMENT);
		r->foreign = !mark || strcmp(mark, OWNER_MARK) != 0;
		free(mark);
	}
	it = x_nonnull(nftnl_expr_iter_create(nr));
	while (ok && (x = nftnl_expr_iter_next(it)))
		ok = decode_expr(&rr, x);
	nftnl_expr_iter_destroy(it);
	/* a value loaded and never used means the rule does something this model does not know */
	for (size_t i = 0; ok && i < NFT_REG32_COUNT; i++)
		ok = rr.regs[i].sel == NULL;
	if (ok)
		remove_dependencies(r);
	else
		make_unreadable(r, nr);
}
