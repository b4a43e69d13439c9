#include <errno.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "tlswall/nl.h"
#include "tlswall/nl_decode.h"
#include "tlswall/nl_encode.h"
#include "tlswall/ruleset.h"
#include "tlswall/util.h"

#define TYPE_IPADDR 7
#define TYPE_IP6ADDR 8
#define TYPE_PROTO_SERVICE (12u << 6 | 13u)

/* How often a dump is retried when the ruleset keeps changing under it. */
#define READ_ATTEMPTS 10

/* An anonymous set, resolved into the values of the rule that uses it. */
struct anon {
	char *name;
	uint32_t keylen;
	bool interval;
	struct rs_value *vals;
	size_t nvals;
};

/* One boundary of an interval set as the kernel dumps it: a start, or an end (one past the range). */
struct boundary {
	uint8_t key[16];
	bool end;
	bool open; /* a start whose range runs to the top of the key space */
};

struct reader {
	struct nl *nl;
	const char *name;
	uint8_t family;
	struct rs_table *t;
	struct anon *anons;
	size_t nanons, capanons;
	bool found;
	int err;
	struct rs_chain *last_chain;
};

struct comment_ctx {
	uint8_t type;
	char *text;
};

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	struct comment_ctx *c = data;

	if (nftnl_udata_type(attr) == c->type && !c->text && nftnl_udata_len(attr) > 0) {
		const char *s = nftnl_udata_get(attr);
		uint8_t len = nftnl_udata_len(attr);

		c->text = x_strndup(s, s[len - 1] == '\0' ? (size_t)len - 1 : len);
	}
	return 0;
}

static char *udata_comment(const void *data, uint32_t len, uint8_t type)
{
	struct comment_ctx c = { type, NULL };

	if (data && len)
		nftnl_udata_parse(data, len, comment_cb, &c);
	return c.text;
}

/* ---- table and chains ---- */

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	struct reader *r = data;
	struct nftnl_table *t = x_nonnull(nftnl_table_alloc());

	if (nftnl_table_nlmsg_parse(nlh, t) == 0 && nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY) == r->family &&
	    strcmp(nftnl_table_get_str(t, NFTNL_TABLE_NAME), r->name) == 0) {
		uint32_t len = 0;
		const void *ud = nftnl_table_is_set(t, NFTNL_TABLE_USERDATA) ?
					 nftnl_table_get_data(t, NFTNL_TABLE_USERDATA, &len) : NULL;

		r->found = true;
		r->t = rs_table_alloc(r->name);
		r->t->handle = nftnl_table_get_u64(t, NFTNL_TABLE_HANDLE);
		r->t->comment = udata_comment(ud, len, NFTNL_UDATA_TABLE_COMMENT);
	}
	nftnl_table_free(t);
	return NL_CB_OK;
}

static int chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct reader *r = data;
	struct nftnl_chain *c = x_nonnull(nftnl_chain_alloc());

	/* the kernel returns every table's chains: keep ours */
	if (nftnl_chain_nlmsg_parse(nlh, c) == 0 && nftnl_chain_get_u32(c, NFTNL_CHAIN_FAMILY) == r->family &&
	    strcmp(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), r->name) == 0 && r->t) {
		struct rs_chain *rc = rs_table_add_chain(r->t, nftnl_chain_get_str(c, NFTNL_CHAIN_NAME));
		uint32_t len = 0;
		const void *ud = nftnl_chain_is_set(c, NFTNL_CHAIN_USERDATA) ?
					 nftnl_chain_get_data(c, NFTNL_CHAIN_USERDATA, &len) : NULL;

		rc->handle = nftnl_chain_get_u64(c, NFTNL_CHAIN_HANDLE);
		rc->comment = udata_comment(ud, len, NFTNL_UDATA_CHAIN_COMMENT);
		if (nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM)) {
			rc->base = true;
			rc->hook = nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM);
			rc->priority = nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO);
			rc->type = x_strdup(nftnl_chain_is_set(c, NFTNL_CHAIN_TYPE) ?
						    nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE) : "filter");
			rc->policy = nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY) == NF_DROP ? RS_DROP : RS_ACCEPT;
		}
	}
	nftnl_chain_free(c);
	return NL_CB_OK;
}

/* ---- sets ---- */

struct set_info {
	char *name;
	uint32_t flags, keytype, keylen, datatype;
	uint64_t handle;
	char *comment;
};

struct set_list {
	struct set_info *v;
	size_t n, cap;
};

