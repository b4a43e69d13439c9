#include <stdlib.h>
#include <string.h>

#include "tlswall/ruleset.h"
#include "tlswall/selector.h"
#include "tlswall/util.h"

size_t rs_keylen(enum rs_keytype type)
{
	return set_key_of(type)->len;
}

size_t rs_set_stride(const struct rs_set *s)
{
	return rs_keylen(s->key) * (s->interval ? 2 : 1);
}

const uint8_t *rs_set_elem(const struct rs_set *s, size_t i)
{
	return s->elems + i * rs_set_stride(s);
}

/* A borrowed array becomes the set's own before anything writes to it. */
static void own_elems(struct rs_set *s)
{
	uint8_t *copy;

	if (!s->elems_borrowed)
		return;
	copy = x_reallocarray(NULL, s->nelem ? s->nelem : 1, rs_set_stride(s));
	if (s->nelem)
		memcpy(copy, s->elems, s->nelem * rs_set_stride(s));
	s->elems = copy;
	s->capelem = s->nelem ? s->nelem : 1;
	s->elems_borrowed = false;
}

void rs_set_borrow(struct rs_set *s, const uint8_t *elems, size_t n)
{
	if (!s->elems_borrowed)
		free(s->elems);
	s->elems = (uint8_t *)elems; /* never written: rs_set_add and rs_set_sort copy first */
	s->nelem = s->capelem = n;
	s->elems_borrowed = true;
}

void rs_set_add(struct rs_set *s, const uint8_t *first, const uint8_t *last, const struct rs_verdict *data)
{
	size_t klen = rs_keylen(s->key), stride = rs_set_stride(s);
	size_t cap = s->capelem;
	uint8_t *e;

	s->digest_known = false;
	own_elems(s);
	x_grow(&s->elems, &s->capelem, s->nelem + 1, stride);
	if (s->vmap)
		x_grow(&s->data, &cap, s->nelem + 1, sizeof(*s->data));
	e = s->elems + s->nelem * stride;
	memcpy(e, first, klen);
	if (s->interval)
		memcpy(e + klen, last ? last : first, klen);
	if (s->vmap) {
		s->data[s->nelem].code = data->code;
		s->data[s->nelem].chain = data->chain ? x_strdup(data->chain) : NULL;
	}
	s->nelem++;
}

/* qsort cannot carry the stride, and sets are sorted one at a time: a file-scope width is enough. */
static size_t sort_keylen;

static int cmp_elem(const void *a, const void *b)
{
	return memcmp(a, b, sort_keylen);
}

struct indexed {
	const uint8_t *key;
	size_t index;
};

static int cmp_indexed(const void *a, const void *b)
{
	const struct indexed *x = a, *y = b;

	return memcmp(x->key, y->key, sort_keylen);
}

void rs_set_sort(struct rs_set *s)
{
	size_t stride = rs_set_stride(s);

	if (s->nelem < 2)
		return;
	s->digest_known = false;
	own_elems(s);
	sort_keylen = rs_keylen(s->key);
	if (!s->vmap) {
		qsort(s->elems, s->nelem, stride, cmp_elem);
		return;
	}
	/* maps: sort keys and their verdicts together */
	struct indexed *idx = x_calloc(s->nelem, sizeof(*idx));
	uint8_t *elems = x_calloc(s->nelem, stride);
	struct rs_verdict *data = x_calloc(s->nelem, sizeof(*data));

	for (size_t i = 0; i < s->nelem; i++) {
		idx[i].key = s->elems + i * stride;
		idx[i].index = i;
	}
	qsort(idx, s->nelem, sizeof(*idx), cmp_indexed);
	for (size_t i = 0; i < s->nelem; i++) {
		memcpy(elems + i * stride, idx[i].key, stride);
		data[i] = s->data[idx[i].index];
	}
	free(idx);
	free(s->elems);
	free(s->data);
	s->elems = elems;
	s->data = data;
	s->capelem = s->nelem;
}

long rs_set_lookup(const struct rs_set *s, const uint8_t *key)
{
	size_t klen = rs_keylen(s->key), lo = 0, hi = s->nelem;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const uint8_t *e = rs_set_elem(s, mid);
		const uint8_t *last = s->interval ? e + klen : e;

		if (memcmp(key, e, klen) < 0)
			hi = mid;
		else if (memcmp(key, last, klen) > 0)
			lo = mid + 1;
		else
			return (long)mid;
	}
	return -1;
}

