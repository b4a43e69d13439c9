/* Unit tests for the sharding of long lists (compile_shards.c, shard_view.c): the threshold, shards of bounded size
 * that together hold the list, boundaries kept from the previous layout (an edit changes one shard), a split that
 * touches only the shard that overflowed, the names and their parsers, the view that joins the shards again (with
 * counters summed), what a packet meets (the evaluator through the dispatch map), and the binary snapshot form. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "tlswall/diff.h"
#include "tlswall/emit_nft.h"
#include "tlswall/evaluate.h"
#include "tlswall/hash.h"
#include "tlswall/record_bin.h"
#include "tlswall/ruleset.h"
#include "tlswall/shard.h"
#include "tlswall/snapshot.h"

/* A list of five shards, and a crowd of /32s that overfills the first of them */
#define LIST_N (5 * SHARD_TARGET - SHARD_TARGET / 8)
#define CROWD_N (SHARD_TARGET + SHARD_TARGET / 4)

/* A table as the compiler makes it: list "bl.v4" of n /24s, one every 4th /24 from 16.0.0.0 (plus extra ones),
 * matched by a deny rule in input and by a service's rule. */
static struct rs_table *logical(size_t n, uint32_t extra_from, size_t extra)
{
	struct rs_table *t = rs_table_alloc("t");
	struct rs_set *s = rs_table_add_set(t, "bl.v4", RS_KEY_IPV4, true);
	struct rs_chain *input = rs_table_add_chain(t, "input"), *svc = rs_table_add_chain(t, "svc.x");
	struct rs_rule *r;
	uint32_t *starts = calloc(n + extra, sizeof(*starts));
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		starts[m++] = 0x10000000u + (uint32_t)i * 1024;
	for (size_t i = 0; i < extra; i++)
		starts[m++] = extra_from + (uint32_t)i * 2;
	for (size_t i = 0; i < m; i++)
		for (size_t j = i; j > 0 && starts[j - 1] > starts[j]; j--) {
			uint32_t x = starts[j];

			starts[j] = starts[j - 1];
			starts[j - 1] = x;
		}
	for (size_t i = 0; i < m; i++) {
		uint32_t last = starts[i] >= extra_from && starts[i] < extra_from + 2 * extra ? starts[i] : starts[i] + 255;
		uint8_t a[4] = { (uint8_t)(starts[i] >> 24), (uint8_t)(starts[i] >> 16), (uint8_t)(starts[i] >> 8),
				 (uint8_t)starts[i] };
		uint8_t b[4] = { (uint8_t)(last >> 24), (uint8_t)(last >> 16), (uint8_t)(last >> 8), (uint8_t)last };

		rs_set_add(s, a, b, NULL);
	}
	free(starts);
	input->base = true;
	input->policy = RS_DROP;
	r = rs_chain_add_rule(input);
	rs_rule_match(r, RS_SEL_IP_SADDR, RS_OP_SET)->set = strdup("bl.v4");
	rs_rule_counter(r);
	rs_rule_verdict(r, RS_DROP, NULL);
	rs_rule_verdict(rs_chain_add_rule(input), RS_ACCEPT, NULL); /* what the list does not drop gets in */
	r = rs_chain_add_rule(svc);
	rs_match_add_str(rs_rule_match(r, RS_SEL_IIFNAME, RS_OP_EQ), "eth0");
	rs_rule_match(r, RS_SEL_IP_SADDR, RS_OP_SET)->set = strdup("bl.v4");
	rs_rule_counter(r);
	rs_rule_verdict(r, RS_ACCEPT, NULL);
	return t;
}

static char *text(const struct rs_table *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	emit_nft_table(t, EMIT_COUNTERS, f);
	fclose(f);
	return buf;
}

static size_t count_shards(const struct rs_table *t)
{
	size_t n = 0;

	for (size_t i = 0; i < t->nsets; i++) {
		char *list;
		unsigned char cut[16];
		size_t klen;

		if (shard_parse_set(t->sets[i]->name, &list, cut, &klen)) {
			assert_string_equal(list, "bl.v4");
			assert_int_equal(klen, 4);
			assert_true(t->sets[i]->nelem <= SHARD_SPLIT);
			free(list);
			n++;
		}
	}
	return n;
}

