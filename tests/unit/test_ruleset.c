/* Unit tests for ruleset.c: sorting and lookup in sets and maps (the evaluator and the services-map owner lookup
 * depend on them), and rule equality (what diff calls "the same rule"). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "tlswall/ruleset.h"

static void v4(const char *text, uint8_t out[4])
{
	assert_int_equal(inet_pton(AF_INET, text, out), 1);
}

static void v6(const char *text, uint8_t out[16])
{
	assert_int_equal(inet_pton(AF_INET6, text, out), 1);
}

static void add4(struct rs_set *s, const char *first, const char *last)
{
	uint8_t a[4], b[4];

	v4(first, a);
	v4(last, b);
	rs_set_add(s, a, b, NULL);
}

static void add6(struct rs_set *s, const char *first, const char *last)
{
	uint8_t a[16], b[16];

	v6(first, a);
	v6(last, b);
	rs_set_add(s, a, b, NULL);
}

static long find4(const struct rs_set *s, const char *addr)
{
	uint8_t a[4];

	v4(addr, a);
	return rs_set_lookup(s, a);
}

static long find6(const struct rs_set *s, const char *addr)
{
	uint8_t a[16];

	v6(addr, a);
	return rs_set_lookup(s, a);
}

static void assert_sorted(const struct rs_set *s)
{
	size_t klen = rs_keylen(s->key);

	for (size_t i = 1; i < s->nelem; i++)
		assert_true(memcmp(rs_set_elem(s, i - 1), rs_set_elem(s, i), klen) < 0);
}

static int table_alloc(void **state)
{
	*state = rs_table_alloc("t");
	return 0;
}

static int table_free(void **state)
{
	rs_table_free(*state);
	return 0;
}

static void test_key_sizes(void **state)
{
	struct rs_table *t = *state;

	assert_int_equal(rs_keylen(RS_KEY_IPV4), 4);
	assert_int_equal(rs_keylen(RS_KEY_IPV6), 16);
	assert_int_equal(rs_keylen(RS_KEY_PROTO_PORT), 3);
	assert_int_equal(rs_set_stride(rs_table_add_set(t, "a", RS_KEY_IPV4, true)), 8);
	assert_int_equal(rs_set_stride(rs_table_add_set(t, "b", RS_KEY_IPV6, true)), 32);
	assert_int_equal(rs_set_stride(rs_table_add_set(t, "c", RS_KEY_PROTO_PORT, false)), 3);
	assert_ptr_equal(rs_table_find_set(t, "b"), t->sets[1]);
	assert_null(rs_table_find_set(t, "d"));
	assert_null(rs_table_find_chain(t, "a"));
}

/* IPv4 ranges added out of order: sorted by start, and every boundary found exactly. */
static void test_ipv4_intervals(void **state)
{
	struct rs_table *t = *state;
	struct rs_set *s = rs_table_add_set(t, "s", RS_KEY_IPV4, true);
	static const struct {
		const char *addr;
		long index;
	} probes[] = {
		{ "0.0.0.0", 0 },         { "0.0.0.1", -1 },          { "9.255.255.255", -1 },  { "10.0.0.0", 1 },
		{ "10.128.0.1", 1 },      { "10.255.255.255", 1 },     { "11.0.0.0", -1 },       { "192.0.2.0", -1 },
		{ "192.0.2.1", 2 },       { "192.0.2.2", -1 },         { "192.0.2.3", 3 },       { "192.0.2.4", -1 },
		{ "198.51.99.255", -1 },  { "198.51.100.0", 4 },       { "198.51.100.255", 4 },  { "198.51.101.0", -1 },
		{ "255.255.255.254", -1 }, { "255.255.255.255", 5 },
	};
	uint8_t first[4];

	add4(s, "198.51.100.0", "198.51.100.255");
	add4(s, "255.255.255.255", "255.255.255.255");
	add4(s, "192.0.2.3", "192.0.2.3");
	add4(s, "10.0.0.0", "10.255.255.255");
	add4(s, "0.0.0.0", "0.0.0.0");
	add4(s, "192.0.2.1", "192.0.2.1");
	rs_set_sort(s);
	assert_int_equal(s->nelem, 6);
	assert_sorted(s);
	v4("192.0.2.3", first);
	assert_memory_equal(rs_set_elem(s, 3), first, 4);
	assert_memory_equal(rs_set_elem(s, 3) + 4, first, 4);
	for (size_t i = 0; i < sizeof(probes) / sizeof(*probes); i++)
		if (find4(s, probes[i].addr) != probes[i].index)
			fail_msg("%s: found at %ld, expected %ld", probes[i].addr, find4(s, probes[i].addr),
				 probes[i].index);
}

