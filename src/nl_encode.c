#include <errno.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <linux/netfilter/nf_tables.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "nft_abi.h"
#include "tlswall/nl.h"
#include "tlswall/diff.h"
#include "tlswall/nl_encode.h"
#include "tlswall/ruleset.h"
#include "tlswall/selector.h"
#include "tlswall/test_hooks.h"
#include "tlswall/util.h"

/* Elements per NEWSETELEM message before libnftnl splits; small enough that a million-entry set is never held as
 * libnftnl objects all at once. */
#define ELEMS_PER_CHUNK 2048

struct encoder {
	size_t fault_at; /* the test build's fault injection (0: none) */
	uint16_t elem_msg; /* NFT_MSG_NEWSETELEM, or NFT_MSG_DELSETELEM while a delta removes elements */
	struct nl_batch *b;
	struct nl_origins *origins;
	const struct rs_table *t;
	uint32_t next_set_id;
	struct named_id {
		const char *name;
		uint32_t id;
	} *ids;
	size_t nids, capids;
	char *error;
	int err;
};

const struct nl_origin *nl_origins_find(const struct nl_origins *o, uint32_t seq)
{
	for (size_t i = 0; i < o->n; i++)
		if (o->v[i].seq == seq)
			return &o->v[i];
	return NULL;
}

void nl_origins_release(struct nl_origins *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->v[i].what);
	free(o->v);
	memset(o, 0, sizeof(*o));
}

static void origin(struct nl_origins *o, uint32_t seq, const char *file, unsigned line, const char *fmt, ...)
	TW_PRINTF(5, 6);

static void origin(struct nl_origins *o, uint32_t seq, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;

	if (!o)
		return;
	x_grow(&o->v, &o->cap, o->n + 1, sizeof(*o->v));
	va_start(ap, fmt);
	o->v[o->n].what = x_vasprintf(fmt, ap);
	va_end(ap);
	o->v[o->n].seq = seq;
	o->v[o->n].file = file;
	o->v[o->n].line = line;
	o->n++;
}

static void done(struct encoder *e);
/* ---- user data ---- */

static void put_comment(void *obj, void (*set)(void *, uint16_t, const void *, uint32_t), uint16_t attr,
			uint8_t type, const char *comment)
{
	struct nftnl_udata_buf *u = x_nonnull(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));

	nftnl_udata_put_strz(u, type, comment);
	set(obj, attr, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u));
	nftnl_udata_buf_free(u);
}

static void table_set_data(void *t, uint16_t attr, const void *data, uint32_t len)
{
	nftnl_table_set_data(t, attr, data, len);
}

static void chain_set_data(void *c, uint16_t attr, const void *data, uint32_t len)
{
	nftnl_chain_set_data(c, attr, data, len);
}

/* Every rule tlswall makes carries its mark in the rule's user data, next to the comment nft shows. nft ignores
 * user data types it does not know, so `nft list` prints the same text; the mark lets read-back tell rules added by
 * hand from tlswall's own. */
static void rule_udata(struct nftnl_rule *r, const char *comment)
{
	struct nftnl_udata_buf *u = x_nonnull(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));

	if (comment)
		nftnl_udata_put_strz(u, NFTNL_UDATA_RULE_COMMENT, comment);
	nftnl_udata_put_strz(u, UDATA_RULE_OWNER, OWNER_MARK);
	nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u));
	nftnl_udata_buf_free(u);
}

/* A named set's user data: its keys' byte order and, for the services map, nft's "typeof" description. */
static void named_set_udata(struct nftnl_set *s, const struct rs_set *named)
{
	struct nftnl_udata_buf *u = x_nonnull(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));
	struct nftnl_udata *typeof_nest, *data_nest;

	if (named->vmap && named->key != RS_KEY_PROTO_PORT) {
		/* an address or port map (a sharded list's dispatch, the published ports), as nft writes
		 * "type ipv4_addr : verdict" */
		nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER, BYTEORDER_BIG_ENDIAN);
		nftnl_udata_put_u32(u, NFTNL_UDATA_SET_DATABYTEORDER, 0);
		nftnl_udata_put_u32(u, NFTNL_UDATA_SET_DATA_INTERVAL, 0);
	} else if (named->vmap) {
		nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER, 0);
		nftnl_udata_put_u32(u, NFTNL_UDATA_SET_DATABYTEORDER, 0);
		typeof_nest = nftnl_udata_nest_start(u, NFTNL_UDATA_SET_KEY_TYPEOF);
		nftnl_udata_put_u32(u, NFTNL_UDATA_SET_TYPEOF_EXPR, EXPR_CONCAT);
		data_nest = nftnl_udata_nest_start(u, NFTNL_UDATA_SET_TYPEOF_DATA);
		nftnl_udata_nest_end(u, data_nest);
		nftnl_udata_nest_end(u, typeof_nest);
		nftnl_udata_put_u32(u, NFTNL_UDATA_SET_DATA_INTERVAL, 0);
	} else {
		nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER, BYTEORDER_BIG_ENDIAN);
	}
	if (named->comment)
		nftnl_udata_put_strz(u, NFTNL_UDATA_SET_COMMENT, named->comment);
	nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u));
	nftnl_udata_buf_free(u);
}

/* An anonymous set's user data: what its keys are ("typeof meta iifname", "typeof icmp type"), so nft prints its
 * elements by name. */
