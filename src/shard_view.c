/* A sharded table seen as the admin wrote it: what show and diff present (see tlswall/shard.h). */
#include <stdlib.h>
#include <string.h>

#include "tlswall/diff.h"
#include "tlswall/ruleset.h"
#include "tlswall/shard.h"
#include "tlswall/util.h"

struct shard_ref {
	const struct rs_set *set;
	char *list;
	unsigned char cut[16];
	size_t klen;
};

static int cmp_ref(const void *a, const void *b)
{
	const struct shard_ref *x = a, *y = b;
	int c = strcmp(x->list, y->list);

	return c ? c : memcmp(x->cut, y->cut, sizeof(x->cut));
}

/* Every shard set of t, grouped by list and in address order within each. */
static struct shard_ref *shard_refs(const struct rs_table *t, size_t *n)
{
	struct shard_ref *v = NULL;
	size_t cap = 0;

	*n = 0;
	for (size_t i = 0; i < t->nsets; i++) {
		struct shard_ref r = { t->sets[i], NULL, { 0 }, 0 };

		if (t->sets[i]->foreign || t->sets[i]->vmap || !shard_parse_set(t->sets[i]->name, &r.list, r.cut, &r.klen))
			continue;
		x_grow(&v, &cap, *n + 1, sizeof(*v));
		v[(*n)++] = r;
	}
	if (*n > 1)
		qsort(v, *n, sizeof(*v), cmp_ref);
	return v;
}

bool shard_any(const struct rs_table *t)
{
	for (size_t i = 0; t && i < t->nsets; i++) {
		char *list;
		unsigned char cut[16];
		size_t klen;

		if (shard_parse_set(t->sets[i]->name, &list, cut, &klen)) {
			free(list);
			return true;
		}
	}
	return false;
}

static bool is_sharded(const struct shard_ref *refs, size_t n, const char *list)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(refs[i].list, list) == 0)
			return true;
	return false;
}

/* The list's shards joined into one set: the pieces of an interval split at a cut become one interval again. */
static void add_joined(struct rs_table *out, const struct shard_ref *refs, size_t n, const char *list)
{
	struct rs_set *s = NULL;
	size_t total = 0;

	for (size_t i = 0; i < n; i++)
		if (strcmp(refs[i].list, list) == 0)
			total += refs[i].set->nelem;
	for (size_t i = 0; i < n; i++) {
		const struct rs_set *shard = refs[i].set;
		size_t klen = rs_keylen(shard->key);

		if (strcmp(refs[i].list, list) != 0)
			continue;
		if (!s) {
			s = rs_table_copy_set(out, shard, list, false);
			s->handle = 0;
			s->capelem = total ? total : 1;
			s->elems = x_reallocarray(NULL, s->capelem, rs_set_stride(shard));
		}
		size_t skip = 0;

		if (!shard->nelem)
			continue;
		/* the first piece continues the last one of the shard before when it starts right after it */
		if (s->nelem) {
			uint8_t *prev = s->elems + (s->nelem - 1) * 2 * klen;
			uint8_t next[16];
			bool carry = true;

			memcpy(next, prev + klen, klen);
			for (size_t b = klen; b-- > 0 && carry;)
				carry = ++next[b] == 0;
			if (!carry && memcmp(next, rs_set_elem(shard, 0), klen) == 0) {
				memcpy(prev + klen, rs_set_elem(shard, 0) + klen, klen);
				skip = 1;
			}
		}
		memcpy(s->elems + s->nelem * 2 * klen, rs_set_elem(shard, skip), (shard->nelem - skip) * 2 * klen);
		s->nelem += shard->nelem - skip;
	}
}

/* The chain's rule that stood for the list before it was sharded, from a dispatch rule: the statements before the
 * dispatch, then the shard chains' own (the list in place of the shard), with their counters summed. */
static bool add_collapsed_rule(struct rs_table *out, struct rs_chain *c, const struct rs_table *t,
			       const struct rs_rule *r, size_t m, const char *list)
{
	const struct rs_set *map = rs_table_find_set(t, r->stmts[m].u.match.set);
	const struct rs_rule *tmpl = NULL;
	struct rs_rule *nr;
	uint64_t packets = 0, bytes = 0;
	size_t at = 0;

	if (!map || !map->vmap || m + 1 != r->nstmts)
		return false;
	for (size_t i = 0; i < map->nelem; i++) {
		const struct rs_chain *sc = map->data[i].chain ? rs_table_find_chain(t, map->data[i].chain) : NULL;

		if (!sc || sc->nrules != 1)
			return false;
		if (!tmpl)
			tmpl = sc->rules[0];
		rs_rule_counters(sc->rules[0], &packets, &bytes);
	}
	if (!tmpl || !tmpl->nstmts || tmpl->stmts[0].kind != RS_STMT_MATCH || tmpl->stmts[0].u.match.op != RS_OP_SET)
		return false;
	nr = rs_chain_add_rule(c);
	nr->comment = r->comment ? x_strdup(r->comment) : NULL;
	nr->handle = r->handle;
	nr->foreign = r->foreign;
	nr->src_file = rs_table_file(out, r->src_file);
	nr->src_line = r->src_line;
	nr->stmts = x_reallocarray(NULL, m + tmpl->nstmts, sizeof(*nr->stmts));
	for (size_t i = 0; i < m; i++)
		rs_stmt_copy(&nr->stmts[at++], &r->stmts[i]);
	for (size_t i = 0; i < tmpl->nstmts; i++) {
		struct rs_stmt *st = &nr->stmts[at++];

		rs_stmt_copy(st, &tmpl->stmts[i]);
		if (i == 0) {
			free(st->u.match.set);
			st->u.match.set = x_strdup(list);
		}
		if (st->kind == RS_STMT_COUNTER) {
			st->u.counter.packets = packets;
			st->u.counter.bytes = bytes;
			packets = bytes = 0;
		}
	}
	nr->nstmts = at;
	return true;
}