/* a set's name: true for a shard of an IPv4 list, with its first address in *cut */
static bool shard_cut(const char *name, uint32_t *cut)
{
	char *list;
	unsigned char c[16];
	size_t klen;

	if (!shard_parse_set(name, &list, c, &klen))
		return false;
	free(list);
	*cut = (uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 | (uint32_t)c[2] << 8 | c[3];
	return true;
}

/* want and got print the same (counters included) */
static void assert_same_text(const struct rs_table *want, const struct rs_table *got)
{
	char *a = text(want), *b = text(got);

	assert_string_equal(a, b);
	free(a);
	free(b);
}

/* bin (based on the file base, or whole for NULL) decodes to a table that prints as want */
static void assert_decodes_to(const char *bin, size_t len, const char *base, size_t base_len,
			      const struct rs_table *want)
{
	struct rs_table *back = NULL;
	struct snapshot_info got;
	char *error = NULL;

	assert_true(record_bin_decode(bin, len, base, base_len, &back, &got, NULL, NULL, &error));
	assert_same_text(want, back);
	rs_table_free(back);
	snapshot_info_release(&got);
}

/* The fixture of most tests: the list of 20,000 /24s (l) and its layout in shards (t), made afresh for each test */
struct sharded {
	struct rs_table *l, *t;
};

static int sharded_setup(void **state)
{
	struct sharded *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->l = logical(LIST_N, 0, 0);
	f->t = shard_layout(f->l, NULL);
	*state = f;
	return 0;
}

static int sharded_teardown(void **state)
{
	struct sharded *f = *state;

	rs_table_free(f->l);
	rs_table_free(f->t);
	free(f);
	return 0;
}

static void test_threshold(void **state)
{
	struct rs_table *at = logical(SHARD_THRESHOLD, 0, 0), *over = logical(SHARD_THRESHOLD + 1, 0, 0);
	struct rs_table *a, *b;

	(void)state;
	assert_false(shard_layout_needed(at));
	assert_true(shard_layout_needed(over));
	a = shard_layout(at, NULL);
	b = shard_layout(over, NULL);
	assert_int_equal(count_shards(a), 0);
	assert_non_null(rs_table_find_set(a, "bl.v4"));
	assert_int_equal(count_shards(b), 3); /* ceil(16385 / 8192) */
	assert_null(rs_table_find_set(b, "bl.v4"));
	assert_false(shard_any(a));
	assert_true(shard_any(b));
	rs_table_free(a);
	rs_table_free(b);
	rs_table_free(at);
	rs_table_free(over);
}

/* the shards seen whole are the logical table, and the dispatch reaches the rule's own statement */
static void test_collapse_is_logical(void **state)
{
	struct sharded *f = *state;
	struct rs_table *l = f->l, *t = f->t, *back;

	assert_int_equal(count_shards(t), 5);
	assert_non_null(rs_table_find_set(t, "bl.v4.in.input"));
	assert_non_null(rs_table_find_set(t, "bl.v4.in.svc.x"));
	assert_non_null(rs_table_find_chain(t, "bl.v4.s00000000.in.svc.x"));
	back = shard_collapse(t);
	assert_non_null(back);
	assert_same_text(l, back);
	assert_null(shard_collapse(l));
	rs_table_free(back);
}

/* counters of the shard chains are the list rule's */
static void test_collapse_sums_counters(void **state)
{
	struct sharded *f = *state;
	struct rs_table *t = f->t, *back;
	const struct rs_chain *input;
	uint64_t p = 0, by = 0;
	size_t shards = 0;

	for (size_t i = 0; i < t->nchains; i++) {
		char *list, *owner;

		if (!shard_parse_chain(t->chains[i]->name, &list, &owner))
			continue;
		if (strcmp(owner, "input") == 0) {
			struct rs_rule *r = t->chains[i]->rules[0];

			for (size_t k = 0; k < r->nstmts; k++)
				if (r->stmts[k].kind == RS_STMT_COUNTER) {
					r->stmts[k].u.counter.packets = 2;
					r->stmts[k].u.counter.bytes = 100;
				}
			shards++;
		}
		free(list);
		free(owner);
	}
	back = shard_collapse(t);
	input = rs_table_find_chain(back, "input");
	assert_int_equal(input->nrules, 2);
	rs_rule_counters(input->rules[0], &p, &by);
	assert_int_equal(p, 2 * shards);
	assert_int_equal(by, 100 * shards);
	rs_table_free(back);
}

/* laid out again from itself: the same table; one element less: one shard changes, as a delta */
static void test_boundaries_kept(void **state)
{
	struct sharded *f = *state;
	struct rs_table *l = f->l, *t = f->t, *again = shard_layout(l, t);
	struct rs_table *less = logical(LIST_N - 1, 0, 0), *t2 = shard_layout(less, t);
	struct rs_table *shorter = logical(LIST_N - SHARD_TARGET / 2, 0, 0), *fresh = shard_layout(shorter, NULL);
	struct diff d, df;

	assert_same_text(t, again);
	diff_tables(t2, t, &d);
	assert_false(d.structural);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].kind, CHANGE_ELEMS);
	assert_int_equal(d.v[0].nremoved, 1);
	assert_int_equal(d.v[0].nadded, 0);
	/* laid out afresh (equal runs), a shorter list moves every cut; from the previous layout it would move none */
	diff_tables(fresh, t, &df);
	assert_true(df.structural);
	diff_release(&d);
	diff_release(&df);
	rs_table_free(again);
	rs_table_free(less);
	rs_table_free(shorter);
	rs_table_free(t2);
	rs_table_free(fresh);
}

