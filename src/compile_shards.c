/* The sharding pass: a logical table (one interval set per address list) -> the table the kernel gets, with every
 * long list split into shard sets behind a dispatch map (see tlswall/shard.h for the layout and why).
 *
 * Where the boundaries go. A cut is the first address of a shard. A list sharded for the first time is cut into
 * ceil(n / SHARD_TARGET) runs of equal length; each cut is placed in the gap between two neighbouring intervals, at
 * the address of that gap with the most trailing zero bits (the shortest prefix that fits in it): a round number,
 * chosen by the list, not by where its elements fall in the set. Later layouts start from the previous table's cuts
 * (named in its shard sets' names, so a dump or a record gives them back), and change them only where a shard
 * outgrows SHARD_SPLIT (it is cut again, inside itself, the same way) or two neighbours together fall under
 * SHARD_MERGE (the cut between them goes). Equal-count splitting on every compile would move every boundary at
 * every insertion, and every shard would change.
 *
 * An interval that spans a cut is split there, one piece in each shard; shard_collapse() joins the pieces. */
#include <stdlib.h>
#include <string.h>

#include "tlswall/ruleset.h"
#include "tlswall/shard.h"
#include "tlswall/util.h"

#define KEY_MAX 16

struct cuts {
	uint8_t (*v)[KEY_MAX];
	size_t n, cap;
};

static void cuts_push(struct cuts *c, const uint8_t *key, size_t klen)
{
	x_grow(&c->v, &c->cap, c->n + 1, sizeof(*c->v));
	memset(c->v[c->n], 0, KEY_MAX);
	memcpy(c->v[c->n++], key, klen);
}

static bool key_inc(uint8_t *key, size_t len)
{
	for (size_t i = len; i-- > 0;)
		if (++key[i] != 0)
			return true;
	return false;
}

static bool key_dec(uint8_t *key, size_t len)
{
	for (size_t i = len; i-- > 0;)
		if (key[i]-- != 0)
			return true;
	return false;
}

/* The address in [lo, hi] with the most trailing zero bits: hi with every bit after the first one where lo and hi
 * differ cleared (that bit is set in hi, clear in lo, so the result is above lo). */
static void aligned_between(const uint8_t *lo, const uint8_t *hi, size_t klen, uint8_t *out)
{
	size_t i = 0;

	memcpy(out, hi, klen);
	while (i < klen && lo[i] == hi[i])
		i++;
	if (i == klen)
		return;
	for (int bit = 7; bit >= 0; bit--) {
		if ((lo[i] ^ hi[i]) & (1u << bit)) {
			out[i] = (uint8_t)(hi[i] & ~((1u << bit) - 1));
			break;
		}
	}
	memset(out + i + 1, 0, klen - i - 1);
}

static const uint8_t *first_of(const struct rs_set *s, size_t i)
{
	return rs_set_elem(s, i);
}

static const uint8_t *last_of(const struct rs_set *s, size_t i)
{
	return rs_set_elem(s, i) + rs_keylen(s->key);
}

/* A cut in the gap before element j (j > 0). */
static void cut_before(const struct rs_set *s, size_t j, uint8_t *out)
{
	size_t klen = rs_keylen(s->key);
	uint8_t lo[KEY_MAX];

	memcpy(lo, last_of(s, j - 1), klen);
	key_inc(lo, klen); /* cannot wrap: element j starts above it */
	aligned_between(lo, first_of(s, j), klen, out);
}

/* The last address of shard k: one below the next cut, or the top of the key space. */
static void shard_end(const struct cuts *c, size_t k, size_t klen, uint8_t *out)
{
	if (k + 1 < c->n) {
		memcpy(out, c->v[k + 1], klen);
		key_dec(out, klen);
	} else {
		memset(out, 0xff, klen);
	}
}

/* The first element at or after index lo whose key at offset off (0: first, klen: last) is above key (or, when
 * or_equal, at or above it): sets are sorted and their ranges disjoint, so both ends are in order. */