struct rs_table *shard_collapse(const struct rs_table *t)
{
	struct shard_ref *refs;
	struct rs_table *out;
	size_t n;

	if (!t || !shard_any(t))
		return NULL;
	refs = shard_refs(t, &n);
	out = rs_table_copy_top(t);
	for (size_t i = 0; i < t->nsets; i++) {
		const struct rs_set *s = t->sets[i];
		char *list = NULL, *chain = NULL;
		unsigned char cut[16];
		size_t klen;

		if (!s->foreign && !s->vmap && shard_parse_set(s->name, &list, cut, &klen)) {
			if (!rs_table_find_set(out, list))
				add_joined(out, refs, n, list);
		} else if (!s->foreign && s->vmap && shard_parse_map(s->name, &list, &chain) && is_sharded(refs, n, list) &&
			   rs_table_find_chain(t, chain)) {
			/* the dispatch map: its rule becomes the list's rule again */
		} else {
			rs_table_copy_set(out, s, NULL, true);
		}
		free(list);
		free(chain);
	}
	for (size_t i = 0; i < t->nchains; i++) {
		const struct rs_chain *c = t->chains[i];
		struct rs_chain *nc;
		char *list = NULL, *owner = NULL;

		if (shard_parse_chain(c->name, &list, &owner) && is_sharded(refs, n, list) && rs_table_find_chain(t, owner)) {
			free(list);
			free(owner);
			continue;
		}
		free(list);
		free(owner);
		nc = rs_table_copy_chain(out, c, false);
		for (size_t j = 0; j < c->nrules; j++) {
			const struct rs_rule *r = c->rules[j];
			bool done = false;

			for (size_t m = 0; m < r->nstmts && !done && !r->unreadable; m++) {
				const struct rs_match *match = &r->stmts[m].u.match;
				char *chain = NULL;

				if (r->stmts[m].kind != RS_STMT_MATCH || match->op != RS_OP_VMAP || !match->set ||
				    !shard_parse_map(match->set, &list, &chain))
					continue;
				if (is_sharded(refs, n, list) && strcmp(chain, c->name) == 0)
					done = add_collapsed_rule(out, nc, t, r, m, list);
				free(list);
				free(chain);
			}
			if (!done)
				rs_chain_copy_rule(out, nc, r);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(refs[i].list);
	free(refs);
	return out;
}

void shard_view_diff(struct shard_view *v, const struct diff *d, const struct rs_table *planned,
		     const struct rs_table *live)
{
	memset(v, 0, sizeof(*v));
	v->own_planned = shard_collapse(planned);
	v->own_live = shard_collapse(live);
	v->planned = v->own_planned ? v->own_planned : planned;
	v->live = v->own_live ? v->own_live : live;
	if (!v->own_planned && !v->own_live) {
		v->d = d;
		return;
	}
	diff_tables(v->planned, v->live, &v->own);
	v->d = &v->own;
	v->layout_only = diff_empty(&v->own) && !diff_empty(d);
}

void shard_view_release(struct shard_view *v)
{
	if (v->d == &v->own)
		diff_release(&v->own);
	rs_table_free(v->own_planned);
	rs_table_free(v->own_live);
	memset(v, 0, sizeof(*v));
}

void shard_print_summary(const struct diff *d, FILE *out)
{
	struct diff merged = { 0 };
	char **names = NULL;
	size_t nnames = 0;

	if (d->structural) {
		diff_print_summary(d, out);
		return;
	}
	/* elements only: each shard's change counted into its list's, without collapsing the tables */
	merged.v = x_calloc(d->n ? d->n : 1, sizeof(*merged.v));
	names = x_calloc(d->n ? d->n : 1, sizeof(*names));
	for (size_t i = 0; i < d->n; i++) {
		const struct change *c = &d->v[i];
		unsigned char cut[16];
		size_t klen;
		char *list = NULL;
		struct change *m = NULL;

		if (!shard_parse_set(c->object, &list, cut, &klen))
			list = x_strdup(c->object);
		for (size_t j = 0; j < merged.n && !m; j++)
			if (strcmp(merged.v[j].object, list) == 0)
				m = &merged.v[j];
		if (m) {
			m->nadded += c->nadded;
			m->nremoved += c->nremoved;
			free(list);
			continue;
		}
		merged.v[merged.n] = *c;
		merged.v[merged.n].object = names[nnames++] = list;
		merged.v[merged.n].added = merged.v[merged.n].removed = NULL;
		merged.v[merged.n].detail = NULL;
		merged.n++;
	}
	diff_print_summary(&merged, out);
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free(merged.v);
}
