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

#include "nft_abi.h"
#include "nl_decoder.h"
#include "tlswall/nl.h"
#include "tlswall/nl_decode.h"
#include "tlswall/selector.h"
#include "tlswall/ruleset.h"
#include "tlswall/util.h"

/* How often a dump is retried when the ruleset keeps changing under it. */
#define READ_ATTEMPTS 10

/* One boundary of an interval set as the kernel dumps it: a start, or an end (one past the range). */
struct boundary {
	uint8_t key[16];
	bool end;
	bool open; /* a start whose range runs to the top of the key space */
	struct rs_verdict verdict; /* a map's start: the range's verdict (its chain is owned) */
};

struct reader {
	struct nl *nl;
	const char *name;
	uint8_t family;
	struct rs_table *t;
	struct anon_sets anons;
	bool named_elements; /* read named sets' elements too */
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

char *udata_string(const void *data, uint32_t len, uint8_t type)
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
		r->t->comment = udata_string(ud, len, NFTNL_UDATA_TABLE_COMMENT);
		r->t->dormant = nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS) & NFT_TABLE_F_DORMANT;
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
		rc->comment = udata_string(ud, len, NFTNL_UDATA_CHAIN_COMMENT);
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
		i->comment = udata_string(ud, len, NFTNL_UDATA_SET_COMMENT);
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
	struct anon_set *anon;
};

static void verdict_from(struct nftnl_set_elem *e, struct rs_verdict *v)
{
	v->code = rs_verdict_of((int32_t)nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_VERDICT), RS_DROP);
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

static void anon_add(struct anon_set *a, const uint8_t *first, const uint8_t *last, size_t klen)
{
	struct anon_range *k;

	x_grow(&a->ranges, &a->cap, a->n + 1, sizeof(*a->ranges));
	k = &a->ranges[a->n++];
	memset(k, 0, sizeof(*k));
	memcpy(k->first, first, klen > RS_IFNAMSIZ ? RS_IFNAMSIZ : klen);
	memcpy(k->last, last, klen > RS_IFNAMSIZ ? RS_IFNAMSIZ : klen);
}

static int elem_cb(struct nftnl_set_elem *e, void *data)
{
	struct elem_ctx *c = data;
	uint32_t klen = 0;
	const uint8_t *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &klen);
	uint32_t flags = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) ? nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) : 0;

	if (!key)
		return 0;
	if (c->set && c->set->vmap && c->set->key != RS_KEY_PROTO_PORT && !(c->info->flags & NFT_SET_INTERVAL)) {
		struct rs_verdict v;

		verdict_from(e, &v);
		rs_set_add(c->set, key, NULL, &v);
		return 0;
	}
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
		if (c->set && c->set->vmap && !b->end) {
			verdict_from(e, &b->verdict);
			b->verdict.chain = b->verdict.chain ? x_strdup(b->verdict.chain) : NULL;
		}
		return 0;
	}
	if (c->anon)
		anon_add(c->anon, key, key, klen);
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
				 void (*add)(struct elem_ctx *, const uint8_t *first, const uint8_t *last,
					     const struct rs_verdict *v))
{
	uint8_t start[16];
	const struct rs_verdict *v = NULL;
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
				add(c, start, last, v);
				have_start = false;
			}
			continue;
		}
		if (have_start) {
			/* two starts in a row: the first was a single key */
			add(c, start, start, v);
		}
		memcpy(start, b->key, klen);
		v = &b->verdict;
		have_start = true;
		if (b->open) {
			uint8_t top[16];

			memset(top, 0xff, sizeof(top));
			add(c, start, top, v);
			have_start = false;
		}
	}
	if (have_start) {
		uint8_t top[16];

		memset(top, 0xff, sizeof(top));
		add(c, start, top, v);
	}
}

static void boundaries_release(struct elem_ctx *c)
{
	for (size_t i = 0; i < c->nb; i++)
		free(c->b[i].verdict.chain);
	free(c->b);
}

static void add_to_set(struct elem_ctx *c, const uint8_t *first, const uint8_t *last, const struct rs_verdict *v)
{
	rs_set_add(c->set, first, last, c->set->vmap ? v : NULL);
}