static int set_cb(const struct nlmsghdr *nlh, void *data)
{
	struct set_list *l = data;
	struct nftnl_set *s = x_nonnull(nftnl_set_alloc());

	if (nftnl_set_nlmsg_parse(nlh, s) == 0) {
		struct set_info *i;
		uint32_t len = 0;
		const void *ud = nftnl_set_is_set(s, NFTNL_SET_USERDATA) ?
					 nftnl_set_get_data(s, NFTNL_SET_USERDATA, &len) : NULL;

		x_grow(&l->v, &l->cap, l->n + 1, sizeof(*l->v));
		i = &l->v[l->n++];
		i->name = x_strdup(nftnl_set_get_str(s, NFTNL_SET_NAME));
		i->flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
		i->keytype = nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE);
		i->keylen = nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN);
		i->datatype = nftnl_set_is_set(s, NFTNL_SET_DATA_TYPE) ? nftnl_set_get_u32(s, NFTNL_SET_DATA_TYPE) : 0;
		i->handle = nftnl_set_get_u64(s, NFTNL_SET_HANDLE);
		i->comment = udata_comment(ud, len, NFTNL_UDATA_SET_COMMENT);
	}
	nftnl_set_free(s);
	return NL_CB_OK;
}

/* Elements arrive a message at a time; each is converted and dropped, so a million-element set is never held as
 * libnftnl objects. */
struct elem_ctx {
	const struct set_info *info;
	struct boundary *b;       /* interval sets */
	size_t nb, capb;
	struct rs_set *set;       /* maps and plain sets go straight into the model */
	struct anon *anon;
};

/* A kernel verdict code in the model's terms; codes tlswall never writes become fallback. */
static enum rs_verdict_code verdict_of(int32_t code, enum rs_verdict_code fallback)
{
	switch (code) {
	case NF_ACCEPT:
		return RS_ACCEPT;
	case NF_DROP:
		return RS_DROP;
	case NFT_JUMP:
		return RS_JUMP;
	case NFT_GOTO:
		return RS_GOTO;
	case NFT_RETURN:
		return RS_RETURN;
	case NFT_CONTINUE:
		return RS_CONTINUE;
	}
	return fallback;
}

static void verdict_from(struct nftnl_set_elem *e, struct rs_verdict *v)
{
	v->code = verdict_of((int32_t)nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_VERDICT), RS_DROP);
	v->chain = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_CHAIN) ? (char *)nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN) :
								       NULL;
}

static bool elem_open(struct nftnl_set_elem *e)
{
	uint32_t len = 0;
	const uint8_t *ud;

	if (!nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_USERDATA))
		return false;
	ud = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &len);
	/* NFTNL_UDATA_SET_ELEM_FLAGS holding NFTNL_SET_ELEM_F_INTERVAL_OPEN */
	for (uint32_t off = 0; off + 2 <= len && off + 2 + ud[off + 1] <= len; off += 2u + ud[off + 1])
		if (ud[off] == NFTNL_UDATA_SET_ELEM_FLAGS && ud[off + 1] == 4) {
			uint32_t f;

			memcpy(&f, ud + off + 2, 4);
			return f & NFTNL_SET_ELEM_F_INTERVAL_OPEN;
		}
	return false;
}

static int elem_cb(struct nftnl_set_elem *e, void *data)
{
	struct elem_ctx *c = data;
	uint32_t klen = 0;
	const uint8_t *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	uint32_t flags = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) ? nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) : 0;

	if (!key)
		return 0;
	if (c->set && c->set->key == RS_KEY_PROTO_PORT) {
		/* kernel layout: protocol in a 4-byte register, port in the next */
		uint8_t first[3] = { key[0], key[4], key[5] }, last[3];
		struct rs_verdict v;

		memcpy(last, first, sizeof(last));
		if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY_END)) {
			const uint8_t *end = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &klen);

			last[0] = end[0];
			last[1] = end[4];
			last[2] = end[5];
		}
		verdict_from(e, &v);
		rs_set_add(c->set, first, last, &v);
		return 0;
	}
	if (c->info->flags & NFT_SET_INTERVAL) {
		struct boundary *b;

		x_grow(&c->b, &c->capb, c->nb + 1, sizeof(*c->b));
		b = &c->b[c->nb++];
		memset(b, 0, sizeof(*b));
		memcpy(b->key, key, klen > 16 ? 16 : klen);
		b->end = flags & NFT_SET_ELEM_INTERVAL_END;
		b->open = !b->end && elem_open(e);
		return 0;
	}
	if (c->anon) {
		struct rs_value *v;

		c->anon->vals = x_reallocarray(c->anon->vals, c->anon->nvals + 1, sizeof(*c->anon->vals));
		v = &c->anon->vals[c->anon->nvals++];
		memset(v, 0, sizeof(*v));
		if (klen == RS_IFNAMSIZ)
			memcpy(v->str, key, RS_IFNAMSIZ - 1);
		else
			v->num = key[0];
	}
	return 0;
}

static int elems_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_set *s = x_nonnull(nftnl_set_alloc());

	if (nftnl_set_elems_nlmsg_parse(nlh, s) == 0)
		nftnl_set_elem_foreach(s, elem_cb, data);
	nftnl_set_free(s);
	return NL_CB_OK;
}

static int cmp_boundary(const void *a, const void *b)
{
	const struct boundary *x = a, *y = b;
	int c = memcmp(x->key, y->key, sizeof(x->key));

	/* an end and a start at the same key: the end closes the earlier range first */
	return c ? c : (int)y->end - (int)x->end;
}

static bool decrement(uint8_t *key, size_t len)
{
	for (size_t i = len; i-- > 0;)
		if (key[i]-- != 0)
			return true;
	return false;
}