static void anon_set_udata(struct nftnl_set *s, const struct selector *sel, bool interval)
{
	struct nftnl_udata_buf *u = x_nonnull(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));
	struct nftnl_udata *typeof_nest, *data_nest;
	bool meta = sel->source == SEL_META;

	nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER,
			    sel->order == ORDER_HOST ? BYTEORDER_HOST_ENDIAN : BYTEORDER_BIG_ENDIAN);
	if (interval)
		nftnl_udata_put_u32(u, NFTNL_UDATA_SET_MERGE_ELEMENTS, 1);
	typeof_nest = nftnl_udata_nest_start(u, NFTNL_UDATA_SET_KEY_TYPEOF);
	nftnl_udata_put_u32(u, NFTNL_UDATA_SET_TYPEOF_EXPR, meta ? EXPR_META : EXPR_PAYLOAD);
	data_nest = nftnl_udata_nest_start(u, NFTNL_UDATA_SET_TYPEOF_DATA);
	if (meta) {
		nftnl_udata_put_u32(u, 0, sel->key);
	} else {
		nftnl_udata_put_u32(u, 0, sel->typeof_desc);
		nftnl_udata_put_u32(u, 1, sel->typeof_field);
	}
	nftnl_udata_nest_end(u, data_nest);
	nftnl_udata_nest_end(u, typeof_nest);
	nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u));
	nftnl_udata_buf_free(u);
}

/* ---- messages ---- */

#ifdef TLSWALL_TEST_HOOKS
/* The test build's fault: after message fault_at, a rule the kernel must refuse (its chain cannot exist), so tests
 * can show that a batch rejected part-way changes nothing. */
static void inject_fault(struct encoder *e)
{
	struct nftnl_rule *r;
	struct nftnl_expr *x;
	struct nlmsghdr *nlh;
	uint32_t seq;

	if (!e->fault_at || nl_batch_messages(e->b) != e->fault_at || !e->t)
		return;
	r = x_nonnull(nftnl_rule_alloc());
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, e->t->name);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "tlswall-test-fault: no such chain");
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	x = x_nonnull(nftnl_expr_alloc("counter"));
	nftnl_rule_add_expr(r, x);
	nlh = nl_batch_msg(e->b, NFT_MSG_NEWRULE, NFPROTO_INET, NLM_F_CREATE | NLM_F_APPEND, &seq);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nl_batch_msg_done(e->b);
	nftnl_rule_free(r);
	origin(e->origins, seq, NULL, 0, "the test hook's faulty rule (TLSWALL_TEST_FAULT_AT)");
}
#endif

static void done(struct encoder *e)
{
	nl_batch_msg_done(e->b);
#ifdef TLSWALL_TEST_HOOKS
	inject_fault(e);
#endif
}

static uint32_t emit_table(struct encoder *e, const char *name, const char *comment, uint16_t type, uint16_t flags)
{
	struct nftnl_table *t = x_nonnull(nftnl_table_alloc());
	struct nlmsghdr *nlh;
	uint32_t seq;

	nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	if (type == NFT_MSG_NEWTABLE)
		nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, 0);
	if (comment)
		put_comment(t, table_set_data, NFTNL_TABLE_USERDATA, NFTNL_UDATA_TABLE_COMMENT, comment);
	nlh = nl_batch_msg(e->b, type, NFPROTO_INET, flags, &seq);
	nftnl_table_nlmsg_build_payload(nlh, t);
	done(e);
	nftnl_table_free(t);
	return seq;
}

static void emit_chain(struct encoder *e, const struct rs_chain *c)
{
	struct nftnl_chain *nc = x_nonnull(nftnl_chain_alloc());
	struct nlmsghdr *nlh;
	uint32_t seq;

	nftnl_chain_set_str(nc, NFTNL_CHAIN_TABLE, e->t->name);
	nftnl_chain_set_str(nc, NFTNL_CHAIN_NAME, c->name);
	if (c->base) {
		nftnl_chain_set_u32(nc, NFTNL_CHAIN_HOOKNUM, c->hook);
		nftnl_chain_set_s32(nc, NFTNL_CHAIN_PRIO, c->priority);
		nftnl_chain_set_str(nc, NFTNL_CHAIN_TYPE, c->type ? c->type : "filter");
		nftnl_chain_set_u32(nc, NFTNL_CHAIN_POLICY, c->policy == RS_DROP ? NF_DROP : NF_ACCEPT);
	}
	if (c->comment)
		put_comment(nc, chain_set_data, NFTNL_CHAIN_USERDATA, NFTNL_UDATA_CHAIN_COMMENT, c->comment);
	nlh = nl_batch_msg(e->b, NFT_MSG_NEWCHAIN, NFPROTO_INET, NLM_F_CREATE, &seq);
	nftnl_chain_nlmsg_build_payload(nlh, nc);
	done(e);
	nftnl_chain_free(nc);
	origin(e->origins, seq, c->src_file, c->src_line, "chain %s", c->name);
}

static uint32_t set_id_of(const struct encoder *e, const char *name)
{
	for (size_t i = 0; i < e->nids; i++)
		if (strcmp(e->ids[i].name, name) == 0)
			return e->ids[i].id;
	return 0;
}