struct rs_table *rs_table_alloc(const char *name)
{
	struct rs_table *t = x_calloc(1, sizeof(*t));

	t->name = x_strdup(name);
	return t;
}

const char *rs_table_file(struct rs_table *t, const char *file)
{
	if (!file)
		return NULL;
	for (size_t i = 0; i < t->nfiles; i++)
		if (strcmp(t->files[i], file) == 0)
			return t->files[i];
	t->files = x_reallocarray(t->files, t->nfiles + 1, sizeof(*t->files));
	return t->files[t->nfiles++] = x_strdup(file);
}

void rs_set_free(struct rs_set *s)
{
	if (!s)
		return;
	if (s->data)
		for (size_t i = 0; i < s->nelem; i++)
			free(s->data[i].chain);
	free(s->data);
	if (!s->elems_borrowed)
		free(s->elems);
	free(s->name);
	free(s->comment);
	free(s->foreign_text);
	free(s);
}

void rs_stmt_release(struct rs_stmt *st)
{
	switch (st->kind) {
	case RS_STMT_MATCH:
		free(st->u.match.vals);
		free(st->u.match.set);
		break;
	case RS_STMT_LOG:
		free(st->u.log.prefix);
		break;
	case RS_STMT_VERDICT:
		free(st->u.verdict.chain);
		break;
	default:
		break;
	}
}

void rs_rule_free(struct rs_rule *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nstmts; i++)
		rs_stmt_release(&r->stmts[i]);
	free(r->stmts);
	free(r->comment);
	free(r->raw_text);
	if (r->dnat)
		free(r->dnat->ports);
	free(r->dnat);
	free(r);
}

void rs_chain_free(struct rs_chain *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nrules; i++)
		rs_rule_free(c->rules[i]);
	free(c->rules);
	free(c->name);
	free(c->comment);
	free(c->type);
	free(c);
}

void rs_table_free(struct rs_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nsets; i++)
		rs_set_free(t->sets[i]);
	for (size_t i = 0; i < t->nchains; i++)
		rs_chain_free(t->chains[i]);
	for (size_t i = 0; i < t->nfiles; i++)
		free(t->files[i]);
	free(t->files);
	free(t->sets);
	free(t->chains);
	free(t->name);
	free(t->comment);
	mapping_release(&t->held);
	free(t);
}

struct rs_set *rs_table_add_set(struct rs_table *t, const char *name, enum rs_keytype key, bool interval)
{
	struct rs_set *s = x_calloc(1, sizeof(*s));

	s->name = x_strdup(name);
	s->key = key;
	s->interval = interval;
	x_grow(&t->sets, &t->capsets, t->nsets + 1, sizeof(*t->sets));
	t->sets[t->nsets++] = s;
	return s;
}

struct rs_chain *rs_table_add_chain(struct rs_table *t, const char *name)
{
	struct rs_chain *c = x_calloc(1, sizeof(*c));

	c->name = x_strdup(name);
	c->policy = RS_ACCEPT;
	x_grow(&t->chains, &t->capchains, t->nchains + 1, sizeof(*t->chains));
	t->chains[t->nchains++] = c;
	return c;
}

struct rs_set *rs_table_find_set(const struct rs_table *t, const char *name)
{
	size_t from = 0;

	return rs_table_find_set_from(t, name, &from);
}

/* From *cursor on, round to where it started: lookups made in the table's own order find each name at the first
 * compare, where a search from the start made reading a table of a thousand shards quadratic. */
struct rs_set *rs_table_find_set_from(const struct rs_table *t, const char *name, size_t *cursor)
{
	for (size_t k = 0; k < t->nsets; k++) {
		size_t i = (*cursor + k) % t->nsets;

		if (strcmp(t->sets[i]->name, name) == 0) {
			*cursor = i + 1;
			return t->sets[i];
		}
	}
	return NULL;
}

struct rs_chain *rs_table_find_chain(const struct rs_table *t, const char *name)
{
	size_t from = 0;

	return rs_table_find_chain_from(t, name, &from);
}