/* Turns the kernel's start and end markers back into inclusive ranges. */
static void boundaries_to_ranges(struct elem_ctx *c, size_t klen,
				 void (*add)(struct elem_ctx *, const uint8_t *first, const uint8_t *last))
{
	uint8_t start[16];
	bool have_start = false;

	if (c->nb > 1)
		qsort(c->b, c->nb, sizeof(*c->b), cmp_boundary);
	for (size_t i = 0; i < c->nb; i++) {
		struct boundary *b = &c->b[i];

		if (b->end) {
			if (have_start) {
				uint8_t last[16];

				memcpy(last, b->key, klen);
				decrement(last, klen);
				add(c, start, last);
				have_start = false;
			}
			continue;
		}
		if (have_start) {
			/* two starts in a row: the first was a single key */
			add(c, start, start);
		}
		memcpy(start, b->key, klen);
		have_start = true;
		if (b->open) {
			uint8_t top[16];

			memset(top, 0xff, sizeof(top));
			add(c, start, top);
			have_start = false;
		}
	}
	if (have_start) {
		uint8_t top[16];

		memset(top, 0xff, sizeof(top));
		add(c, start, top);
	}
}

static void add_to_set(struct elem_ctx *c, const uint8_t *first, const uint8_t *last)
{
	rs_set_add(c->set, first, last, NULL);
}

/* An interval of interface names back to a name, or a "prefix*" wildcard. */
static void add_ifname_range(struct elem_ctx *c, const uint8_t *first, const uint8_t *last)
{
	struct rs_value *v;
	size_t n = strnlen((const char *)first, RS_IFNAMSIZ);

	c->anon->vals = x_reallocarray(c->anon->vals, c->anon->nvals + 1, sizeof(*c->anon->vals));
	v = &c->anon->vals[c->anon->nvals++];
	memset(v, 0, sizeof(*v));
	memcpy(v->str, first, n < RS_IFNAMSIZ - 1 ? n : RS_IFNAMSIZ - 1);
	if (memcmp(first, last, RS_IFNAMSIZ) != 0 && n < RS_IFNAMSIZ - 1)
		v->str[n] = '*';
}

/* buf must be REQUEST_SIZE bytes; zeroed so attribute padding never sends stray stack bytes */
#define REQUEST_SIZE 4096

static struct nlmsghdr *request(char *buf, uint16_t type, uint8_t family, uint16_t flags)
{
	memset(buf, 0, REQUEST_SIZE);
	return nftnl_nlmsg_build_hdr(buf, type, family, flags, 0);
}

static int read_elements(struct reader *r, const struct set_info *info, struct elem_ctx *c)
{
	char buf[REQUEST_SIZE];
	struct nlmsghdr *nlh = request(buf, NFT_MSG_GETSETELEM, r->family, NLM_F_DUMP);
	struct nftnl_set *s = x_nonnull(nftnl_set_alloc());
	int ret;

	nftnl_set_set_str(s, NFTNL_SET_TABLE, r->name);
	nftnl_set_set_str(s, NFTNL_SET_NAME, info->name);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	c->info = info;
	ret = nl_dump(r->nl, nlh, elems_msg_cb, c);
	return ret;
}

static int cmp_value(const void *a, const void *b)
{
	const struct rs_value *x = a, *y = b;
	int c = strcmp(x->str, y->str);

	return c ? c : (x->num > y->num) - (x->num < y->num);
}

static int read_set(struct reader *r, const struct set_info *info)
{
	struct elem_ctx c = { 0 };
	enum rs_keytype key;
	bool known = true;
	int ret;

	if (info->flags & NFT_SET_ANONYMOUS) {
		struct anon *a;

		x_grow(&r->anons, &r->capanons, r->nanons + 1, sizeof(*r->anons));
		a = &r->anons[r->nanons++];
		memset(a, 0, sizeof(*a));
		a->name = x_strdup(info->name);
		a->keylen = info->keylen;
		a->interval = info->flags & NFT_SET_INTERVAL;
		c.anon = a;
		ret = read_elements(r, info, &c);
		if (ret == 0 && a->interval)
			boundaries_to_ranges(&c, info->keylen > 16 ? 16 : info->keylen, add_ifname_range);
		/* a hash set dumps in hash order; the model, like nft's listing, keeps values sorted */
		if (a->nvals > 1)
			qsort(a->vals, a->nvals, sizeof(*a->vals), cmp_value);
		free(c.b);
		return ret;
	}

	if (info->keytype == TYPE_IPADDR && info->keylen == 4 && info->flags == NFT_SET_INTERVAL)
		key = RS_KEY_IPV4;
	else if (info->keytype == TYPE_IP6ADDR && info->keylen == 16 && info->flags == NFT_SET_INTERVAL)
		key = RS_KEY_IPV6;
	else if (info->keytype == TYPE_PROTO_SERVICE && info->keylen == 8 && info->datatype == NFT_DATA_VERDICT &&
		 (info->flags == NFT_SET_MAP || info->flags == (NFT_SET_MAP | NFT_SET_INTERVAL | NFT_SET_CONCAT)))
		key = RS_KEY_PROTO_PORT;
	else
		known = false;

	if (!known) {
		struct rs_set *s = rs_table_add_set(r->t, info->name, RS_KEY_IPV4, false);

		s->foreign = true;
		s->handle = info->handle;
		s->foreign_text = x_asprintf("type %u, key length %u, flags 0x%x: not a kind of set tlswall makes",
					     info->keytype, info->keylen, info->flags);
		return 0;
	}
	c.set = rs_table_add_set(r->t, info->name, key, key != RS_KEY_PROTO_PORT || (info->flags & NFT_SET_INTERVAL));
	c.set->vmap = key == RS_KEY_PROTO_PORT;
	c.set->handle = info->handle;
	c.set->comment = info->comment ? x_strdup(info->comment) : NULL;
	ret = read_elements(r, info, &c);
	if (ret == 0 && key != RS_KEY_PROTO_PORT)
		boundaries_to_ranges(&c, rs_keylen(key), add_to_set);
	free(c.b);
	rs_set_sort(c.set);
	return ret;
}