static size_t search(const struct rs_set *s, size_t lo, size_t off, const uint8_t *key, bool or_equal)
{
	size_t klen = rs_keylen(s->key), hi = s->nelem;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(rs_set_elem(s, mid) + off, key, klen);

		if (c > 0 || (or_equal && c == 0))
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* For each shard, the elements it holds: [from[k], to[k]) (an element across a cut is counted in both). Two binary
 * searches a shard, not a compare an element: the layout of a million ranges is laid out on every apply. */
static void spans(const struct rs_set *s, const struct cuts *c, size_t *from, size_t *to)
{
	size_t klen = rs_keylen(s->key), j = 0;

	for (size_t k = 0; k < c->n; k++) {
		uint8_t end[KEY_MAX];

		shard_end(c, k, klen, end);
		/* the first range that ends at or above the cut, the first that starts above the shard's end */
		from[k] = j = search(s, j, klen, c->v[k], true);
		to[k] = search(s, j, 0, end, false);
		if (to[k] > j)
			j = to[k] - 1;
	}
}

/* Cuts that split elements [a, b) of s into runs of about SHARD_TARGET; only between elements that both start at or
 * above floor (a cut never falls below the shard's own first address). */
static void split_run(const struct rs_set *s, size_t a, size_t b, const uint8_t *floor, struct cuts *out)
{
	size_t klen = rs_keylen(s->key), n, pieces;

	while (a < b && memcmp(first_of(s, a), floor, klen) < 0)
		a++;
	n = b - a;
	pieces = (n + SHARD_TARGET - 1) / SHARD_TARGET;
	for (size_t m = 1; m < pieces; m++) {
		size_t j = a + m * n / pieces;
		uint8_t cut[KEY_MAX];

		if (j <= a || j >= b)
			continue;
		cut_before(s, j, cut);
		cuts_push(out, cut, klen);
	}
}

static int cmp_cut(const void *a, const void *b)
{
	return memcmp(a, b, KEY_MAX);
}

/* The cuts list s had in prev (sorted, starting at zero), or none. */
static void previous_cuts(const struct rs_set *s, const struct rs_table *prev, struct cuts *out)
{
	size_t klen = rs_keylen(s->key);
	uint8_t zero[KEY_MAX] = { 0 };

	for (size_t i = 0; prev && i < prev->nsets; i++) {
		uint8_t cut[KEY_MAX] = { 0 };
		size_t len;
		char *list;

		if (!shard_parse_set(prev->sets[i]->name, &list, cut, &len))
			continue;
		if (len == klen && strcmp(list, s->name) == 0)
			cuts_push(out, cut, klen);
		free(list);
	}
	if (!out->n)
		return;
	qsort(out->v, out->n, sizeof(*out->v), cmp_cut);
	if (memcmp(out->v[0], zero, KEY_MAX) != 0) {
		cuts_push(out, zero, klen);
		qsort(out->v, out->n, sizeof(*out->v), cmp_cut);
	}
}

static bool shardable(const struct rs_set *s)
{
	return !s->vmap && !s->foreign && s->interval && s->key != RS_KEY_PROTO_PORT && s->nelem > SHARD_THRESHOLD;
}

/* Where list s is cut: none when it stays one set. */
static void layout_list(const struct rs_set *s, const struct rs_table *prev, struct cuts *out)
{
	size_t klen = rs_keylen(s->key);
	uint8_t zero[KEY_MAX] = { 0 };
	struct cuts old = { 0 }, joined = { 0 };
	size_t *from = NULL, *to = NULL;

	memset(out, 0, sizeof(*out));
	if (!shardable(s))
		return;
	previous_cuts(s, prev, &old);
	if (!old.n) {
		cuts_push(out, zero, klen);
		split_run(s, 0, s->nelem, zero, out);
		return;
	}
	/* join neighbours that have both shrunk away */
	from = x_calloc(old.n, sizeof(*from));
	to = x_calloc(old.n, sizeof(*to));
	spans(s, &old, from, to);
	{
		size_t held = 0;

		for (size_t k = 0; k < old.n; k++) {
			size_t n = to[k] - from[k];

			if (k > 0 && held + n < SHARD_MERGE) {
				held += n;
				continue;
			}
			cuts_push(&joined, old.v[k], klen);
			held = n;
		}
	}
	free(from);
	free(to);
	/* split what has outgrown its bound, inside itself */
	from = x_calloc(joined.n, sizeof(*from));
	to = x_calloc(joined.n, sizeof(*to));
	spans(s, &joined, from, to);
	for (size_t k = 0; k < joined.n; k++) {
		cuts_push(out, joined.v[k], klen);
		if (to[k] - from[k] > SHARD_SPLIT)
			split_run(s, from[k], to[k], joined.v[k], out);
	}
	free(from);
	free(to);
	free(old.v);
	free(joined.v);
}

struct sharded {
	const char *name;
	struct cuts cuts;
	size_t klen;
};

static const struct sharded *find_sharded(const struct sharded *v, size_t n, const char *name)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/* The shard sets of s, cut at c, in address order. */
static void add_shards(struct rs_table *t, const struct rs_set *s, const struct cuts *c)
{
	size_t klen = rs_keylen(s->key);
	size_t *from = x_calloc(c->n, sizeof(*from)), *to = x_calloc(c->n, sizeof(*to));

	spans(s, c, from, to);
	for (size_t k = 0; k < c->n; k++) {
		char *name = shard_set_name(s->name, c->v[k], klen);
		struct rs_set *shard = rs_table_copy_set(t, s, name, false);
		const uint8_t *run;
		uint8_t end[KEY_MAX];

		free(name);
		shard_end(c, k, klen, end);
		shard->nelem = to[k] - from[k];
		if (!shard->nelem) {
			shard->capelem = 1;
			shard->elems = x_reallocarray(NULL, 1, rs_set_stride(s));
			continue;
		}
		run = first_of(s, from[k]);
		/* The run as it is: a view of s's elements, not a copy (ruleset.h). Only a shard whose end ranges
		 * reach past its bounds (a range across a cut, split in two) is a copy, with those ends cut. */
		if (memcmp(run, c->v[k], klen) >= 0 && memcmp(run + shard->nelem * 2 * klen - klen, end, klen) <= 0) {
			rs_set_borrow(shard, run, shard->nelem);
			continue;
		}
		shard->capelem = shard->nelem;
		shard->elems = x_reallocarray(NULL, shard->capelem, rs_set_stride(s));
		memcpy(shard->elems, run, shard->nelem * rs_set_stride(s));
		if (memcmp(shard->elems, c->v[k], klen) < 0)
			memcpy(shard->elems, c->v[k], klen);
		if (memcmp(shard->elems + shard->nelem * 2 * klen - klen, end, klen) > 0)
			memcpy(shard->elems + shard->nelem * 2 * klen - klen, end, klen);
	}
	free(from);
	free(to);
}

/* The statement of rule r that matches a sharded list, or -1. */
static long sharded_match(const struct rs_rule *r, const struct sharded *v, size_t n, const struct sharded **which)
{
	if (r->foreign || r->unreadable)
		return -1;
	for (size_t i = 0; i < r->nstmts; i++) {
		const struct rs_stmt *st = &r->stmts[i];

		if (st->kind == RS_STMT_MATCH && st->u.match.op == RS_OP_SET &&
		    (*which = find_sharded(v, n, st->u.match.set)) != NULL)
			return (long)i;
	}
	return -1;
}

/* Rule r of chain c, matching a sharded list at statement m: a dispatch rule in c, a dispatch map, and one chain
 * per shard (appended to pending, to follow c) holding the rule's own statement against that shard. */
static void shard_rule(struct rs_table *t, struct rs_chain *c, const struct rs_rule *r, size_t m,
		       const struct sharded *l, struct rs_chain ***pending, size_t *npending, size_t *cappending)
{
	const struct rs_match *match = &r->stmts[m].u.match;
	char *map_name = shard_map_name(l->name, c->name);
	struct rs_set *map = rs_table_add_set(t, map_name, l->klen == 4 ? RS_KEY_IPV4 : RS_KEY_IPV6, true);
	struct rs_rule *d = rs_chain_add_rule(c);

	map->vmap = true;
	map->src_file = rs_table_file(t, r->src_file);
	map->src_line = r->src_line;
	d->src_file = map->src_file;
	d->src_line = r->src_line;
	d->comment = r->comment ? x_strdup(r->comment) : NULL;
	for (size_t i = 0; i < m; i++)
		rs_stmt_copy(rs_rule_add(d, r->stmts[i].kind), &r->stmts[i]);
	rs_rule_match(d, match->sel, RS_OP_VMAP)->set = x_strdup(map_name);

	for (size_t k = 0; k < l->cuts.n; k++) {
		char *chain_name = shard_chain_name(l->name, l->cuts.v[k], l->klen, c->name);
		struct rs_chain *shard = x_calloc(1, sizeof(*shard));
		struct rs_rule *sr;
		struct rs_verdict jump = { RS_JUMP, chain_name };
		uint8_t end[KEY_MAX];

		shard->name = chain_name;
		shard->policy = RS_ACCEPT;
		shard->src_file = map->src_file;
		shard->src_line = r->src_line;
		sr = rs_chain_add_rule(shard);
		sr->src_file = map->src_file;
		sr->src_line = r->src_line;
		rs_rule_match(sr, match->sel, RS_OP_SET)->set = shard_set_name(l->name, l->cuts.v[k], l->klen);
		for (size_t i = m + 1; i < r->nstmts; i++)
			rs_stmt_copy(rs_rule_add(sr, r->stmts[i].kind), &r->stmts[i]);
		shard_end(&l->cuts, k, l->klen, end);
		rs_set_add(map, l->cuts.v[k], end, &jump);
		x_grow(pending, cappending, *npending + 1, sizeof(**pending));
		(*pending)[(*npending)++] = shard;
	}
	free(map_name);
}

bool shard_layout_needed(const struct rs_table *logical)
{
	for (size_t i = 0; i < logical->nsets; i++)
		if (shardable(logical->sets[i]))
			return true;
	return false;
}

struct rs_table *shard_layout(const struct rs_table *logical, const struct rs_table *prev)
{
	struct rs_table *t = rs_table_copy_top(logical);
	struct sharded *lists = NULL;
	size_t nlists = 0, caplists = 0;

	for (size_t i = 0; i < logical->nsets; i++) {
		const struct rs_set *s = logical->sets[i];
		struct cuts c;

		layout_list(s, prev, &c);
		if (!c.n) {
			rs_table_copy_set(t, s, NULL, true);
			continue;
		}
		add_shards(t, s, &c);
		x_grow(&lists, &caplists, nlists + 1, sizeof(*lists));
		lists[nlists].name = s->name;
		lists[nlists].cuts = c;
		lists[nlists++].klen = rs_keylen(s->key);
	}
	for (size_t i = 0; i < logical->nchains; i++) {
		const struct rs_chain *lc = logical->chains[i];
		struct rs_chain *c = rs_table_copy_chain(t, lc, false);
		struct rs_chain **pending = NULL;
		size_t npending = 0, cappending = 0;

		for (size_t j = 0; j < lc->nrules; j++) {
			const struct sharded *l = NULL;
			long m = nlists ? sharded_match(lc->rules[j], lists, nlists, &l) : -1;

			if (m < 0)
				rs_chain_copy_rule(t, c, lc->rules[j]);
			else
				shard_rule(t, c, lc->rules[j], (size_t)m, l, &pending, &npending, &cappending);
		}
		for (size_t k = 0; k < npending; k++) {
			x_grow(&t->chains, &t->capchains, t->nchains + 1, sizeof(*t->chains));
			t->chains[t->nchains++] = pending[k];
		}
		free(pending);
	}
	for (size_t i = 0; i < nlists; i++)
		free(lists[i].cuts.v);
	free(lists);
	return t;
}

/* ---- names ---- */

char *shard_set_name(const char *list, const unsigned char *cut, size_t keylen)
{
	char *hex = hex_dup(cut, keylen);
	char *name = x_asprintf("%s.s%s", list, hex);

	free(hex);
	return name;
}

char *shard_map_name(const char *list, const char *chain)
{
	return x_asprintf("%s.in.%s", list, chain);
}

char *shard_chain_name(const char *list, const unsigned char *cut, size_t keylen, const char *chain)
{
	char *hex = hex_dup(cut, keylen);
	char *name = x_asprintf("%s.s%s.in.%s", list, hex, chain);

	free(hex);
	return name;
}

/* At p: "v4.s" and 8 hex digits, or "v6.s" and 32; the key length, or 0. */
static size_t parse_cut(const char *p, unsigned char *cut)
{
	size_t klen = strncmp(p, "v4.s", 4) == 0 ? 4 : strncmp(p, "v6.s", 4) == 0 ? 16 : 0;
	unsigned char ignored[16];

	return klen && hex_decode(p + 4, klen, cut ? cut : ignored) ? klen : 0;
}

/* The list part of name: everything up to the first ".v4." or ".v6." that the rest fits; its length, or 0. */
static size_t list_prefix(const char *name, const char *after, unsigned char *cut, size_t *klen)
{
	for (const char *p = strchr(name, '.'); p; p = strchr(p + 1, '.')) {
		if (strncmp(p, ".v4.", 4) != 0 && strncmp(p, ".v6.", 4) != 0)
			continue;
		if (after && strncmp(p + 3, after, strlen(after)) == 0) {
			*klen = p[2] == '4' ? 4 : 16;
			return (size_t)(p - name) + 3;
		}
		if (!after) {
			size_t n = parse_cut(p + 1, cut);

			if (n) {
				*klen = n;
				return (size_t)(p - name) + 3;
			}
		}
	}
	return 0;
}

bool shard_parse_set(const char *name, char **list, unsigned char *cut, size_t *keylen)
{
	size_t klen = 0, n = list_prefix(name, NULL, cut, &klen);

	if (!n || name[n + 2 + 2 * klen] != '\0')
		return false;
	*list = x_strndup(name, n);
	*keylen = klen;
	return true;
}

bool shard_parse_map(const char *name, char **list, char **chain)
{
	size_t klen = 0, n = list_prefix(name, ".in.", NULL, &klen);

	if (!n || !name[n + 4])
		return false;
	*list = x_strndup(name, n);
	if (chain)
		*chain = x_strdup(name + n + 4);
	return true;
}

bool shard_parse_chain(const char *name, char **list, char **chain)
{
	size_t klen = 0, n = list_prefix(name, NULL, NULL, &klen);
	const char *rest;

	if (!n)
		return false;
	rest = name + n + 2 + 2 * klen;
	if (strncmp(rest, ".in.", 4) != 0 || !rest[4])
		return false;
	*list = x_strndup(name, n);
	if (chain)
		*chain = x_strdup(rest + 4);
	return true;
}