struct rs_chain *rs_table_find_chain_from(const struct rs_table *t, const char *name, size_t *cursor)
{
	for (size_t k = 0; k < t->nchains; k++) {
		size_t i = (*cursor + k) % t->nchains;

		if (strcmp(t->chains[i]->name, name) == 0) {
			*cursor = i + 1;
			return t->chains[i];
		}
	}
	return NULL;
}

struct rs_rule *rs_chain_add_rule(struct rs_chain *c)
{
	struct rs_rule *r = x_calloc(1, sizeof(*r));

	x_grow(&c->rules, &c->caprules, c->nrules + 1, sizeof(*c->rules));
	c->rules[c->nrules++] = r;
	return r;
}

struct rs_stmt *rs_rule_add(struct rs_rule *r, enum rs_stmt_kind kind)
{
	struct rs_stmt *st;

	r->stmts = x_reallocarray(r->stmts, r->nstmts + 1, sizeof(*r->stmts));
	st = &r->stmts[r->nstmts++];
	memset(st, 0, sizeof(*st));
	st->kind = kind;
	return st;
}

struct rs_match *rs_rule_match(struct rs_rule *r, enum rs_selector sel, enum rs_op op)
{
	struct rs_stmt *st = rs_rule_add(r, RS_STMT_MATCH);

	st->u.match.sel = sel;
	st->u.match.op = op;
	return &st->u.match;
}

static struct rs_value *add_value(struct rs_match *m)
{
	struct rs_value *v;

	m->vals = x_reallocarray(m->vals, m->nvals + 1, sizeof(*m->vals));
	v = &m->vals[m->nvals++];
	memset(v, 0, sizeof(*v));
	return v;
}

void rs_match_add_num(struct rs_match *m, uint32_t num)
{
	add_value(m)->num = num;
}

void rs_match_add_str(struct rs_match *m, const char *s)
{
	struct rs_value *v = add_value(m);

	strncpy(v->str, s, sizeof(v->str) - 1);
}

void rs_rule_counter(struct rs_rule *r)
{
	rs_rule_add(r, RS_STMT_COUNTER);
}

void rs_rule_verdict(struct rs_rule *r, enum rs_verdict_code code, const char *chain)
{
	struct rs_stmt *st = rs_rule_add(r, RS_STMT_VERDICT);

	st->u.verdict.code = code;
	st->u.verdict.chain = chain ? x_strdup(chain) : NULL;
}

void rs_stmt_copy(struct rs_stmt *dst, const struct rs_stmt *src)
{
	*dst = *src;
	switch (src->kind) {
	case RS_STMT_MATCH:
		dst->u.match.vals = NULL;
		if (src->u.match.nvals) {
			dst->u.match.vals = x_reallocarray(NULL, src->u.match.nvals, sizeof(*src->u.match.vals));
			memcpy(dst->u.match.vals, src->u.match.vals, src->u.match.nvals * sizeof(*src->u.match.vals));
		}
		dst->u.match.set = src->u.match.set ? x_strdup(src->u.match.set) : NULL;
		break;
	case RS_STMT_LOG:
		dst->u.log.prefix = src->u.log.prefix ? x_strdup(src->u.log.prefix) : NULL;
		break;
	case RS_STMT_VERDICT:
		dst->u.verdict.chain = src->u.verdict.chain ? x_strdup(src->u.verdict.chain) : NULL;
		break;
	default:
		break;
	}
}

struct rs_rule *rs_chain_copy_rule(struct rs_table *t, struct rs_chain *c, const struct rs_rule *r)
{
	struct rs_rule *copy = rs_chain_add_rule(c);

	copy->stmts = x_reallocarray(NULL, r->nstmts ? r->nstmts : 1, sizeof(*copy->stmts));
	for (size_t i = 0; i < r->nstmts; i++)
		rs_stmt_copy(&copy->stmts[i], &r->stmts[i]);
	copy->nstmts = r->nstmts;
	copy->comment = r->comment ? x_strdup(r->comment) : NULL;
	copy->handle = r->handle;
	copy->foreign = r->foreign;
	copy->unreadable = r->unreadable;
	copy->raw_text = r->raw_text ? x_strdup(r->raw_text) : NULL;
	copy->src_file = rs_table_file(t, r->src_file);
	copy->src_line = r->src_line;
	return copy;
}