/* ---- rules ---- */

struct cursor {
	struct nftnl_expr **x;
	size_t n, i;
};

static const char *ename(const struct cursor *c, size_t at)
{
	return at < c->n ? nftnl_expr_get_str(c->x[at], NFTNL_EXPR_NAME) : "";
}

static bool is(const struct cursor *c, size_t at, const char *name)
{
	return strcmp(ename(c, at), name) == 0;
}

static uint32_t u32(const struct cursor *c, size_t at, uint16_t attr)
{
	return nftnl_expr_is_set(c->x[at], attr) ? nftnl_expr_get_u32(c->x[at], attr) : 0;
}

static const uint8_t *data(const struct cursor *c, size_t at, uint16_t attr, uint32_t *len)
{
	*len = 0;
	return nftnl_expr_is_set(c->x[at], attr) ? nftnl_expr_get(c->x[at], attr, len) : NULL;
}

struct rule_decoder {
	struct reader *r;
	struct rs_rule *rule;
	struct cursor c;
	/* statements that may turn out to be dependencies nft adds implicitly ("meta nfproto ipv4" before
	 * "ip saddr"): index into rule->stmts, or -1 */
	long nfproto_dep, l4proto_dep;
	uint32_t nfproto, l4proto;
	bool *dropped;
	size_t capdropped;
};

static void drop_dep(struct rule_decoder *d, long *dep)
{
	size_t old = d->capdropped;

	if (*dep < 0)
		return;
	x_grow(&d->dropped, &d->capdropped, (size_t)*dep + 1, sizeof(*d->dropped));
	memset(d->dropped + old, 0, (d->capdropped - old) * sizeof(*d->dropped));
	d->dropped[*dep] = true;
	*dep = -1;
}

static const struct anon *find_anon(const struct reader *r, const char *name)
{
	for (size_t i = 0; i < r->nanons; i++)
		if (strcmp(r->anons[i].name, name) == 0)
			return &r->anons[i];
	return NULL;
}

/* "cmp eq VALUE" or "lookup @anonymous" after a load: the values compared against. */
static bool values(struct rule_decoder *d, struct rs_match *m, size_t at, uint32_t width, bool ifname)
{
	const struct cursor *c = &d->c;
	uint32_t len;

	if (is(c, at, "cmp")) {
		const uint8_t *v = data(c, at, NFTNL_EXPR_CMP_DATA, &len);
		uint32_t op = u32(c, at, NFTNL_EXPR_CMP_OP);
		struct rs_value val = { 0 };

		if (!v || (op != NFT_CMP_EQ && op != NFT_CMP_NEQ))
			return false;
		m->op = op == NFT_CMP_EQ ? RS_OP_EQ : RS_OP_NEQ;
		if (ifname) {
			size_t n = strnlen((const char *)v, len);

			if (len > RS_IFNAMSIZ || n >= RS_IFNAMSIZ)
				return false;
			memcpy(val.str, v, n);
			if (len < RS_IFNAMSIZ && n == len)
				val.str[n] = '*'; /* a prefix compare is nft's "name*" */
		} else if (len == width && width <= 4) {
			memcpy(&val.num, v, len);
			if (width == 1)
				val.num = v[0];
		} else {
			return false;
		}
		m->vals = x_calloc(1, sizeof(*m->vals));
		m->vals[0] = val;
		m->nvals = 1;
		return true;
	}
	if (is(c, at, "lookup") && !nftnl_expr_is_set(c->x[at], NFTNL_EXPR_LOOKUP_DREG) &&
	    u32(c, at, NFTNL_EXPR_LOOKUP_FLAGS) == 0) {
		const struct anon *a = find_anon(d->r, nftnl_expr_get_str(c->x[at], NFTNL_EXPR_LOOKUP_SET));

		if (!a || a->nvals == 0 || (ifname ? a->keylen != RS_IFNAMSIZ : a->keylen != width))
			return false;
		m->op = RS_OP_EQ;
		m->vals = x_calloc(a->nvals, sizeof(*m->vals));
		memcpy(m->vals, a->vals, a->nvals * sizeof(*m->vals));
		m->nvals = a->nvals;
		return true;
	}
	return false;
}