/* a shard that overflows is split inside itself; the other boundaries stay */
static void test_split_touches_one_shard(void **state)
{
	struct sharded *f = *state;
	struct rs_table *t = f->t;
	struct rs_table *crowded = logical(LIST_N, 0x10000101u, CROWD_N), *t2 = shard_layout(crowded, t);
	size_t before = count_shards(t), after = count_shards(t2);
	uint32_t c, second = UINT32_MAX;

	assert_true(after > before);
	for (size_t i = 0; i < t->nsets; i++)
		if (shard_cut(t->sets[i]->name, &c))
			assert_non_null(rs_table_find_set(t2, t->sets[i]->name));
	/* only the first shard (where the crowd is) gained cuts: every new one is inside it, below the second old cut */
	for (size_t i = 0; i < t->nsets; i++)
		if (shard_cut(t->sets[i]->name, &c) && c && c < second)
			second = c;
	for (size_t i = 0; i < t2->nsets; i++)
		if (shard_cut(t2->sets[i]->name, &c) && !rs_table_find_set(t, t2->sets[i]->name))
			assert_true(c > 0 && c < second);
	rs_table_free(crowded);
	rs_table_free(t2);
}

static void test_names(void **state)
{
	unsigned char cut[16] = { 0x0a, 0x01, 0x00, 0x00 }, got[16];
	char *set = shard_set_name("bl.v4", cut, 4), *map = shard_map_name("svc.a.src.v4", "svc.a");
	char *chain = shard_chain_name("bl.v4", cut, 4, "svc.x.y"), *list, *owner;
	size_t klen;

	(void)state;
	assert_string_equal(set, "bl.v4.s0a010000");
	assert_string_equal(map, "svc.a.src.v4.in.svc.a");
	assert_string_equal(chain, "bl.v4.s0a010000.in.svc.x.y");
	assert_true(shard_parse_set(set, &list, got, &klen));
	assert_string_equal(list, "bl.v4");
	assert_int_equal(klen, 4);
	assert_memory_equal(got, cut, 4);
	free(list);
	assert_true(shard_parse_map(map, &list, &owner));
	assert_string_equal(list, "svc.a.src.v4");
	assert_string_equal(owner, "svc.a");
	free(list);
	free(owner);
	assert_true(shard_parse_chain(chain, &list, &owner));
	assert_string_equal(list, "bl.v4");
	assert_string_equal(owner, "svc.x.y");
	free(list);
	free(owner);
	/* names of other kinds are not shards */
	assert_false(shard_parse_set("bl.v4", &list, got, &klen));
	assert_false(shard_parse_set("bl.v4.s0a01", &list, got, &klen));
	assert_false(shard_parse_set("bl.v4.s0a010000x", &list, got, &klen));
	assert_false(shard_parse_set(map, &list, got, &klen));
	assert_false(shard_parse_map("services", &list, &owner));
	assert_false(shard_parse_map(set, &list, &owner));
	assert_false(shard_parse_chain("svc.https", &list, &owner));
	assert_false(shard_parse_chain(map, &list, &owner));
	free(set);
	free(map);
	free(chain);
}