/* Sends the elements of s in messages of bounded size. */
static void emit_elements(struct encoder *e, struct nftnl_set *s, const char *what, const char *file, unsigned line)
{
	struct nftnl_set_elems_iter *it = x_nonnull(nftnl_set_elems_iter_create(s));

	for (;;) {
		struct nlmsghdr *nlh;
		uint32_t seq;
		int more;

		nlh = nl_batch_msg(e->b, e->elem_msg, NFPROTO_INET, e->elem_msg == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0,
				   &seq);
		/* 1 while elements remain (a message holds at most 64 KiB of them), 0 when all are in */
		more = nftnl_set_elems_nlmsg_build_payload_iter(nlh, it);
		done(e);
		origin(e->origins, seq, file, line, "%s elements of %s",
		       e->elem_msg == NFT_MSG_NEWSETELEM ? "adding" : "removing", what);
		if (more <= 0)
			break;
	}
	nftnl_set_elems_iter_destroy(it);
}

/* A set object with only what identifies it, for element messages. */
static struct nftnl_set *set_ref(struct encoder *e, const char *name, uint32_t id)
{
	struct nftnl_set *s = x_nonnull(nftnl_set_alloc());

	nftnl_set_set_str(s, NFTNL_SET_TABLE, e->t->name);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	if (id) /* a set made in this batch; sets that exist already are found by name */
		nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	return s;
}

static void set_verdict(struct nftnl_set_elem *el, const struct rs_verdict *v)
{
	nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_VERDICT, nft_verdict(v->code));
	if (v->chain)
		nftnl_set_elem_set_str(el, NFTNL_SET_ELEM_CHAIN, v->chain);
}

/* v: the verdict of a map's element (NULL: a set's, or a map element being removed) */
static void add_elem(struct nftnl_set *s, const void *key, uint32_t len, uint32_t flags, bool open,
		     const struct rs_verdict *v)
{
	struct nftnl_set_elem *el = x_nonnull(nftnl_set_elem_alloc());

	nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, key, len);
	if (v)
		set_verdict(el, v);
	if (flags)
		nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_FLAGS, flags);
	if (open) {
		struct nftnl_udata_buf *u = x_nonnull(nftnl_udata_buf_alloc(64));

		nftnl_udata_put_u32(u, NFTNL_UDATA_SET_ELEM_FLAGS, NFTNL_SET_ELEM_F_INTERVAL_OPEN);
		nftnl_set_elem_set(el, NFTNL_SET_ELEM_USERDATA, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u));
		nftnl_udata_buf_free(u);
	}
	nftnl_set_elem_add(s, el);
}

/* key + 1 as a big-endian number; false when key was all ones (the range runs to the end of the key space). */
static bool increment(uint8_t *key, size_t len)
{
	for (size_t i = len; i-- > 0;)
		if (++key[i] != 0)
			return true;
	return false;
}

static bool all_zero(const uint8_t *key, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (key[i])
			return false;
	return true;
}

/* Interval elements the way nft sends them: an end marker at zero unless the first range starts there, then
 * each range as a start and an end one past its last key, or a start flagged open when it runs to the top. */
struct interval_writer {
	struct encoder *e;
	struct nftnl_set *chunk;
	size_t in_chunk;
	const char *name;
	uint32_t id;
	const char *file;
	unsigned line;
	bool started;
	bool hold;    /* keep every element in chunk (an anonymous set sends them after its NEWSET) */
	size_t total;
};

static void interval_flush(struct interval_writer *w)
{
	if (!w->chunk)
		return;
	if (w->in_chunk)
		emit_elements(w->e, w->chunk, w->name, w->file, w->line);
	nftnl_set_free(w->chunk);
	w->chunk = NULL;
	w->in_chunk = 0;
}

static void interval_add(struct interval_writer *w, const uint8_t *key, size_t len, uint32_t flags, bool open,
			 const struct rs_verdict *v)
{
	if (!w->chunk)
		w->chunk = set_ref(w->e, w->name, w->id);
	add_elem(w->chunk, key, (uint32_t)len, flags, open, v);
	w->total++;
	if (++w->in_chunk >= ELEMS_PER_CHUNK && !w->hold)
		interval_flush(w);
}

/* v: the verdict of a map's range (on its start, as nft sends it), NULL for a set */
static void interval_range(struct interval_writer *w, const uint8_t *first, const uint8_t *last, size_t len,
			   const struct rs_verdict *v)
{
	uint8_t end[16];
	bool bounded;

	if (!w->started) {
		w->started = true;
		if (!all_zero(first, len)) {
			memset(end, 0, len);
			interval_add(w, end, len, NFT_SET_ELEM_INTERVAL_END, false, NULL);
		}
	}
	memcpy(end, last, len);
	bounded = increment(end, len);
	interval_add(w, first, len, 0, !bounded, v);
	if (bounded)
		interval_add(w, end, len, NFT_SET_ELEM_INTERVAL_END, false, NULL);
}

/* Sets and maps keyed by one field keep intervals as start and end elements; a concatenation's intervals are one
 * element with a key and a key end. */
static bool boundary_encoded(const struct rs_set *s)
{
	return s->interval && s->key != RS_KEY_PROTO_PORT;
}

/* A map element that is not an interval's boundary: a single key, or a concatenation, whose kernel layout keeps
 * each field in its own 4-byte register (with a key end when the map has intervals). */