static struct rs_match *new_match(struct rule_decoder *d, enum rs_selector sel)
{
	return rs_rule_match(d->rule, sel, RS_OP_EQ);
}

/* Undoes a match that turned out not to fit. */
static void unmatch(struct rule_decoder *d)
{
	rs_stmt_release(&d->rule->stmts[--d->rule->nstmts]);
}

/* Decodes one statement at the cursor; false when the expressions are not something tlswall writes. */
static bool decode_stmt(struct rule_decoder *d)
{
	struct cursor *c = &d->c;
	size_t i = c->i;
	const char *name = ename(c, i);
	struct rs_match *m;
	struct rs_stmt *st;
	uint32_t len;

	if (strcmp(name, "ct") == 0) {
		const uint8_t *mask, *xor, *zero;
		uint32_t mlen, xlen, zlen, v;

		if (u32(c, i, NFTNL_EXPR_CT_KEY) != NFT_CT_STATE || !is(c, i + 1, "bitwise") || !is(c, i + 2, "cmp"))
			return false;
		mask = data(c, i + 1, NFTNL_EXPR_BITWISE_MASK, &mlen);
		xor = data(c, i + 1, NFTNL_EXPR_BITWISE_XOR, &xlen);
		zero = data(c, i + 2, NFTNL_EXPR_CMP_DATA, &zlen);
		if (!mask || mlen != 4 || !xor || xlen != 4 || !zero || zlen != 4 ||
		    u32(c, i + 2, NFTNL_EXPR_CMP_OP) != NFT_CMP_NEQ)
			return false;
		memcpy(&v, xor, 4);
		if (v)
			return false;
		memcpy(&v, zero, 4);
		if (v)
			return false;
		memcpy(&v, mask, 4);
		rs_match_add_num(rs_rule_match(d->rule, RS_SEL_CT_STATE, RS_OP_FLAGS), v);
		c->i += 3;
		return true;
	}
	if (strcmp(name, "meta") == 0) {
		uint32_t key = u32(c, i, NFTNL_EXPR_META_KEY);

		if (nftnl_expr_is_set(c->x[i], NFTNL_EXPR_META_SREG))
			return false;
		switch (key) {
		case NFT_META_NFPROTO:
			m = new_match(d, RS_SEL_NFPROTO);
			if (!values(d, m, i + 1, 1, false)) {
				unmatch(d);
				return false;
			}
			if (m->op == RS_OP_EQ && m->nvals == 1) {
				d->nfproto = m->vals[0].num;
				d->nfproto_dep = (long)d->rule->nstmts - 1;
			}
			c->i += 2;
			return true;
		case NFT_META_L4PROTO:
			{
				/* "meta l4proto . th dport vmap @map", with nft's no-op byteorder for interval maps */
				size_t p = is(c, i + 1, "byteorder") ? i + 2 : i + 1;

				if (is(c, p, "payload") && is(c, p + 1, "lookup") &&
				    u32(c, p, NFTNL_EXPR_PAYLOAD_BASE) == NFT_PAYLOAD_TRANSPORT_HEADER &&
				    u32(c, p, NFTNL_EXPR_PAYLOAD_OFFSET) == 2 && u32(c, p, NFTNL_EXPR_PAYLOAD_LEN) == 2 &&
				    u32(c, p, NFTNL_EXPR_PAYLOAD_DREG) == NFT_REG32_01 &&
				    nftnl_expr_is_set(c->x[p + 1], NFTNL_EXPR_LOOKUP_DREG) &&
				    u32(c, p + 1, NFTNL_EXPR_LOOKUP_DREG) == NFT_REG_VERDICT) {
					m = rs_rule_match(d->rule, RS_SEL_L4PROTO_DPORT, RS_OP_VMAP);
					m->set = x_strdup(nftnl_expr_get_str(c->x[p + 1], NFTNL_EXPR_LOOKUP_SET));
					c->i = p + 2;
					return true;
				}
			}
			m = new_match(d, RS_SEL_L4PROTO);
			if (!values(d, m, i + 1, 1, false)) {
				unmatch(d);
				return false;
			}
			if (m->op == RS_OP_EQ && m->nvals == 1) {
				d->l4proto = m->vals[0].num;
				d->l4proto_dep = (long)d->rule->nstmts - 1;
			}
			c->i += 2;
			return true;
		case NFT_META_IIF: {
			char ifname[IF_NAMESIZE] = "";
			const uint8_t *v;
			uint32_t idx;

			if (!is(c, i + 1, "cmp"))
				return false;
			v = data(c, i + 1, NFTNL_EXPR_CMP_DATA, &len);
			if (!v || len != 4)
				return false;
			memcpy(&idx, v, 4);
			m = new_match(d, RS_SEL_IIF);
			m->op = u32(c, i + 1, NFTNL_EXPR_CMP_OP) == NFT_CMP_NEQ ? RS_OP_NEQ : RS_OP_EQ;
			if (!if_indextoname(idx, ifname))
				snprintf(ifname, sizeof(ifname), "%u", idx);
			rs_match_add_str(m, ifname);
			c->i += 2;
			return true;
		}
		case NFT_META_IIFNAME:
			m = new_match(d, RS_SEL_IIFNAME);
			if (!values(d, m, i + 1, RS_IFNAMSIZ, true)) {
				unmatch(d);
				return false;
			}
			c->i += 2;
			return true;
		default:
			return false;
		}
	}
	if (strcmp(name, "payload") == 0) {
		uint32_t base = u32(c, i, NFTNL_EXPR_PAYLOAD_BASE), off = u32(c, i, NFTNL_EXPR_PAYLOAD_OFFSET);
		uint32_t plen = u32(c, i, NFTNL_EXPR_PAYLOAD_LEN);

		if (u32(c, i, NFTNL_EXPR_PAYLOAD_DREG) != NFT_REG_1)
			return false;
		if (base == NFT_PAYLOAD_NETWORK_HEADER && is(c, i + 1, "lookup") &&
		    ((d->nfproto == NFPROTO_IPV4 && off == 12 && plen == 4) ||
		     (d->nfproto == NFPROTO_IPV6 && off == 8 && plen == 16))) {
			const char *set = nftnl_expr_get_str(c->x[i + 1], NFTNL_EXPR_LOOKUP_SET);

			if (find_anon(d->r, set) || nftnl_expr_is_set(c->x[i + 1], NFTNL_EXPR_LOOKUP_DREG) ||
			    u32(c, i + 1, NFTNL_EXPR_LOOKUP_FLAGS) != 0)
				return false;
			drop_dep(d, &d->nfproto_dep);
			m = rs_rule_match(d->rule, plen == 4 ? RS_SEL_IP_SADDR : RS_SEL_IP6_SADDR, RS_OP_SET);
			m->set = x_strdup(set);
			c->i += 2;
			return true;
		}
		if (base == NFT_PAYLOAD_TRANSPORT_HEADER && off == 0 && plen == 1 &&
		    ((d->nfproto == NFPROTO_IPV4 && d->l4proto == 1) || (d->nfproto == NFPROTO_IPV6 && d->l4proto == 58))) {
			m = new_match(d, d->l4proto == 1 ? RS_SEL_ICMP_TYPE : RS_SEL_ICMPV6_TYPE);
			if (!values(d, m, i + 1, 1, false)) {
				unmatch(d);
				return false;
			}
			drop_dep(d, &d->nfproto_dep);
			drop_dep(d, &d->l4proto_dep);
			c->i += 2;
			return true;
		}
		if (base == NFT_PAYLOAD_NETWORK_HEADER && off == 7 && plen == 1 && d->nfproto == NFPROTO_IPV6) {
			m = new_match(d, RS_SEL_IP6_HOPLIMIT);
			if (!values(d, m, i + 1, 1, false) || m->nvals != 1) {
				unmatch(d);
				return false;
			}
			drop_dep(d, &d->nfproto_dep);
			c->i += 2;
			return true;
		}
		if (base == NFT_PAYLOAD_TRANSPORT_HEADER && off == 2 && plen == 2 && is(c, i + 1, "cmp")) {
			const uint8_t *v = data(c, i + 1, NFTNL_EXPR_CMP_DATA, &len);

			if (!v || len != 2)
				return false;
			m = new_match(d, RS_SEL_TH_DPORT);
			m->op = u32(c, i + 1, NFTNL_EXPR_CMP_OP) == NFT_CMP_NEQ ? RS_OP_NEQ : RS_OP_EQ;
			rs_match_add_num(m, (uint32_t)v[0] << 8 | v[1]);
			c->i += 2;
			return true;
		}
		return false;
	}
	if (strcmp(name, "counter") == 0) {
		st = rs_rule_add(d->rule, RS_STMT_COUNTER);
		st->u.counter.packets = nftnl_expr_get_u64(c->x[i], NFTNL_EXPR_CTR_PACKETS);
		st->u.counter.bytes = nftnl_expr_get_u64(c->x[i], NFTNL_EXPR_CTR_BYTES);
		c->i++;
		return true;
	}
	if (strcmp(name, "limit") == 0) {
		uint64_t unit = nftnl_expr_get_u64(c->x[i], NFTNL_EXPR_LIMIT_UNIT);
		static const uint64_t units[] = { 1, 60, 3600, 86400 };
		int u = -1;

		for (int k = 0; k < 4; k++)
			if (units[k] == unit)
				u = k;
		if (u < 0 || u32(c, i, NFTNL_EXPR_LIMIT_TYPE) != NFT_LIMIT_PKTS || u32(c, i, NFTNL_EXPR_LIMIT_FLAGS) != 0)
			return false;
		st = rs_rule_add(d->rule, RS_STMT_LIMIT);
		st->u.limit.rate = nftnl_expr_get_u64(c->x[i], NFTNL_EXPR_LIMIT_RATE);
		st->u.limit.unit = (enum rs_rate_unit)u;
		st->u.limit.burst = u32(c, i, NFTNL_EXPR_LIMIT_BURST);
		c->i++;
		return true;
	}
	if (strcmp(name, "log") == 0) {
		/* the kernel reports the default level (4, warning) even when none was given */
		if (nftnl_expr_is_set(c->x[i], NFTNL_EXPR_LOG_GROUP) ||
		    (nftnl_expr_is_set(c->x[i], NFTNL_EXPR_LOG_LEVEL) && u32(c, i, NFTNL_EXPR_LOG_LEVEL) != 4) ||
		    u32(c, i, NFTNL_EXPR_LOG_FLAGS) != 0)
			return false;
		st = rs_rule_add(d->rule, RS_STMT_LOG);
		if (nftnl_expr_is_set(c->x[i], NFTNL_EXPR_LOG_PREFIX))
			st->u.log.prefix = x_strdup(nftnl_expr_get_str(c->x[i], NFTNL_EXPR_LOG_PREFIX));
		c->i++;
		return true;
	}
	if (strcmp(name, "immediate") == 0) {
		int32_t code;

		if (u32(c, i, NFTNL_EXPR_IMM_DREG) != NFT_REG_VERDICT)
			return false;
		code = (int32_t)u32(c, i, NFTNL_EXPR_IMM_VERDICT);
		st = rs_rule_add(d->rule, RS_STMT_VERDICT);
		st->u.verdict.code = verdict_of(code, RS_CONTINUE);
		if (nftnl_expr_is_set(c->x[i], NFTNL_EXPR_IMM_CHAIN))
			st->u.verdict.chain = x_strdup(nftnl_expr_get_str(c->x[i], NFTNL_EXPR_IMM_CHAIN));
		c->i++;
		return true;
	}
	if (strcmp(name, "reject") == 0) {
		uint32_t type = u32(c, i, NFTNL_EXPR_REJECT_TYPE);
		uint8_t code = nftnl_expr_get_u8(c->x[i], NFTNL_EXPR_REJECT_CODE);

		st = rs_rule_add(d->rule, RS_STMT_REJECT);
		if (type == NFT_REJECT_TCP_RST)
			st->u.reject = RS_REJECT_TCP_RESET;
		else if (type == NFT_REJECT_ICMPX_UNREACH && code == NFT_REJECT_ICMPX_ADMIN_PROHIBITED)
			st->u.reject = RS_REJECT_ICMPX_ADMIN_PROHIBITED;
		else
			return false;
		c->i++;
		return true;
	}
	return false;
}