/* the lockout guard's evaluator answers through the dispatch map exactly as through one set */
static void test_evaluate_through_dispatch(void **state)
{
	struct sharded *f = *state;
	struct rs_table *l = f->l, *t = f->t;
	static const uint32_t probes[] = { 0x10000000u, 0x100000ffu, 0x10000100u, 0x10004c00u, 0x1000fffeu,
					   0x11388000u, 0x0fffffffu, 0xc0000201u };

	(void)state;
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		struct packet p = { 0 };
		struct eval_trace why;

		p.family = 4;
		p.l4proto = 6;
		p.dport = 443;
		p.saddr[0] = (uint8_t)(probes[i] >> 24);
		p.saddr[1] = (uint8_t)(probes[i] >> 16);
		p.saddr[2] = (uint8_t)(probes[i] >> 8);
		p.saddr[3] = (uint8_t)probes[i];
		enum verdict want = probes[i] >= 0x10000000u && probes[i] < 0x10000000u + LIST_N * 1024u &&
						    (probes[i] & 0x3ff) < 0x100 ? EVAL_DROP : EVAL_ACCEPT;

		assert_int_equal(evaluate(l, rs_table_find_chain(l, "input"), &p, &why), want);
		assert_int_equal(evaluate(t, rs_table_find_chain(t, "input"), &p, &why), want);
	}
}

/* Decoding text: the table, or NULL with *error set. */
static struct rs_table *snapshot_of(const char *text, char **error)
{
	struct rs_table *t = NULL;
	struct snapshot_info got;

	*error = NULL;
	if (!snapshot_decode(text, &t, &got, error))
		return NULL;
	snapshot_info_release(&got);
	return t;
}

/* doc with the member key of the chain at index chain set to value (NULL: removed), as text */
static char *altered(json_t *doc, size_t chain, const char *key, json_t *value)
{
	json_t *copy = json_deep_copy(doc);
	json_t *c = json_array_get(json_object_get(json_object_get(copy, "ruleset"), "chains"), chain);
	char *text;

	if (value)
		json_object_set_new(c, key, value);
	else
		json_object_del(c, key);
	text = json_dumps(copy, JSON_COMPACT);
	json_decref(copy);
	return text;
}

/* doc altered as altered() does is refused as damage */
static void assert_refused(json_t *doc, size_t chain, const char *key, json_t *value)
{
	char *bad = altered(doc, chain, key, value), *error;

	assert_null(snapshot_of(bad, &error));
	assert_non_null(error);
	free(error);
	free(bad);
}

/* A shard's chain is written once per run with a count, and read back as the run: the same table; a count the
 * dispatch map cannot back, or on a chain that is no shard's, is damage. */