static void add_map_elem(struct nftnl_set *chunk, const struct rs_set *rs, size_t i, bool with_verdict)
{
	const uint8_t *k = rs_set_elem(rs, i);
	struct nftnl_set_elem *el;

	if (rs->key != RS_KEY_PROTO_PORT) {
		add_elem(chunk, k, (uint32_t)rs_keylen(rs->key), 0, false, with_verdict && rs->vmap ? &rs->data[i] : NULL);
		return;
	}
	el = x_nonnull(nftnl_set_elem_alloc());
	{
		const uint8_t *last = rs->interval ? k + 3 : k;
		uint8_t key[8] = { k[0], 0, 0, 0, k[1], k[2], 0, 0 };
		uint8_t key_end[8] = { last[0], 0, 0, 0, last[1], last[2], 0, 0 };

		nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, key, sizeof(key));
		if (rs->interval)
			nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY_END, key_end, sizeof(key_end));
	}
	if (with_verdict && rs->vmap)
		set_verdict(el, &rs->data[i]);
	nftnl_set_elem_add(chunk, el);
}

static void emit_named_set(struct encoder *e, const struct rs_set *rs)
{
	struct nftnl_set *s = x_nonnull(nftnl_set_alloc());
	struct nlmsghdr *nlh;
	uint32_t seq, id = ++e->next_set_id;
	size_t klen = rs_keylen(rs->key);
	const struct set_key *key = set_key_of(rs->key);

	x_grow(&e->ids, &e->capids, e->nids + 1, sizeof(*e->ids));
	e->ids[e->nids].name = rs->name;
	e->ids[e->nids++].id = id;

	nftnl_set_set_str(s, NFTNL_SET_TABLE, e->t->name);
	nftnl_set_set_str(s, NFTNL_SET_NAME, rs->name);
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, key->datatype);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, key->kernel_len);
	if (rs->vmap && (rs->key == RS_KEY_IPV4 || rs->key == RS_KEY_IPV6)) {
		/* an address map: always of ranges (a sharded list's dispatch) */
		nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_MAP | NFT_SET_INTERVAL);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 0);
	} else if (rs->vmap) {
		uint32_t flags = NFT_SET_MAP;

		if (rs->interval && !boundary_encoded(rs)) {
			static const uint8_t field_len[] = { 1, 2 };

			flags |= NFT_SET_INTERVAL | NFT_SET_CONCAT;
			nftnl_set_set_data(s, NFTNL_SET_DESC_CONCAT, field_len, sizeof(field_len));
		} else if (rs->interval) {
			flags |= NFT_SET_INTERVAL;
		}
		nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 16);
	} else {
		nftnl_set_set_u32(s, NFTNL_SET_FLAGS, rs->interval ? NFT_SET_INTERVAL : 0);
	}
	named_set_udata(s, rs);
	nlh = nl_batch_msg(e->b, NFT_MSG_NEWSET, NFPROTO_INET, NLM_F_CREATE, &seq);
	nftnl_set_nlmsg_build_payload(nlh, s);
	done(e);
	nftnl_set_free(s);
	origin(e->origins, seq, rs->src_file, rs->src_line, "%s %s", rs->vmap ? "map" : "set", rs->name);

	if (!boundary_encoded(rs)) {
		struct nftnl_set *chunk = set_ref(e, rs->name, id);

		for (size_t i = 0; i < rs->nelem; i++)
			add_map_elem(chunk, rs, i, true);
		if (rs->nelem)
			emit_elements(e, chunk, rs->name, rs->src_file, rs->src_line);
		nftnl_set_free(chunk);
		return;
	}

	struct interval_writer w = { e, NULL, 0, rs->name, id, rs->src_file, rs->src_line, false, false, 0 };

	for (size_t i = 0; i < rs->nelem; i++) {
		const uint8_t *el = rs_set_elem(rs, i);

		interval_range(&w, el, el + klen, klen, rs->vmap ? &rs->data[i] : NULL);
	}
	interval_flush(&w);
}

/* ---- rules ---- */

struct rule_builder {
	struct encoder *e;
	struct nftnl_rule *r;
	const struct rs_chain *chain;
	uint8_t nfproto, l4proto; /* dependencies already matched in this rule */
};

static struct nftnl_expr *expr(struct rule_builder *rb, const char *name)
{
	struct nftnl_expr *x = x_nonnull(nftnl_expr_alloc(name));

	nftnl_rule_add_expr(rb->r, x);
	return x;
}

static void cmp(struct rule_builder *rb, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *x = expr(rb, "cmp");

	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(x, NFTNL_EXPR_CMP_DATA, data, len);
}