struct rs_chain *rs_table_copy_chain(struct rs_table *t, const struct rs_chain *c, bool rules)
{
	struct rs_chain *copy = rs_table_add_chain(t, c->name);

	copy->comment = c->comment ? x_strdup(c->comment) : NULL;
	copy->base = c->base;
	copy->hook = c->hook;
	copy->type = c->type ? x_strdup(c->type) : NULL;
	copy->priority = c->priority;
	copy->policy = c->policy;
	copy->handle = c->handle;
	copy->src_file = rs_table_file(t, c->src_file);
	copy->src_line = c->src_line;
	for (size_t i = 0; rules && i < c->nrules; i++)
		rs_chain_copy_rule(t, copy, c->rules[i]);
	return copy;
}

struct rs_set *rs_table_copy_set(struct rs_table *t, const struct rs_set *s, const char *name, bool elements)
{
	struct rs_set *copy = rs_table_add_set(t, name ? name : s->name, s->key, s->interval);
	size_t stride = rs_set_stride(s);

	copy->comment = s->comment ? x_strdup(s->comment) : NULL;
	copy->vmap = s->vmap;
	copy->handle = s->handle;
	copy->src_file = rs_table_file(t, s->src_file);
	copy->src_line = s->src_line;
	copy->foreign = s->foreign;
	copy->foreign_text = s->foreign_text ? x_strdup(s->foreign_text) : NULL;
	if (!elements || !s->nelem)
		return copy;
	copy->elems = x_reallocarray(NULL, s->nelem, stride);
	memcpy(copy->elems, s->elems, s->nelem * stride);
	copy->capelem = copy->nelem = s->nelem;
	copy->digest_known = s->digest_known;
	memcpy(copy->digest, s->digest, RS_DIGEST_LEN);
	if (s->vmap) {
		copy->data = x_reallocarray(NULL, s->nelem, sizeof(*copy->data));
		for (size_t i = 0; i < s->nelem; i++) {
			copy->data[i].code = s->data[i].code;
			copy->data[i].chain = s->data[i].chain ? x_strdup(s->data[i].chain) : NULL;
		}
	}
	return copy;
}

struct rs_table *rs_table_copy_top(const struct rs_table *t)
{
	struct rs_table *copy = rs_table_alloc(t->name);

	copy->comment = t->comment ? x_strdup(t->comment) : NULL;
	copy->dormant = t->dormant;
	copy->handle = t->handle;
	for (size_t i = 0; i < t->nfiles; i++)
		rs_table_file(copy, t->files[i]);
	return copy;
}

static bool str_equal(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool match_equal(const struct rs_match *a, const struct rs_match *b)
{
	if (a->sel != b->sel || a->op != b->op || a->mask != b->mask || a->offset != b->offset ||
	    a->length != b->length || a->nvals != b->nvals || !str_equal(a->set, b->set))
		return false;
	for (size_t i = 0; i < a->nvals; i++)
		if (a->vals[i].num != b->vals[i].num || strcmp(a->vals[i].str, b->vals[i].str) != 0)
			return false;
	return true;
}

static bool stmt_equal(const struct rs_stmt *a, const struct rs_stmt *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case RS_STMT_MATCH:
		return match_equal(&a->u.match, &b->u.match);
	case RS_STMT_COUNTER:
		return true;
	case RS_STMT_LIMIT:
		return a->u.limit.rate == b->u.limit.rate && a->u.limit.unit == b->u.limit.unit &&
		       a->u.limit.burst == b->u.limit.burst;
	case RS_STMT_LOG:
		return str_equal(a->u.log.prefix, b->u.log.prefix);
	case RS_STMT_VERDICT:
		return a->u.verdict.code == b->u.verdict.code && str_equal(a->u.verdict.chain, b->u.verdict.chain);
	case RS_STMT_REJECT:
		return a->u.reject == b->u.reject;
	case RS_STMT_CT_MARK_OR:
	case RS_STMT_CT_MARK_CLEAR:
		return a->u.mark_bits == b->u.mark_bits;
	}
	return false;
}

bool rs_rule_equal(const struct rs_rule *a, const struct rs_rule *b)
{
	/* who made a rule does not matter, what it does does */
	if (a->unreadable || b->unreadable)
		return a->unreadable && b->unreadable && str_equal(a->raw_text, b->raw_text);
	if (a->nstmts != b->nstmts || !str_equal(a->comment, b->comment))
		return false;
	for (size_t i = 0; i < a->nstmts; i++)
		if (!stmt_equal(&a->stmts[i], &b->stmts[i]))
			return false;
	return true;
}