static void test_shard_chains_repeated(void **state)
{
	struct sharded *f = *state;
	struct rs_table *t = f->t, *back;
	struct snapshot_info info = { (char *)"t", (char *)"test", NULL, 0, NULL };
	size_t left_out, shards = count_shards(t), runs = 0, input = 0;
	char *text = snapshot_encode(t, &info, &left_out), *bad, *error;
	json_t *doc = json_loads(text, 0, NULL), *chains, *map;

	assert_int_equal(shards, 5);
	chains = json_object_get(json_object_get(doc, "ruleset"), "chains");
	/* input, svc.x and two dispatch maps' runs of five chains, each written as one */
	assert_int_equal(json_array_size(chains), t->nchains - 2 * (shards - 1));
	for (size_t i = 0; i < json_array_size(chains); i++) {
		json_t *c = json_array_get(chains, i);

		if (strcmp(json_string_value(json_object_get(c, "name")), "input") == 0)
			input = i;
		if (json_object_get(c, "repeat")) {
			assert_int_equal(json_integer_value(json_object_get(c, "repeat")), shards - 1);
			runs++;
		}
	}
	assert_int_equal(runs, 2);
	back = snapshot_of(text, &error);
	assert_non_null(back);
	assert_same_text(t, back);
	rs_table_free(back);

	for (size_t i = 0; i < json_array_size(chains); i++) {
		if (!json_object_get(json_array_get(chains, i), "repeat"))
			continue;
		/* more than the map has, none, a count that is no count; fewer: the map jumps to chains not there */
		assert_refused(doc, i, "repeat", json_integer((json_int_t)shards));
		assert_refused(doc, i, "repeat", json_integer(0));
		assert_refused(doc, i, "repeat", json_string("4"));
		assert_refused(doc, i, "repeat", json_integer((json_int_t)shards - 2));
	}
	/* on a chain that is no shard's */
	assert_refused(doc, input, "repeat", json_integer(1));
	/* a dispatch map whose second element jumps elsewhere: the chain made for it would not be the one it names */
	map = NULL;
	for (size_t i = 0; !map && i < json_array_size(json_object_get(json_object_get(doc, "ruleset"), "sets")); i++) {
		map = json_array_get(json_object_get(json_object_get(doc, "ruleset"), "sets"), i);
		if (!json_is_true(json_object_get(map, "vmap")) || strstr(json_string_value(json_object_get(map, "name")),
									   ".in.") == NULL)
			map = NULL;
	}
	assert_non_null(map);
	json_object_set_new(json_array_get(json_object_get(map, "verdicts"), 1), "chain", json_string("input"));
	bad = json_dumps(doc, JSON_COMPACT);
	assert_null(snapshot_of(bad, &error));
	free(error);
	free(bad);
	json_decref(doc);
	free(text);
}

/* the binary form: a sharded table back whole; cut short or changed, refused */
static void test_binary_form(void **state)
{
	struct sharded *f = *state;
	struct rs_table *t = f->t, *back = NULL;
	struct snapshot_info info = { (char *)"t", (char *)"test", (char *)"generation=1", 0, NULL }, got;
	size_t len, left_out;
	char *bin = record_bin_encode(t, &info, NULL, 0, &len, &left_out), *error = NULL, *stamp;

	assert_true(record_bin_is(bin, len));
	stamp = record_bin_stamp(bin, len);
	assert_string_equal(stamp, "generation=1");
	free(stamp);
	assert_decodes_to(bin, len, NULL, 0, t);
	assert_false(record_bin_decode(bin, len - 8, NULL, 0, &back, &got, NULL, NULL, &error));
	assert_null(back);
	free(error);
	error = NULL;
	bin[len - 100] ^= 1;
	assert_false(record_bin_decode(bin, len, NULL, 0, &back, &got, NULL, NULL, &error));
	assert_non_null(strstr(error, "checksum"));
	free(error);
	free(bin);
}