static void bitwise(struct rule_builder *rb, const void *mask, uint32_t len)
{
	static const uint8_t zero[16];
	struct nftnl_expr *x = expr(rb, "bitwise");

	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(x, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(x, NFTNL_EXPR_BITWISE_XOR, zero, len);
}

static void lookup(struct rule_builder *rb, const char *set, uint32_t id, bool vmap)
{
	struct nftnl_expr *x = expr(rb, "lookup");

	nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_str(x, NFTNL_EXPR_LOOKUP_SET, set);
	nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_SET_ID, id);
	if (vmap)
		nftnl_expr_set_u32(x, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
}

/* Loads what sel reads into register dreg. */
static void load(struct rule_builder *rb, const struct selector *sel, const struct rs_match *m, uint32_t dreg)
{
	struct nftnl_expr *x;

	switch (sel->source) {
	case SEL_META:
		x = expr(rb, "meta");
		nftnl_expr_set_u32(x, NFTNL_EXPR_META_KEY, sel->key);
		nftnl_expr_set_u32(x, NFTNL_EXPR_META_DREG, dreg);
		break;
	case SEL_CT:
		x = expr(rb, "ct");
		nftnl_expr_set_u32(x, NFTNL_EXPR_CT_KEY, sel->key);
		nftnl_expr_set_u32(x, NFTNL_EXPR_CT_DREG, dreg);
		if (sel->ct_dir >= 0)
			nftnl_expr_set_u8(x, NFTNL_EXPR_CT_DIR, (uint8_t)sel->ct_dir);
		break;
	case SEL_FIB:
		x = expr(rb, "fib");
		nftnl_expr_set_u32(x, NFTNL_EXPR_FIB_FLAGS, sel->fib_flags);
		nftnl_expr_set_u32(x, NFTNL_EXPR_FIB_RESULT, sel->key);
		nftnl_expr_set_u32(x, NFTNL_EXPR_FIB_DREG, dreg);
		break;
	case SEL_PAYLOAD:
	case SEL_RAW_PAYLOAD:
		x = expr(rb, "payload");
		nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_DREG, dreg);
		nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_BASE, sel->base);
		nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_OFFSET, sel->source == SEL_PAYLOAD ? sel->offset : m->offset / 8);
		nftnl_expr_set_u32(x, NFTNL_EXPR_PAYLOAD_LEN, sel->source == SEL_PAYLOAD ? sel->len : m->length / 8);
		break;
	case SEL_CONCAT:
		break;
	}
}

/* A dependency nft adds implicitly ("ip saddr" holds only for IPv4): one byte compared, once per rule. */
static void need(struct rule_builder *rb, enum rs_selector id, uint8_t value, uint8_t *have)
{
	if (!value || *have == value)
		return;
	load(rb, selector_of(id), NULL, NFT_REG_1);
	cmp(rb, NFT_CMP_EQ, &value, 1);
	*have = value;
}

/* A number as the kernel holds it in a register of width bytes. */
static void number_bytes(const struct selector *sel, uint32_t width, uint32_t num, uint8_t *out)
{
	memset(out, 0, width);
	if (sel->order == ORDER_BIG) {
		for (uint32_t i = 0; i < width && i < 4; i++)
			out[width - 1 - i] = (uint8_t)(num >> (8 * i));
	} else if (width == 1) {
		out[0] = (uint8_t)num;
	} else if (width == 2) {
		uint16_t v = (uint16_t)num;

		memcpy(out, &v, 2);
	} else {
		memcpy(out, &num, width < 4 ? width : 4);
	}
}

/* The bytes compared for value v; 0 with rb->e->error set when it cannot be encoded. A name with a trailing '*'
 * compares only its prefix (what "eth*" means to nft), unless whole is set (a set element holds the whole key). */
static uint32_t value_bytes(struct rule_builder *rb, const struct selector *sel, const struct rs_match *m,
			    const struct rs_value *v, bool whole, uint8_t out[RS_IFNAMSIZ])
{
	uint32_t width = selector_width(sel, m);
	size_t n = strlen(v->str);
	unsigned idx;

	memset(out, 0, RS_IFNAMSIZ);
	switch (sel->format) {
	case FMT_IFINDEX:
		idx = if_nametoindex(v->str);
		if (!idx) {
			rb->e->error = x_asprintf("interface \"%s\" does not exist in this network namespace", v->str);
			return 0;
		}
		memcpy(out, &idx, 4);
		return 4;
	case FMT_IFNAME:
		memcpy(out, v->str, n);
		if (!whole && n && v->str[n - 1] == '*') {
			out[n - 1] = 0;
			return (uint32_t)(n - 1);
		}
		return RS_IFNAMSIZ;
	default:
		number_bytes(sel, width, v->num, out);
		return width;
	}
}

/* An anonymous constant set, sent just before the rule that uses it, as nft does for "{ a, b }". Names with a
 * wildcard make it an interval set: "eth*" is [eth, eti), "wg0" is [wg0, wg0 + 1). */