/* A rule this model cannot express: keep it, described in libnftnl's notation, so diff and show can name it. */
static void make_unreadable(struct rs_rule *rule, const struct nftnl_rule *nr)
{
	char buf[REQUEST_SIZE];
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

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct reader *r = data;
	struct nftnl_rule *nr = x_nonnull(nftnl_rule_alloc());
	/* in an ip or ip6 table the family is implied, not matched */
	struct rule_decoder d = { r, NULL, { NULL, 0, 0 }, -1, -1, r->family == NFPROTO_INET ? 0u : r->family, 0, NULL, 0 };
	struct nftnl_expr_iter *it;
	struct nftnl_expr *x;
	struct rs_chain *chain;
	size_t cap = 0;

	if (nftnl_rule_nlmsg_parse(nlh, nr) != 0 || nftnl_rule_get_u32(nr, NFTNL_RULE_FAMILY) != r->family ||
	    strcmp(nftnl_rule_get_str(nr, NFTNL_RULE_TABLE), r->name) != 0 || !r->t)
		goto out;
	/* rules arrive chain by chain: look the chain up only when it changes */
	if (r->last_chain && strcmp(r->last_chain->name, nftnl_rule_get_str(nr, NFTNL_RULE_CHAIN)) == 0)
		chain = r->last_chain;
	else
		chain = r->last_chain = rs_table_find_chain(r->t, nftnl_rule_get_str(nr, NFTNL_RULE_CHAIN));
	if (!chain)
		goto out;
	d.rule = rs_chain_add_rule(chain);
	d.rule->handle = nftnl_rule_get_u64(nr, NFTNL_RULE_HANDLE);
	if (nftnl_rule_is_set(nr, NFTNL_RULE_USERDATA)) {
		uint32_t len;
		const void *ud = nftnl_rule_get_data(nr, NFTNL_RULE_USERDATA, &len);

		char *mark = udata_comment(ud, len, NL_UDATA_RULE_OWNER);

		d.rule->comment = udata_comment(ud, len, NFTNL_UDATA_RULE_COMMENT);
		d.rule->foreign = !mark || strcmp(mark, NL_OWNER_MARK) != 0;
		free(mark);
	} else {
		d.rule->foreign = true;
	}
	it = x_nonnull(nftnl_expr_iter_create(nr));
	while ((x = nftnl_expr_iter_next(it))) {
		x_grow(&d.c.x, &cap, d.c.n + 1, sizeof(*d.c.x));
		d.c.x[d.c.n++] = x;
	}
	nftnl_expr_iter_destroy(it);
	while (d.c.i < d.c.n)
		if (!decode_stmt(&d))
			break;
	if (d.c.i < d.c.n) {
		make_unreadable(d.rule, nr);
	} else if (d.dropped) {
		size_t out = 0;

		for (size_t i = 0; i < d.rule->nstmts; i++) {
			if (i < d.capdropped && d.dropped[i])
				rs_stmt_release(&d.rule->stmts[i]);
			else
				d.rule->stmts[out++] = d.rule->stmts[i];
		}
		d.rule->nstmts = out;
	}
	free(d.c.x);
	free(d.dropped);
out:
	nftnl_rule_free(nr);
	return NL_CB_OK;
}