void rs_rule_counters(const struct rs_rule *r, uint64_t *packets, uint64_t *bytes)
{
	for (size_t i = 0; i < r->nstmts; i++)
		if (r->stmts[i].kind == RS_STMT_COUNTER) {
			*packets += r->stmts[i].u.counter.packets;
			*bytes += r->stmts[i].u.counter.bytes;
		}
}

void rs_chain_counters(const struct rs_chain *c, uint64_t *packets, uint64_t *bytes)
{
	for (size_t i = 0; i < c->nrules; i++)
		rs_rule_counters(c->rules[i], packets, bytes);
}

bool rs_rule_drops(const struct rs_rule *r)
{
	for (size_t i = 0; i < r->nstmts; i++)
		if (r->stmts[i].kind == RS_STMT_REJECT ||
		    (r->stmts[i].kind == RS_STMT_VERDICT && r->stmts[i].u.verdict.code == RS_DROP))
			return true;
	return false;
}

static const char *const verdict_names[] = {
	[RS_ACCEPT] = "accept", [RS_DROP] = "drop",     [RS_JUMP] = "jump",
	[RS_GOTO] = "goto",     [RS_RETURN] = "return", [RS_CONTINUE] = "continue",
};
static const char *const op_names[] = {
	[RS_OP_EQ] = "==", [RS_OP_NEQ] = "!=", [RS_OP_FLAGS] = "flags", [RS_OP_SET] = "set", [RS_OP_VMAP] = "vmap",
	[RS_OP_PRESENT] = "present",
};
static const char *const rate_unit_names[] = {
	[RS_PER_SECOND] = "second", [RS_PER_MINUTE] = "minute", [RS_PER_HOUR] = "hour", [RS_PER_DAY] = "day",
};
static const char *const reject_names[] = {
	[RS_REJECT_TCP_RESET] = "tcp reset",
	[RS_REJECT_ICMPX_ADMIN_PROHIBITED] = "icmpx admin-prohibited",
};

static const char *name_at(const char *const *names, size_t n, unsigned i)
{
	return i < n && names[i] ? names[i] : "?";
}

static bool index_of(const char *const *names, size_t n, const char *name, unsigned *out)
{
	for (size_t i = 0; name && i < n; i++)
		if (names[i] && strcmp(names[i], name) == 0) {
			*out = (unsigned)i;
			return true;
		}
	return false;
}

const char *rs_verdict_name(enum rs_verdict_code code)
{
	return name_at(verdict_names, ARRAY_SIZE(verdict_names), code);
}

bool rs_verdict_by_name(const char *name, enum rs_verdict_code *code)
{
	unsigned i;

	if (!index_of(verdict_names, ARRAY_SIZE(verdict_names), name, &i))
		return false;
	*code = (enum rs_verdict_code)i;
	return true;
}

const char *rs_op_name(enum rs_op op)
{
	return name_at(op_names, ARRAY_SIZE(op_names), op);
}

bool rs_op_by_name(const char *name, enum rs_op *op)
{
	unsigned i;

	if (!index_of(op_names, ARRAY_SIZE(op_names), name, &i))
		return false;
	*op = (enum rs_op)i;
	return true;
}

const char *rs_rate_unit_name(enum rs_rate_unit unit)
{
	return name_at(rate_unit_names, ARRAY_SIZE(rate_unit_names), unit);
}

bool rs_rate_unit_by_name(const char *name, enum rs_rate_unit *unit)
{
	unsigned i;

	if (!index_of(rate_unit_names, ARRAY_SIZE(rate_unit_names), name, &i))
		return false;
	*unit = (enum rs_rate_unit)i;
	return true;
}

const char *rs_reject_name(enum rs_reject reject)
{
	return name_at(reject_names, ARRAY_SIZE(reject_names), reject);
}

bool rs_reject_by_name(const char *name, enum rs_reject *reject)
{
	unsigned i;

	if (!index_of(reject_names, ARRAY_SIZE(reject_names), name, &i))
		return false;
	*reject = (enum rs_reject)i;
	return true;
}