static uint32_t anon_set(struct rule_builder *rb, const struct selector *sel, const struct rs_match *m, char **name)
{
	struct encoder *e = rb->e;
	struct nftnl_set *s = x_nonnull(nftnl_set_alloc());
	struct nftnl_set *elems;
	struct nlmsghdr *nlh;
	uint32_t seq, id = ++e->next_set_id, keylen = selector_width(sel, m);
	bool interval = false;
	size_t nkernel = 0;

	for (size_t i = 0; i < m->nvals; i++)
		interval |= sel->format == FMT_IFNAME && strchr(m->vals[i].str, '*') != NULL;

	*name = x_strdup("__set%d");
	if (interval) {
		struct interval_writer w = { e, NULL, 0, *name, id, rb->chain->src_file, rb->chain->src_line, false, true, 0 };

		for (size_t i = 0; i < m->nvals; i++) {
			uint8_t first[RS_IFNAMSIZ] = { 0 }, last[RS_IFNAMSIZ] = { 0 };
			size_t n = strlen(m->vals[i].str);

			if (n && m->vals[i].str[n - 1] == '*') {
				memcpy(first, m->vals[i].str, n - 1);
				memset(last, 0xff, sizeof(last));
				memcpy(last, m->vals[i].str, n - 1);
			} else {
				memcpy(first, m->vals[i].str, n);
				memcpy(last, first, sizeof(last));
			}
			interval_range(&w, first, last, RS_IFNAMSIZ, NULL);
		}
		nkernel = w.total;
		elems = w.chunk;
	} else {
		elems = set_ref(e, *name, id);
		for (size_t i = 0; i < m->nvals; i++) {
			uint8_t key[RS_IFNAMSIZ];

			if (!value_bytes(rb, sel, m, &m->vals[i], true, key))
				break;
			add_elem(elems, key, keylen, 0, false, NULL);
		}
		nkernel = m->nvals;
	}

	nftnl_set_set_str(s, NFTNL_SET_TABLE, e->t->name);
	nftnl_set_set_str(s, NFTNL_SET_NAME, *name);
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | (interval ? NFT_SET_INTERVAL : 0));
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, sel->datatype);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, keylen);
	nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, (uint32_t)nkernel);
	anon_set_udata(s, sel, interval);
	nlh = nl_batch_msg(e->b, NFT_MSG_NEWSET, NFPROTO_INET, NLM_F_CREATE, &seq);
	nftnl_set_nlmsg_build_payload(nlh, s);
	done(e);
	nftnl_set_free(s);
	origin(e->origins, seq, rb->chain->src_file, rb->chain->src_line, "anonymous set in chain %s", rb->chain->name);
	if (elems)
		emit_elements(e, elems, "an anonymous set", rb->chain->src_file, rb->chain->src_line);
	nftnl_set_free(elems);
	return id;
}