/* ---- the snapshot ---- */

static void reader_reset(struct reader *r)
{
	rs_table_free(r->t);
	r->t = NULL;
	for (size_t i = 0; i < r->nanons; i++) {
		free(r->anons[i].name);
		free(r->anons[i].vals);
	}
	free(r->anons);
	r->anons = NULL;
	r->nanons = r->capanons = 0;
	r->found = false;
	r->last_chain = NULL;
}

static int read_once(struct reader *r)
{
	char buf[REQUEST_SIZE];
	struct nlmsghdr *nlh;
	struct set_list sets = { 0 };
	int ret;

	nlh = request(buf, NFT_MSG_GETTABLE, r->family, NLM_F_DUMP);
	ret = nl_dump(r->nl, nlh, table_cb, r);
	if (ret || !r->found)
		return ret;

	nlh = request(buf, NFT_MSG_GETCHAIN, r->family, NLM_F_DUMP);
	ret = nl_dump(r->nl, nlh, chain_cb, r);
	if (ret)
		return ret;

	{
		struct nftnl_set *s = x_nonnull(nftnl_set_alloc());

		nlh = request(buf, NFT_MSG_GETSET, r->family, NLM_F_DUMP);
		nftnl_set_set_str(s, NFTNL_SET_TABLE, r->name);
		nftnl_set_nlmsg_build_payload(nlh, s);
		nftnl_set_free(s);
	}
	ret = nl_dump(r->nl, nlh, set_cb, &sets);
	for (size_t i = 0; i < sets.n && ret == 0; i++)
		ret = read_set(r, &sets.v[i]);
	for (size_t i = 0; i < sets.n; i++) {
		free(sets.v[i].name);
		free(sets.v[i].comment);
	}
	free(sets.v);
	if (ret)
		return ret;

	{
		struct nftnl_rule *nr = x_nonnull(nftnl_rule_alloc());

		nlh = request(buf, NFT_MSG_GETRULE, r->family, NLM_F_DUMP);
		nftnl_rule_set_str(nr, NFTNL_RULE_TABLE, r->name);
		nftnl_rule_nlmsg_build_payload(nlh, nr);
		nftnl_rule_free(nr);
	}
	return nl_dump(r->nl, nlh, rule_cb, r);
}