static void test_ipv4_whole_space_and_empty(void **state)
{
	struct rs_table *t = *state;
	struct rs_set *all = rs_table_add_set(t, "all", RS_KEY_IPV4, true);
	struct rs_set *none = rs_table_add_set(t, "none", RS_KEY_IPV4, true);
	struct rs_set *one = rs_table_add_set(t, "one", RS_KEY_IPV4, true);

	add4(all, "0.0.0.0", "255.255.255.255");
	rs_set_sort(all);
	rs_set_sort(none);
	add4(one, "192.0.2.9", "192.0.2.9");
	rs_set_sort(one);
	assert_int_equal(find4(all, "0.0.0.0"), 0);
	assert_int_equal(find4(all, "127.0.0.1"), 0);
	assert_int_equal(find4(all, "255.255.255.255"), 0);
	assert_int_equal(find4(none, "0.0.0.0"), -1);
	assert_int_equal(find4(none, "255.255.255.255"), -1);
	assert_int_equal(find4(one, "192.0.2.9"), 0);
	assert_int_equal(find4(one, "192.0.2.8"), -1);
	assert_int_equal(find4(one, "192.0.2.10"), -1);
}

static void test_ipv6_intervals(void **state)
{
	struct rs_table *t = *state;
	struct rs_set *s = rs_table_add_set(t, "s", RS_KEY_IPV6, true);
	struct rs_set *all = rs_table_add_set(t, "all", RS_KEY_IPV6, true);
	struct rs_set *ends = rs_table_add_set(t, "ends", RS_KEY_IPV6, true);

	add6(s, "2001:db8:ff::", "2001:db8:ff:ffff:ffff:ffff:ffff:ffff");
	add6(s, "2001:db8::1", "2001:db8::1");
	add6(s, "fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	rs_set_sort(s);
	assert_sorted(s);
	assert_int_equal(find6(s, "2001:db8::"), -1);
	assert_int_equal(find6(s, "2001:db8::1"), 0);
	assert_int_equal(find6(s, "2001:db8::2"), -1);
	assert_int_equal(find6(s, "2001:db8:fe:ffff:ffff:ffff:ffff:ffff"), -1);
	assert_int_equal(find6(s, "2001:db8:ff::"), 1);
	assert_int_equal(find6(s, "2001:db8:ff:1234::1"), 1);
	assert_int_equal(find6(s, "2001:db8:ff:ffff:ffff:ffff:ffff:ffff"), 1);
	assert_int_equal(find6(s, "2001:db8:100::"), -1);
	assert_int_equal(find6(s, "fe80::1"), 2);
	assert_int_equal(find6(s, "fec0::"), -1);
	assert_int_equal(find6(s, "::"), -1);
	assert_int_equal(find6(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), -1);

	/* ::/0 */
	add6(all, "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	rs_set_sort(all);
	assert_int_equal(find6(all, "::"), 0);
	assert_int_equal(find6(all, "::1"), 0);
	assert_int_equal(find6(all, "8000::"), 0);
	assert_int_equal(find6(all, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 0);

	/* the first and the last address alone */
	add6(ends, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	add6(ends, "::", "::");
	rs_set_sort(ends);
	assert_int_equal(find6(ends, "::"), 0);
	assert_int_equal(find6(ends, "::1"), -1);
	assert_int_equal(find6(ends, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"), -1);
	assert_int_equal(find6(ends, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 1);
}

/* A single-key set: rs_set_add with last NULL. */
static void test_single_keys(void **state)
{
	struct rs_table *t = *state;
	struct rs_set *s = rs_table_add_set(t, "ports", RS_KEY_PROTO_PORT, false);
	static const uint8_t keys[][3] = { { 17, 1, 187 }, { 6, 3, 225 }, { 6, 1, 187 }, { 6, 0, 22 } };
	uint8_t probe[3];

	for (size_t i = 0; i < 4; i++)
		rs_set_add(s, keys[i], NULL, NULL);
	rs_set_sort(s);
	assert_int_equal(s->nelem, 4);
	assert_sorted(s);
	assert_int_equal(rs_set_lookup(s, keys[3]), 0); /* tcp . 22 */
	assert_int_equal(rs_set_lookup(s, keys[2]), 1); /* tcp . 443 */
	assert_int_equal(rs_set_lookup(s, keys[1]), 2); /* tcp . 993 */
	assert_int_equal(rs_set_lookup(s, keys[0]), 3); /* udp . 443 */
	memcpy(probe, keys[2], 3);
	probe[2]++;
	assert_int_equal(rs_set_lookup(s, probe), -1);   /* tcp . 444 */
	probe[0] = 17;
	probe[2] = 186;
	assert_int_equal(rs_set_lookup(s, probe), -1);   /* udp . 442 */
	probe[0] = 1;
	assert_int_equal(rs_set_lookup(s, probe), -1);
}

/* A verdict map sorted: each key keeps its own verdict. */
static void test_map_sorted_with_verdicts(void **state)
{
	struct rs_table *t = *state;
	struct rs_set *map = rs_table_add_set(t, "services", RS_KEY_PROTO_PORT, true);
	static const struct {
		uint8_t proto;
		uint16_t first, last;
		enum rs_verdict_code code;
		const char *chain;
	} in[] = {
		{ 17, 443, 443, RS_JUMP, "svc.https" }, { 6, 50000, 50100, RS_GOTO, "svc.ftps" },
		{ 6, 993, 993, RS_JUMP, "svc.imaps" },  { 6, 443, 443, RS_ACCEPT, NULL },
		{ 6, 22, 22, RS_DROP, NULL },
	};
	static const size_t order[] = { 4, 3, 2, 1, 0 };

	map->vmap = true;
	for (size_t i = 0; i < 5; i++) {
		uint8_t a[3] = { in[i].proto, (uint8_t)(in[i].first >> 8), (uint8_t)in[i].first };
		uint8_t b[3] = { in[i].proto, (uint8_t)(in[i].last >> 8), (uint8_t)in[i].last };
		char *chain = in[i].chain ? strdup(in[i].chain) : NULL;
		struct rs_verdict v = { in[i].code, chain };

		rs_set_add(map, a, b, &v);
		free(chain);
	}
	rs_set_sort(map);
	assert_sorted(map);
	for (size_t k = 0; k < 5; k++) {
		size_t i = order[k];
		uint8_t probe[3] = { in[i].proto, (uint8_t)(in[i].last >> 8), (uint8_t)in[i].last };

		assert_int_equal(map->data[k].code, in[i].code);
		if (in[i].chain)
			assert_string_equal(map->data[k].chain, in[i].chain);
		else
			assert_null(map->data[k].chain);
		assert_int_equal(rs_set_lookup(map, probe), (long)k);
	}
	{
		uint8_t mid[3] = { 6, 50050 >> 8, 50050 & 0xff }, past[3] = { 6, 50101 >> 8, 50101 & 0xff };

		assert_int_equal(rs_set_lookup(map, mid), 3);
		assert_int_equal(rs_set_lookup(map, past), -1);
	}
}

/* Many /32s, shuffled: after sorting, every one is found where it is, and lookups agree with a linear scan. */
static void test_lookup_agrees_with_scan(void **state)
{
	struct rs_table *t = *state;
	struct rs_set *s = rs_table_add_set(t, "many", RS_KEY_IPV4, true);
	uint32_t x = 12345;

	for (size_t i = 0; i < 2000; i++) {
		uint8_t a[4], b[4];
		uint32_t span;

		x = x * 1103515245u + 12345u;
		/* ranges at multiples of 4096, of 1..4096 addresses: never overlapping */
		a[0] = (uint8_t)(i >> 4);
		a[1] = (uint8_t)((i & 15) << 4);
		a[2] = 0;
		a[3] = 0;
		span = (x >> 8) % 4096;
		memcpy(b, a, 4);
		b[2] = (uint8_t)(span >> 8);
		b[3] = (uint8_t)span;
		rs_set_add(s, a, b, NULL);
	}
	/* shuffle */
	for (size_t i = s->nelem - 1; i > 0; i--) {
		size_t j;
		uint8_t tmp[8];

		x = x * 1103515245u + 12345u;
		j = (x >> 8) % (i + 1);
		memcpy(tmp, s->elems + i * 8, 8);
		memcpy(s->elems + i * 8, s->elems + j * 8, 8);
		memcpy(s->elems + j * 8, tmp, 8);
	}
	rs_set_sort(s);
	assert_sorted(s);
	for (size_t i = 0; i < s->nelem; i++) {
		assert_int_equal(rs_set_lookup(s, rs_set_elem(s, i)), (long)i);
		assert_int_equal(rs_set_lookup(s, rs_set_elem(s, i) + 4), (long)i);
	}
	for (size_t n = 0; n < 5000; n++) {
		uint8_t probe[4];
		long want = -1;

		x = x * 1103515245u + 12345u;
		probe[0] = (uint8_t)(x >> 24);
		probe[1] = (uint8_t)(x >> 16);
		probe[2] = (uint8_t)(x >> 8);
		probe[3] = (uint8_t)(n & 0xff);
		for (size_t i = 0; i < s->nelem && want < 0; i++)
			if (memcmp(rs_set_elem(s, i), probe, 4) <= 0 && memcmp(probe, rs_set_elem(s, i) + 4, 4) <= 0)
				want = (long)i;
		assert_int_equal(rs_set_lookup(s, probe), want);
	}
}

/* ---- rule equality */

/* iifname "eth0" ip saddr @office.v4 limit rate 3/minute burst 5 packets log prefix "x" counter accept */
static struct rs_rule *full_rule(struct rs_chain *c)
{
	struct rs_rule *r = rs_chain_add_rule(c);
	struct rs_stmt *st;

	rs_match_add_str(rs_rule_match(r, RS_SEL_IIFNAME, RS_OP_EQ), "eth0");
	rs_rule_match(r, RS_SEL_IP_SADDR, RS_OP_SET)->set = strdup("office.v4");
	st = rs_rule_add(r, RS_STMT_LIMIT);
	st->u.limit.rate = 3;
	st->u.limit.unit = RS_PER_MINUTE;
	st->u.limit.burst = 5;
	rs_rule_add(r, RS_STMT_LOG)->u.log.prefix = strdup("x");
	rs_rule_counter(r);
	rs_rule_verdict(r, RS_ACCEPT, NULL);
	return r;
}

enum { IIF, SADDR, LIMIT, LOG, COUNTER, VERDICT };

static void counted(struct rs_rule *r)
{
	r->stmts[COUNTER].u.counter.packets = 12;
	r->stmts[COUNTER].u.counter.bytes = 3400;
}

static void handled(struct rs_rule *r)
{
	r->handle = 99;
}

static void foreign(struct rs_rule *r)
{
	r->foreign = true;
}

static void located(struct rs_rule *r)
{
	r->src_file = "other.conf";
	r->src_line = 7;
}

static void commented(struct rs_rule *r)
{
	r->comment = strdup("x");
}

static void other_iface(struct rs_rule *r)
{
	strcpy(r->stmts[IIF].u.match.vals[0].str, "eth1");
}

static void negated(struct rs_rule *r)
{
	r->stmts[IIF].u.match.op = RS_OP_NEQ;
}

static void more_values(struct rs_rule *r)
{
	rs_match_add_str(&r->stmts[IIF].u.match, "eth1");
}

static void other_selector(struct rs_rule *r)
{
	r->stmts[IIF].u.match.sel = RS_SEL_IIF;
}

static void other_set(struct rs_rule *r)
{
	free(r->stmts[SADDR].u.match.set);
	r->stmts[SADDR].u.match.set = strdup("office.v6");
}

static void other_rate(struct rs_rule *r)
{
	r->stmts[LIMIT].u.limit.rate = 4;
}

static void other_unit(struct rs_rule *r)
{
	r->stmts[LIMIT].u.limit.unit = RS_PER_HOUR;
}

static void other_burst(struct rs_rule *r)
{
	r->stmts[LIMIT].u.limit.burst = 6;
}

static void other_prefix(struct rs_rule *r)
{
	free(r->stmts[LOG].u.log.prefix);
	r->stmts[LOG].u.log.prefix = strdup("y");
}

static void no_prefix(struct rs_rule *r)
{
	free(r->stmts[LOG].u.log.prefix);
	r->stmts[LOG].u.log.prefix = NULL;
}

static void drops(struct rs_rule *r)
{
	r->stmts[VERDICT].u.verdict.code = RS_DROP;
}

static void jumps(struct rs_rule *r)
{
	r->stmts[VERDICT].u.verdict.code = RS_JUMP;
	r->stmts[VERDICT].u.verdict.chain = strdup("a");
}

static void rejects(struct rs_rule *r)
{
	r->stmts[VERDICT].kind = RS_STMT_REJECT;
}

static void one_more(struct rs_rule *r)
{
	rs_rule_counter(r);
}

static void one_less(struct rs_rule *r)
{
	rs_stmt_release(&r->stmts[--r->nstmts]);
}

static void swapped(struct rs_rule *r)
{
	struct rs_stmt tmp = r->stmts[LOG];

	r->stmts[LOG] = r->stmts[COUNTER];
	r->stmts[COUNTER] = tmp;
}

static void test_rule_equal(void **state)
{
	static const struct {
		const char *what;
		void (*change)(struct rs_rule *);
		bool equal;
	} cases[] = {
		{ "counter values", counted, true },
		{ "kernel handle", handled, true },
		{ "made by someone else", foreign, true },
		{ "policy line", located, true },
		{ "comment", commented, false },
		{ "interface", other_iface, false },
		{ "op", negated, false },
		{ "one more value", more_values, false },
		{ "selector", other_selector, false },
		{ "set", other_set, false },
		{ "limit rate", other_rate, false },
		{ "limit unit", other_unit, false },
		{ "limit burst", other_burst, false },
		{ "log prefix", other_prefix, false },
		{ "no log prefix", no_prefix, false },
		{ "verdict", drops, false },
		{ "jump", jumps, false },
		{ "reject instead of a verdict", rejects, false },
		{ "one statement more", one_more, false },
		{ "one statement less", one_less, false },
		{ "statement order", swapped, false },
	};
	struct rs_chain *c = rs_table_add_chain(*state, "c");
	struct rs_rule *base = full_rule(c);

	assert_true(rs_rule_equal(base, base));
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct rs_rule *r = full_rule(c);

		assert_true(rs_rule_equal(base, r));
		cases[i].change(r);
		if (rs_rule_equal(base, r) != cases[i].equal || rs_rule_equal(r, base) != cases[i].equal)
			fail_msg("rules that differ in %s are %s", cases[i].what, cases[i].equal ? "not equal" : "equal");
	}
	/* two comments */
	{
		struct rs_rule *a = full_rule(c), *b = full_rule(c);

		a->comment = strdup("x");
		b->comment = strdup("x");
		assert_true(rs_rule_equal(a, b));
		free(b->comment);
		b->comment = strdup("y");
		assert_false(rs_rule_equal(a, b));
	}
}

/* A rule tlswall cannot read equals another only if libnftnl prints both the same. */
static void test_unreadable_rule_equal(void **state)
{
	struct rs_chain *c = rs_table_add_chain(*state, "c");
	struct rs_rule *a = full_rule(c), *b = full_rule(c), *readable = full_rule(c);

	a->unreadable = b->unreadable = true;
	a->raw_text = strdup("[ payload load 2b @ transport header + 0 => reg 1 ]");
	b->raw_text = strdup("[ payload load 2b @ transport header + 0 => reg 1 ]");
	assert_true(rs_rule_equal(a, b));
	assert_false(rs_rule_equal(a, readable));
	assert_false(rs_rule_equal(readable, a));
	free(b->raw_text);
	b->raw_text = strdup("[ payload load 2b @ transport header + 2 => reg 1 ]");
	assert_false(rs_rule_equal(a, b));
}

static void test_counters_and_drops(void **state)
{
	struct rs_chain *c = rs_table_add_chain(*state, "c");
	struct rs_rule *a = full_rule(c), *b = full_rule(c);
	uint64_t packets = 0, bytes = 0;

	a->stmts[COUNTER].u.counter.packets = 3;
	a->stmts[COUNTER].u.counter.bytes = 300;
	b->stmts[COUNTER].u.counter.packets = 4;
	b->stmts[COUNTER].u.counter.bytes = 1000;
	rs_rule_counters(a, &packets, &bytes);
	assert_int_equal(packets, 3);
	assert_int_equal(bytes, 300);
	packets = bytes = 0;
	rs_chain_counters(c, &packets, &bytes);
	assert_int_equal(packets, 7);
	assert_int_equal(bytes, 1300);
	assert_false(rs_rule_drops(a));
	drops(a);
	assert_true(rs_rule_drops(a));
	rejects(b);
	assert_true(rs_rule_drops(b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_key_sizes, table_alloc, table_free),
		cmocka_unit_test_setup_teardown(test_ipv4_intervals, table_alloc, table_free),
		cmocka_unit_test_setup_teardown(test_ipv4_whole_space_and_empty, table_alloc, table_free),
		cmocka_unit_test_setup_teardown(test_ipv6_intervals, table_alloc, table_free),
		cmocka_unit_test_setup_teardown(test_single_keys, table_alloc, table_free),
		cmocka_unit_test_setup_teardown(test_map_sorted_with_verdicts, table_alloc, table_free),
		cmocka_unit_test_setup_teardown(test_lookup_agrees_with_scan, table_alloc, table_free),
		cmocka_unit_test_setup_teardown(test_rule_equal, table_alloc, table_free),
		cmocka_unit_test_setup_teardown(test_unreadable_rule_equal, table_alloc, table_free),
		cmocka_unit_test_setup_teardown(test_counters_and_drops, table_alloc, table_free),
	};

	return cmocka_run_group_tests_name("ruleset", tests, NULL, NULL);
}