/* A concatenation keeps each member in a 32-bit register of its own, starting at register 1. */
static void load_concat(struct rule_builder *rb, const struct selector *sel, const struct rs_match *m)
{
	const struct rs_set *set = rs_table_find_set(rb->e->t, m->set);

	for (size_t i = 0; i < SELECTOR_MAX_MEMBERS; i++) {
		const struct selector *member = selector_of(sel->members[i]);

		load(rb, member, m, i == 0 ? NFT_REG_1 : NFT_REG32_00 + (uint32_t)i);
		/* nft emits this (a no-op for a one-byte field) after a host-order member of an interval concatenation */
		if (set && set->interval && member->order == ORDER_HOST) {
			struct nftnl_expr *x = expr(rb, "byteorder");

			nftnl_expr_set_u32(x, NFTNL_EXPR_BYTEORDER_SREG, NFT_REG_1);
			nftnl_expr_set_u32(x, NFTNL_EXPR_BYTEORDER_DREG, NFT_REG_1);
			nftnl_expr_set_u32(x, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
			nftnl_expr_set_u32(x, NFTNL_EXPR_BYTEORDER_LEN, member->width);
			nftnl_expr_set_u32(x, NFTNL_EXPR_BYTEORDER_SIZE, 2);
		}
	}
}

static int encode_match(struct rule_builder *rb, const struct rs_match *m)
{
	const struct selector *sel = selector_of(m->sel);
	uint32_t op = m->op == RS_OP_NEQ ? NFT_CMP_NEQ : NFT_CMP_EQ;
	uint32_t width = selector_width(sel, m), len;
	uint8_t bytes[RS_IFNAMSIZ];

	need(rb, RS_SEL_NFPROTO, sel->nfproto, &rb->nfproto);
	need(rb, RS_SEL_L4PROTO, sel->l4proto, &rb->l4proto);
	if (sel->source == SEL_CONCAT)
		load_concat(rb, sel, m);
	else
		load(rb, sel, m, NFT_REG_1);
	switch (m->op) {
	case RS_OP_SET:
	case RS_OP_VMAP:
		lookup(rb, m->set, set_id_of(rb->e, m->set), m->op == RS_OP_VMAP);
		return 0;
	case RS_OP_PRESENT:
		/* whatever the bytes are: the load is what matters */
		memset(bytes, 0, sizeof(bytes));
		cmp(rb, NFT_CMP_GTE, bytes, width);
		return 0;
	case RS_OP_FLAGS:
		/* any of the bits: (value & bits) != 0 */
		number_bytes(sel, width, m->vals[0].num, bytes);
		bitwise(rb, bytes, width);
		memset(bytes, 0, sizeof(bytes));
		cmp(rb, NFT_CMP_NEQ, bytes, width);
		return 0;
	case RS_OP_EQ:
	case RS_OP_NEQ:
		break;
	}
	if (m->mask) {
		number_bytes(sel, width, m->mask, bytes);
		bitwise(rb, bytes, width);
	}
	if (m->nvals == 1) {
		len = value_bytes(rb, sel, m, &m->vals[0], false, bytes);
		if (!len)
			return -ENODEV;
		cmp(rb, op, bytes, len);
		return 0;
	}
	if (m->op == RS_OP_NEQ || !sel->datatype) {
		rb->e->error = x_asprintf("chain %s: a match on %s against several values cannot be encoded", rb->chain->name,
					  sel->name);
		return -EINVAL;
	}
	/* several values: an anonymous set; built before this rule's message, which refers to it */
	{
		char *name;
		uint32_t id = anon_set(rb, sel, m, &name);

		lookup(rb, name, id, false);
		free(name);
	}
	return rb->e->error ? -ENODEV : 0;
}

static void encode_stmt(struct rule_builder *rb, const struct rs_stmt *st)
{
	struct nftnl_expr *x;

	switch (st->kind) {
	case RS_STMT_MATCH:
		break;
	case RS_STMT_COUNTER:
		x = expr(rb, "counter");
		nftnl_expr_set_u64(x, NFTNL_EXPR_CTR_PACKETS, 0);
		nftnl_expr_set_u64(x, NFTNL_EXPR_CTR_BYTES, 0);
		break;
	case RS_STMT_LIMIT:
		x = expr(rb, "limit");
		nftnl_expr_set_u64(x, NFTNL_EXPR_LIMIT_RATE, st->u.limit.rate);
		nftnl_expr_set_u64(x, NFTNL_EXPR_LIMIT_UNIT, nft_limit_unit(st->u.limit.unit));
		nftnl_expr_set_u32(x, NFTNL_EXPR_LIMIT_BURST, st->u.limit.burst);
		nftnl_expr_set_u32(x, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
		nftnl_expr_set_u32(x, NFTNL_EXPR_LIMIT_FLAGS, 0);
		break;
	case RS_STMT_LOG:
		x = expr(rb, "log");
		if (st->u.log.prefix)
			nftnl_expr_set_str(x, NFTNL_EXPR_LOG_PREFIX, st->u.log.prefix);
		break;
	case RS_STMT_VERDICT:
		x = expr(rb, "immediate");
		nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(x, NFTNL_EXPR_IMM_VERDICT, nft_verdict(st->u.verdict.code));
		if (st->u.verdict.chain)
			nftnl_expr_set_str(x, NFTNL_EXPR_IMM_CHAIN, st->u.verdict.chain);
		break;
	case RS_STMT_CT_MARK_OR:
	case RS_STMT_CT_MARK_CLEAR: {
		/* as nft writes "ct mark set ct mark | bits": (mark & ~bits) ^ bits; and "& ~bits": (mark & ~bits) ^ 0 */
		uint32_t mask = ~st->u.mark_bits, xor = st->kind == RS_STMT_CT_MARK_OR ? st->u.mark_bits : 0;

		x = expr(rb, "ct");
		nftnl_expr_set_u32(x, NFTNL_EXPR_CT_KEY, NFT_CT_MARK);
		nftnl_expr_set_u32(x, NFTNL_EXPR_CT_DREG, NFT_REG_1);
		x = expr(rb, "bitwise");
		nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(x, NFTNL_EXPR_BITWISE_LEN, 4);
		nftnl_expr_set(x, NFTNL_EXPR_BITWISE_MASK, &mask, 4);
		nftnl_expr_set(x, NFTNL_EXPR_BITWISE_XOR, &xor, 4);
		x = expr(rb, "ct");
		nftnl_expr_set_u32(x, NFTNL_EXPR_CT_KEY, NFT_CT_MARK);
		nftnl_expr_set_u32(x, NFTNL_EXPR_CT_SREG, NFT_REG_1);
		break;
	}
	case RS_STMT_REJECT:
		x = expr(rb, "reject");
		if (st->u.reject == RS_REJECT_TCP_RESET) {
			nftnl_expr_set_u32(x, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_TCP_RST);
			nftnl_expr_set_u8(x, NFTNL_EXPR_REJECT_CODE, 0);
		} else {
			nftnl_expr_set_u32(x, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_ICMPX_UNREACH);
			nftnl_expr_set_u8(x, NFTNL_EXPR_REJECT_CODE, NFT_REJECT_ICMPX_ADMIN_PROHIBITED);
		}
		break;
	}
}

static int emit_rule(struct encoder *e, const struct rs_chain *c, const struct rs_rule *r, size_t index)
{
	struct rule_builder rb = { e, x_nonnull(nftnl_rule_alloc()), c, 0, 0 };
	struct nlmsghdr *nlh;
	uint32_t seq;
	int ret = 0;

	if (r->unreadable) {
		nftnl_rule_free(rb.r);
		e->error = x_asprintf("rule %zu of chain %s holds expressions tlswall cannot re-create", index + 1,
				      c->name);
		return -EINVAL;
	}
	nftnl_rule_set_str(rb.r, NFTNL_RULE_TABLE, e->t->name);
	nftnl_rule_set_str(rb.r, NFTNL_RULE_CHAIN, c->name);
	nftnl_rule_set_u32(rb.r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	for (size_t i = 0; i < r->nstmts && ret == 0; i++) {
		if (r->stmts[i].kind == RS_STMT_MATCH)
			ret = encode_match(&rb, &r->stmts[i].u.match);
		else
			encode_stmt(&rb, &r->stmts[i]);
	}
	if (ret) {
		nftnl_rule_free(rb.r);
		return ret;
	}
	rule_udata(rb.r, r->comment);
	nlh = nl_batch_msg(e->b, NFT_MSG_NEWRULE, NFPROTO_INET, NLM_F_CREATE | NLM_F_APPEND, &seq);
	nftnl_rule_nlmsg_build_payload(nlh, rb.r);
	done(e);
	nftnl_rule_free(rb.r);
	origin(e->origins, seq, r->src_file ? r->src_file : c->src_file, r->src_file ? r->src_line : c->src_line,
	       "rule %zu of chain %s", index + 1, c->name);
	return 0;
}

int nl_encode_replace(struct nl_batch *b, const struct rs_table *t, struct nl_origins *origins, char **error)
{
	struct encoder e = { test_hook_fault_at(), NFT_MSG_NEWSETELEM, b, origins, t, 0, NULL, 0, 0, NULL, 0 };
	uint32_t seq;
	int ret = 0;

	/* "table" then "delete table": works whether or not the table exists, in one transaction */
	seq = emit_table(&e, t->name, NULL, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	origin(origins, seq, NULL, 0, "table inet %s", t->name);
	seq = emit_table(&e, t->name, NULL, NFT_MSG_DELTABLE, 0);
	origin(origins, seq, NULL, 0, "deleting table inet %s", t->name);
	seq = emit_table(&e, t->name, t->comment, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL);
	origin(origins, seq, NULL, 0, "table inet %s", t->name);
	/* chains first: map elements and rules jump to them */
	for (size_t i = 0; i < t->nchains; i++)
		emit_chain(&e, t->chains[i]);
	for (size_t i = 0; i < t->nsets; i++)
		emit_named_set(&e, t->sets[i]);
	for (size_t i = 0; i < t->nchains && ret == 0; i++)
		for (size_t j = 0; j < t->chains[i]->nrules && ret == 0; j++)
			ret = emit_rule(&e, t->chains[i], t->chains[i]->rules[j], j);
	free(e.ids);
	if (ret && error)
		*error = e.error;
	else
		free(e.error);
	return ret;
}

void nl_encode_delete_table(struct nl_batch *b, const char *name, struct nl_origins *origins)
{
	struct encoder e = { 0, NFT_MSG_NEWSETELEM, b, origins, NULL, 0, NULL, 0, 0, NULL, 0 };
	/* "table" first: the deletion cannot fail for want of the table */
	uint32_t seq = emit_table(&e, name, NULL, NFT_MSG_NEWTABLE, NLM_F_CREATE);

	origin(origins, seq, NULL, 0, "table inet %s", name);
	seq = emit_table(&e, name, NULL, NFT_MSG_DELTABLE, 0);
	origin(origins, seq, NULL, 0, "deleting table inet %s", name);
}

/* nft puts an end marker at key zero before the first range, unless that range starts at zero. */
static bool needs_zero_marker(const struct rs_set *s)
{
	return s && boundary_encoded(s) && s->nelem && !all_zero(rs_set_elem(s, 0), rs_keylen(s->key));
}

/* One direction of one set's change: ranges (or map elements) with the message type the encoder is set to. */
static void delta_elements(struct encoder *e, const struct rs_set *s, const size_t *idx, size_t n, bool marker)
{
	size_t klen = rs_keylen(s->key);

	if (!boundary_encoded(s)) {
		struct nftnl_set *chunk = set_ref(e, s->name, 0);

		for (size_t i = 0; i < n; i++) {
			add_map_elem(chunk, s, idx[i], e->elem_msg == NFT_MSG_NEWSETELEM);
			if ((i + 1) % ELEMS_PER_CHUNK == 0 || i + 1 == n) {
				emit_elements(e, chunk, s->name, s->src_file, s->src_line);
				nftnl_set_free(chunk);
				chunk = set_ref(e, s->name, 0);
			}
		}
		nftnl_set_free(chunk);
		return;
	}

	struct interval_writer w = { e, NULL, 0, s->name, 0, s->src_file, s->src_line, true, false, 0 };
	uint8_t zero[16] = { 0 };

	if (marker)
		interval_add(&w, zero, klen, NFT_SET_ELEM_INTERVAL_END, false, NULL);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *el = rs_set_elem(s, idx[i]);

		interval_range(&w, el, el + klen, klen,
			       s->vmap && e->elem_msg == NFT_MSG_NEWSETELEM ? &s->data[idx[i]] : NULL);
	}
	interval_flush(&w);
}

int nl_encode_delta(struct nl_batch *b, const struct rs_table *planned, const struct diff *d,
		    struct nl_origins *origins)
{
	struct encoder e = { test_hook_fault_at(), NFT_MSG_DELSETELEM, b, origins, planned, 0, NULL, 0, 0, NULL, 0 };

	/* removals first: a range that grows is taken out and put back, and its old markers must be gone before */
	for (size_t i = 0; i < d->n; i++) {
		const struct change *c = &d->v[i];
		bool drop_marker = needs_zero_marker(c->live_set) && !needs_zero_marker(c->planned_set);

		if (c->kind == CHANGE_ELEMS && (c->nremoved || drop_marker))
			delta_elements(&e, c->live_set, c->removed, c->nremoved, drop_marker);
	}
	e.elem_msg = NFT_MSG_NEWSETELEM;
	for (size_t i = 0; i < d->n; i++) {
		const struct change *c = &d->v[i];
		bool add_marker = !needs_zero_marker(c->live_set) && needs_zero_marker(c->planned_set);

		if (c->kind == CHANGE_ELEMS && (c->nadded || add_marker))
			delta_elements(&e, c->planned_set, c->added, c->nadded, add_marker);
	}
	free(e.ids);
	return 0;
}