static void add_to_anon(struct elem_ctx *c, const uint8_t *first, const uint8_t *last, const struct rs_verdict *v)
{
	(void)v;
	anon_add(c->anon, first, last, c->anon->keylen);
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

static int read_set(struct reader *r, const struct set_info *info)
{
	struct elem_ctx c = { 0 };
	const struct set_key *key;
	bool known = false;
	int ret;

	if (info->flags & NFT_SET_ANONYMOUS) {
		struct anon_set *a;

		x_grow(&r->anons.v, &r->anons.cap, r->anons.n + 1, sizeof(*r->anons.v));
		a = &r->anons.v[r->anons.n++];
		memset(a, 0, sizeof(*a));
		a->name = x_strdup(info->name);
		a->keylen = info->keylen;
		c.anon = a;
		ret = read_elements(r, info, &c);
		if (ret == 0 && (info->flags & NFT_SET_INTERVAL))
			boundaries_to_ranges(&c, info->keylen > RS_IFNAMSIZ ? RS_IFNAMSIZ : info->keylen, add_to_anon);
		boundaries_release(&c);
		return ret;
	}

	key = set_key_by_datatype(info->keytype, info->keylen);
	if (key && (key->type == RS_KEY_IPV4 || key->type == RS_KEY_IPV6))
		known = info->flags == NFT_SET_INTERVAL ||
			(info->flags == (NFT_SET_MAP | NFT_SET_INTERVAL) && info->datatype == NFT_DATA_VERDICT);
	else if (key)
		known = info->datatype == NFT_DATA_VERDICT &&
			(info->flags == NFT_SET_MAP ||
			 info->flags == (NFT_SET_MAP | NFT_SET_INTERVAL |
					 (key->type == RS_KEY_PROTO_PORT ? NFT_SET_CONCAT : 0)));

	if (!known || !r->named_elements) {
		struct rs_set *s = rs_table_add_set(r->t, info->name, RS_KEY_IPV4, false);

		s->foreign = true;
		s->handle = info->handle;
		s->foreign_text = known ? x_strdup("elements not read") :
					  x_asprintf("type %u, key length %u, flags 0x%x: not a kind of set tlswall makes",
						     info->keytype, info->keylen, info->flags);
		return 0;
	}
	c.set = rs_table_add_set(r->t, info->name, key->type, !(info->flags & NFT_SET_MAP) || (info->flags & NFT_SET_INTERVAL));
	c.set->vmap = info->flags & NFT_SET_MAP;
	c.set->handle = info->handle;
	c.set->comment = info->comment ? x_strdup(info->comment) : NULL;
	ret = read_elements(r, info, &c);
	if (ret == 0 && (info->flags & NFT_SET_INTERVAL) && key->type != RS_KEY_PROTO_PORT)
		boundaries_to_ranges(&c, key->len, add_to_set);
	boundaries_release(&c);
	rs_set_sort(c.set);
	return ret;
}

/* ---- rules ---- */

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct reader *r = data;
	struct nftnl_rule *nr = x_nonnull(nftnl_rule_alloc());
	struct rs_chain *chain;

	if (nftnl_rule_nlmsg_parse(nlh, nr) != 0 || nftnl_rule_get_u32(nr, NFTNL_RULE_FAMILY) != r->family ||
	    strcmp(nftnl_rule_get_str(nr, NFTNL_RULE_TABLE), r->name) != 0 || !r->t)
		goto out;
	/* rules arrive chain by chain: look the chain up only when it changes */
	if (r->last_chain && strcmp(r->last_chain->name, nftnl_rule_get_str(nr, NFTNL_RULE_CHAIN)) == 0)
		chain = r->last_chain;
	else
		chain = r->last_chain = rs_table_find_chain(r->t, nftnl_rule_get_str(nr, NFTNL_RULE_CHAIN));
	if (chain) {
		struct rs_rule *rule = rs_chain_add_rule(chain);

		nl_decode_rule(nr, r->family, &r->anons, rule);
		if (rule->unreadable)
			nl_decode_dnat(nr, r->family, &r->anons, rule);
	}
out:
	nftnl_rule_free(nr);
	return NL_CB_OK;
}

/* ---- the snapshot ---- */

static void reader_reset(struct reader *r)
{
	rs_table_free(r->t);
	r->t = NULL;
	anon_sets_release(&r->anons);
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
	return nl_read_table_family(nl, NFPROTO_INET, name, true, out, genid);
}

int nl_read_table_family(struct nl *nl, uint8_t family, const char *name, bool named_elements, struct rs_table **out,
			 uint32_t *genid)
{
	struct reader r = { nl, name, family, NULL, { NULL, 0, 0 }, named_elements, false, 0, NULL };
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
		l->v[l->n].dormant = nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS) & NFT_TABLE_F_DORMANT;
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