/* based on another table, a snapshot holds only the shards that differ, and needs that table's file to be read */
static void test_based_form(void **state)
{
	struct sharded *f = *state;
	struct rs_table *l0 = f->l, *t0 = f->t;
	struct rs_table *l1 = logical(LIST_N - 1, 0, 0), *t1 = shard_layout(l1, t0), *back = NULL;
	struct snapshot_info info = { (char *)"t", (char *)"test", (char *)"generation=2", 0, NULL }, got;
	size_t whole, len, left_out, blen, olen;
	char *full = record_bin_encode(t1, &info, NULL, 0, &whole, &left_out);
	char *base = record_bin_encode(t0, &info, NULL, 0, &blen, &left_out);
	char *other = record_bin_encode(l0, &info, NULL, 0, &olen, &left_out);
	char *bin = record_bin_encode(t1, &info, t0, record_bin_sum(base, blen), &len, &left_out), *error = NULL;

	free(full);
	assert_true(len < whole / 4);
	assert_true(record_bin_delta_bytes(t1, t0) > 0 && record_bin_delta_bytes(t1, t0) <= 8 * SHARD_SPLIT);
	assert_int_equal(record_bin_base_sum(bin, len), record_bin_sum(base, blen));
	assert_decodes_to(bin, len, base, blen, t1);
	/* without its base, or with one that lacks its sets, or a damaged one, it is refused */
	assert_false(record_bin_decode(bin, len, NULL, 0, &back, &got, NULL, NULL, &error));
	free(error);
	error = NULL;
	assert_false(record_bin_decode(bin, len, other, olen, &back, &got, NULL, NULL, &error));
	assert_null(back);
	assert_non_null(strstr(error, "does not match the base"));
	free(error);
	error = NULL;
	/* one bit anywhere in the base: its JSON part (never decoded), the middle and the end of its elements */
	for (size_t i = 0, at[] = { 58, blen / 2, blen - 8 }; i < 3; i++) {
		base[at[i]] ^= 1;
		assert_false(record_bin_decode(bin, len, base, blen, &back, &got, NULL, NULL, &error));
		assert_null(back);
		free(error);
		error = NULL;
		base[at[i]] ^= 1;
	}
	assert_decodes_to(bin, len, base, blen, t1);
	free(bin);
	free(base);
	free(other);
	rs_table_free(l1);
	rs_table_free(t1);
}

static uint64_t le(const uint8_t *p, int bytes)
{
	uint64_t v = 0;

	for (int i = bytes - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The same file as format 2 wrote it: no digests in the element part, the single-lane checksum. */
static char *as_format2(const char *bin, size_t len, size_t *out_len)
{
	const uint8_t *p = (const uint8_t *)bin;
	uint64_t json_len = le(p + 16, 8);
	size_t off = 48 + ((json_len + 7) & ~(uint64_t)7), o;
	uint8_t *out = calloc(1, len);

	memcpy(out, bin, off);
	out[8] = 2;
	for (o = off; off < len;) {
		uint64_t nlen = le(p + off, 4), stride = le(p + off + 4, 4), nelem = le(p + off + 8, 8);
		size_t body = ((nlen + 7) & ~7u) + ((nelem * stride + 7) & ~(uint64_t)7);

		memcpy(out + o, p + off, 16);
		memcpy(out + o + 16, p + off + 48, body);
		o += 16 + body;
		off += 48 + body;
	}
	put_le64(out + 24, o - 48 - ((json_len + 7) & ~(uint64_t)7));
	put_le64(out + 32, hash64_serial(out + 48, o - 48));
	*out_len = o;
	return (char *)out;
}

/* snapshots an earlier tlswall saved (format 2) are still read, whole and as a base */
static void test_format2_read(void **state)
{
	struct sharded *f = *state;
	struct rs_table *t0 = f->t, *l1 = logical(LIST_N - 1, 0, 0), *t1 = shard_layout(l1, t0);
	struct snapshot_info info = { (char *)"t", (char *)"test", (char *)"generation=2", 0, NULL };
	size_t blen, len2, len, left_out;
	char *base = record_bin_encode(t0, &info, NULL, 0, &blen, &left_out);
	char *old = as_format2(base, blen, &len2);
	char *bin = record_bin_encode(t1, &info, t0, record_bin_sum(old, len2), &len, &left_out);

	assert_true(len2 < blen);
	assert_decodes_to(old, len2, NULL, 0, t0);
	assert_decodes_to(bin, len, old, len2, t1);
	free(bin);
	free(old);
	free(base);
	rs_table_free(t1);
	rs_table_free(l1);
}

#define SHARDED(test) cmocka_unit_test_setup_teardown(test, sharded_setup, sharded_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threshold),
		SHARDED(test_collapse_is_logical),
		SHARDED(test_collapse_sums_counters),
		SHARDED(test_boundaries_kept),
		SHARDED(test_split_touches_one_shard),
		cmocka_unit_test(test_names),
		SHARDED(test_evaluate_through_dispatch),
		SHARDED(test_shard_chains_repeated),
		SHARDED(test_binary_form),
		SHARDED(test_based_form),
		SHARDED(test_format2_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