int nl_read_table(struct nl *nl, const char *name, struct rs_table **out, uint32_t *genid)
{
	return nl_read_table_family(nl, NFPROTO_INET, name, out, genid);
}

int nl_read_table_family(struct nl *nl, uint8_t family, const char *name, struct rs_table **out, uint32_t *genid)
{
	struct reader r = { nl, name, family, NULL, NULL, 0, 0, false, 0, NULL };
	int ret = -EAGAIN;

	*out = NULL;
	for (int attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
		uint32_t before, after;

		reader_reset(&r);
		ret = nl_genid(nl, &before);
		if (ret)
			break;
		ret = read_once(&r);
		if (ret == -EINTR)
			continue;
		if (ret)
			break;
		ret = nl_genid(nl, &after);
		if (ret)
			break;
		if (before == after) {
			*genid = before;
			*out = r.t;
			r.t = NULL;
			break;
		}
		ret = -EAGAIN;
	}
	reader_reset(&r);
	return ret;
}

struct table_names {
	struct nl_table_name *v;
	size_t n, cap;
};

static int names_cb(const struct nlmsghdr *nlh, void *data)
{
	struct table_names *l = data;
	struct nftnl_table *t = x_nonnull(nftnl_table_alloc());

	if (nftnl_table_nlmsg_parse(nlh, t) == 0) {
		x_grow(&l->v, &l->cap, l->n + 1, sizeof(*l->v));
		l->v[l->n].family = (uint8_t)nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY);
		snprintf(l->v[l->n].name, sizeof(l->v[l->n].name), "%s", nftnl_table_get_str(t, NFTNL_TABLE_NAME));
		l->n++;
	}
	nftnl_table_free(t);
	return NL_CB_OK;
}

int nl_list_tables(struct nl *nl, struct nl_table_name **out, size_t *n)
{
	char buf[REQUEST_SIZE];
	struct table_names l = { NULL, 0, 0 };
	int ret = nl_dump(nl, request(buf, NFT_MSG_GETTABLE, NFPROTO_UNSPEC, NLM_F_DUMP), names_cb, &l);

	if (ret) {
		free(l.v);
		return ret;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}
