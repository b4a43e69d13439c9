/* Unit tests for diff.c: planned x live models -> the changes apply sends. Rules are aligned by longest common
 * subsequence, set elements by a merge of the sorted sets; anything beyond elements is structural (the table is
 * replaced), elements alone go as a delta. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tlswall/diff.h"
#include "built.h"

/* ---- building blocks: a rule is "th dport N accept", so rules are equal exactly when their ports are */

static struct rs_rule *port_rule(struct rs_chain *c, uint16_t port)
{
	struct rs_rule *r = rs_chain_add_rule(c);

	rs_match_add_num(rs_rule_match(r, RS_SEL_TH_DPORT, RS_OP_EQ), port);
	rs_rule_counter(r);
	rs_rule_verdict(r, RS_ACCEPT, NULL);
	return r;
}

/* table t with chain "c" holding one rule per port of ports[0..n) */
static struct rs_table *chain_of(const uint16_t *ports, size_t n)
{
	struct rs_table *t = rs_table_alloc("t");
	struct rs_chain *c = rs_table_add_chain(t, "c");

	for (size_t i = 0; i < n; i++)
		port_rule(c, ports[i]);
	return t;
}

static void add_v4(struct rs_set *s, const char *first, const char *last)
{
	uint8_t a[4], b[4];

	assert_int_equal(sscanf(first, "%hhu.%hhu.%hhu.%hhu", &a[0], &a[1], &a[2], &a[3]), 4);
	assert_int_equal(sscanf(last, "%hhu.%hhu.%hhu.%hhu", &b[0], &b[1], &b[2], &b[3]), 4);
	rs_set_add(s, a, b, NULL);
}

static void add_port(struct rs_set *map, uint8_t proto, uint16_t port, enum rs_verdict_code code, const char *target)
{
	uint8_t key[3] = { proto, (uint8_t)(port >> 8), (uint8_t)port };
	struct rs_verdict v = { code, target ? strdup(target) : NULL };

	rs_set_add(map, key, NULL, &v);
	free(v.chain);
}

static const struct change *only(const struct diff *d, enum change_kind kind)
{
	const struct change *found = NULL;

	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].kind == kind) {
			if (found)
				fail_msg("more than one change of kind %d", kind);
			found = &d->v[i];
		}
	if (!found)
		fail_msg("no change of kind %d", kind);
	return found;
}

static char *summary(const struct diff *d)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	diff_print_summary(d, out);
	fclose(out);
	return text;
}

#define assert_summary(d, want)                                                                 \
	do {                                                                                    \
		char *text_ = summary(d);                                                       \
		assert_string_equal(text_, want);                                               \
		free(text_);                                                                    \
	} while (0)

/* ---- rules */

static void test_rule_inserted_in_the_middle(void **state)
{
	static const uint16_t planned[] = { 1, 2, 3 }, live[] = { 1, 3 };
	struct rs_table *p = chain_of(planned, 3), *l = chain_of(live, 2);
	struct diff d;

	(void)state;
	diff_tables(p, l, &d);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].kind, CHANGE_RULE_ADD);
	assert_string_equal(d.v[0].object, "c");
	assert_int_equal(d.v[0].position, 1);
	assert_ptr_equal(d.v[0].rule, p->chains[0]->rules[1]);
	assert_true(d.structural);
	assert_summary(&d, "+1 rule\n");
	diff_release(&d);
	rs_table_free(p);
	rs_table_free(l);
}

static void test_rule_deleted(void **state)
{
	static const uint16_t planned[] = { 1, 3 }, live[] = { 1, 2, 3 };
	struct rs_table *p = chain_of(planned, 2), *l = chain_of(live, 3);
	struct diff d;

	(void)state;
	diff_tables(p, l, &d);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].kind, CHANGE_RULE_DEL);
	assert_int_equal(d.v[0].position, 1);
	assert_ptr_equal(d.v[0].rule, l->chains[0]->rules[1]);
	assert_true(d.structural);
	assert_summary(&d, "-1 rule\n");
	diff_release(&d);
	rs_table_free(p);
	rs_table_free(l);
}

/* the last rule moved to the front: one deletion and one insertion, the other two stay */
static void test_rules_reordered(void **state)
{
	static const uint16_t planned[] = { 1, 2, 3 }, live[] = { 3, 1, 2 };
	struct rs_table *p = chain_of(planned, 3), *l = chain_of(live, 3);
	struct diff d;

	(void)state;
	diff_tables(p, l, &d);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.v[0].kind, CHANGE_RULE_DEL);
	assert_int_equal(d.v[0].position, 0);
	assert_ptr_equal(d.v[0].rule, l->chains[0]->rules[0]);
	assert_int_equal(d.v[1].kind, CHANGE_RULE_ADD);
	assert_int_equal(d.v[1].position, 2);
	assert_ptr_equal(d.v[1].rule, p->chains[0]->rules[2]);
	diff_release(&d);
	rs_table_free(p);
	rs_table_free(l);
}

/* Counter values, kernel handles and who made a rule are not differences; a comment is. */
static void test_rule_equality_in_diff(void **state)
{
	static const uint16_t ports[] = { 1, 2 };
	struct rs_table *p = chain_of(ports, 2), *l = chain_of(ports, 2);
	struct rs_rule *r = l->chains[0]->rules[0];
	struct diff d;

	(void)state;
	r->stmts[1].u.counter.packets = 42;
	r->stmts[1].u.counter.bytes = 4200;
	r->handle = 7;
	l->chains[0]->handle = 3;
	l->handle = 1;
	diff_tables(p, l, &d);
	assert_true(diff_empty(&d));
	assert_false(d.structural);
	assert_summary(&d, "no changes\n");
	diff_release(&d);
	r->comment = strdup("by hand");
	diff_tables(p, l, &d);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.v[0].kind, CHANGE_RULE_DEL);
	assert_ptr_equal(d.v[0].rule, r);
	assert_int_equal(d.v[1].kind, CHANGE_RULE_ADD);
	assert_ptr_equal(d.v[1].rule, p->chains[0]->rules[0]);
	diff_release(&d);
	rs_table_free(p);
	rs_table_free(l);
}

/* every pair of port sequences of length 0..4 over 3 ports */
#define ALPHABET 3
#define MAXLEN 4

static size_t sequence(size_t code, uint16_t *out)
{
	size_t len = 0, first = 0, count = 1;

	/* code counts sequences by length, then lexicographically */
	while (code >= first + count) {
		first += count;
		count *= ALPHABET;
		len++;
	}
	code -= first;
	for (size_t i = len; i-- > 0;) {
		out[i] = (uint16_t)(1 + code % ALPHABET);
		code /= ALPHABET;
	}
	return len;
}

static size_t lcs_length(const uint16_t *a, size_t m, const uint16_t *b, size_t n)
{
	size_t len[MAXLEN + 1][MAXLEN + 1] = { { 0 } };

	for (size_t i = m; i-- > 0;)
		for (size_t j = n; j-- > 0;)
			len[i][j] = a[i] == b[j] ? len[i + 1][j + 1] + 1 :
				    len[i + 1][j] > len[i][j + 1] ? len[i + 1][j] : len[i][j + 1];
	return len[0][0];
}

/* What is kept of live (not deleted) is what is kept of planned (not added), in order; and the edit is minimal:
 * it keeps a longest common subsequence. */
static void test_rule_alignment_exhaustive(void **state)
{
	size_t nseq = 0;

	(void)state;
	for (size_t len = 0, count = 1; len <= MAXLEN; len++, count *= ALPHABET)
		nseq += count;
	for (size_t x = 0; x < nseq; x++)
		for (size_t y = 0; y < nseq; y++) {
			uint16_t a[MAXLEN], b[MAXLEN], kept_p[MAXLEN], kept_l[MAXLEN];
			size_t m = sequence(x, a), n = sequence(y, b), np = 0, nl = 0, adds = 0, dels = 0;
			bool added[MAXLEN] = { false }, deleted[MAXLEN] = { false };
			struct rs_table *p = chain_of(a, m), *l = chain_of(b, n);
			size_t last_add = 0, last_del = 0;
			struct diff d;

			diff_tables(p, l, &d);
			for (size_t i = 0; i < d.n; i++) {
				const struct change *c = &d.v[i];

				if (c->kind == CHANGE_RULE_ADD) {
					assert_true(c->position < m && !added[c->position]);
					assert_ptr_equal(c->rule, p->chains[0]->rules[c->position]);
					assert_true(adds == 0 || c->position > last_add);
					added[c->position] = true;
					last_add = c->position;
					adds++;
				} else if (c->kind == CHANGE_RULE_DEL) {
					assert_true(c->position < n && !deleted[c->position]);
					assert_ptr_equal(c->rule, l->chains[0]->rules[c->position]);
					assert_true(dels == 0 || c->position > last_del);
					deleted[c->position] = true;
					last_del = c->position;
					dels++;
				} else {
					fail_msg("unexpected change kind %d", c->kind);
				}
			}
			for (size_t i = 0; i < m; i++)
				if (!added[i])
					kept_p[np++] = a[i];
			for (size_t j = 0; j < n; j++)
				if (!deleted[j])
					kept_l[nl++] = b[j];
			assert_int_equal(np, nl);
			assert_memory_equal(kept_p, kept_l, np * sizeof(*kept_p));
			assert_int_equal(np, lcs_length(a, m, b, n));
			assert_int_equal(diff_empty(&d), m == n && np == m);
			diff_release(&d);
			rs_table_free(p);
			rs_table_free(l);
		}
}

/* ---- set elements */

static struct rs_table *with_set(const char *const (*ranges)[2], size_t n)
{
	struct rs_table *t = rs_table_alloc("t");
	struct rs_set *s = rs_table_add_set(t, "office.v4", RS_KEY_IPV4, true);

	for (size_t i = 0; i < n; i++)
		add_v4(s, ranges[i][0], ranges[i][1]);
	rs_set_sort(s);
	return t;
}

static void test_interval_elements_merged(void **state)
{
	static const char *const planned[][2] = {
		{ "10.0.0.0", "10.0.0.255" }, { "10.0.2.0", "10.0.2.255" }, { "10.0.3.0", "10.0.3.255" },
		{ "192.0.2.7", "192.0.2.7" },
	};
	static const char *const live[][2] = {
		{ "10.0.0.0", "10.0.0.255" }, { "10.0.1.0", "10.0.1.255" }, { "10.0.3.0", "10.0.3.127" },
		{ "192.0.2.7", "192.0.2.7" }, { "255.255.255.255", "255.255.255.255" },
	};
	struct rs_table *p = with_set(planned, 4), *l = with_set(live, 5);
	const struct change *c;
	struct diff d;

	(void)state;
	diff_tables(p, l, &d);
	assert_int_equal(d.n, 1);
	c = only(&d, CHANGE_ELEMS);
	assert_string_equal(c->object, "office.v4");
	assert_ptr_equal(c->planned_set, p->sets[0]);
	assert_ptr_equal(c->live_set, l->sets[0]);
	/* 10.0.2.0/24 and 10.0.3.0/24 (same start as a live range, another end) */
	assert_int_equal(c->nadded, 2);
	assert_int_equal(c->added[0], 1);
	assert_int_equal(c->added[1], 2);
	/* 10.0.1.0/24, 10.0.3.0/25, 255.255.255.255 */
	assert_int_equal(c->nremoved, 3);
	assert_int_equal(c->removed[0], 1);
	assert_int_equal(c->removed[1], 2);
	assert_int_equal(c->removed[2], 4);
	assert_false(d.structural);
	assert_summary(&d, "office.v4: +2 -3 elements\n");
	diff_release(&d);
	rs_table_free(p);

	/* elements only removed, then only added; and one element */
	p = with_set(planned, 0);
	diff_tables(p, l, &d);
	c = only(&d, CHANGE_ELEMS);
	assert_int_equal(c->nadded, 0);
	assert_int_equal(c->nremoved, 5);
	assert_false(d.structural);
	diff_release(&d);
	diff_tables(l, p, &d);
	c = only(&d, CHANGE_ELEMS);
	assert_int_equal(c->nadded, 5);
	assert_int_equal(c->nremoved, 0);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(c->added[i], i);
	diff_release(&d);
	rs_table_free(p);
	p = with_set(live, 4);
	diff_tables(p, l, &d);
	assert_summary(&d, "office.v4: -1 element\n");
	diff_release(&d);
	rs_table_free(p);
	rs_table_free(l);
}

static struct rs_table *with_map(const char *ssh_target)
{
	struct rs_table *t = rs_table_alloc("t");
	struct rs_set *map = rs_table_add_set(t, "services", RS_KEY_PROTO_PORT, false);

	map->vmap = true;
	add_port(map, 6, 443, RS_JUMP, "svc.https");
	add_port(map, 6, 22, ssh_target ? RS_JUMP : RS_DROP, ssh_target);
	add_port(map, 17, 443, RS_JUMP, "svc.https");
	rs_set_sort(map);
	rs_table_add_chain(t, "svc.https");
	rs_table_add_chain(t, "exempt.ssh");
	rs_table_add_chain(t, "exempt.ssh2");
	return t;
}

/* the same key with another verdict: the element goes and comes back */
static void test_vmap_verdict_change(void **state)
{
	struct rs_table *p = with_map("exempt.ssh2"), *l = with_map("exempt.ssh"), *drop = with_map(NULL);
	const struct change *c;
	struct diff d;

	(void)state;
	diff_tables(p, l, &d);
	assert_int_equal(d.n, 1);
	c = only(&d, CHANGE_ELEMS);
	assert_string_equal(c->object, "services");
	assert_int_equal(c->nadded, 1);
	assert_int_equal(c->nremoved, 1);
	assert_int_equal(c->added[0], 0); /* tcp . 22 sorts first */
	assert_int_equal(c->removed[0], 0);
	assert_string_equal(p->sets[0]->data[c->added[0]].chain, "exempt.ssh2");
	assert_string_equal(l->sets[0]->data[c->removed[0]].chain, "exempt.ssh");
	assert_false(d.structural);
	diff_release(&d);
	/* jump -> drop */
	diff_tables(drop, l, &d);
	c = only(&d, CHANGE_ELEMS);
	assert_int_equal(c->nadded, 1);
	assert_int_equal(c->nremoved, 1);
	assert_int_equal(drop->sets[0]->data[c->added[0]].code, RS_DROP);
	assert_false(d.structural);
	diff_release(&d);
	diff_tables(l, l, &d);
	assert_true(diff_empty(&d));
	diff_release(&d);
	rs_table_free(p);
	rs_table_free(l);
	rs_table_free(drop);
}

/* ---- objects: anything but elements makes the diff structural */

static void test_table_comment(void **state)
{
	struct rs_table *p = rs_table_alloc("t"), *l = rs_table_alloc("t");
	struct diff d;

	(void)state;
	p->comment = strdup("managed by tlswall");
	diff_tables(p, l, &d);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].kind, CHANGE_TABLE_COMMENT);
	assert_true(d.structural);
	assert_summary(&d, "table comment\n");
	diff_release(&d);
	l->comment = strdup("changed by hand");
	diff_tables(p, l, &d);
	assert_int_equal(only(&d, CHANGE_TABLE_COMMENT)->kind, CHANGE_TABLE_COMMENT);
	diff_release(&d);
	free(l->comment);
	l->comment = strdup("managed by tlswall");
	diff_tables(p, l, &d);
	assert_true(diff_empty(&d));
	diff_release(&d);
	rs_table_free(p);
	rs_table_free(l);
}

/* A dormant table (switched off by hand: its rules do nothing) is never what tlswall plans: the diff wakes it. */
static void test_dormant_table(void **state)
{
	static const uint16_t ports[] = { 443 };
	struct rs_table *p = chain_of(ports, 1), *l = chain_of(ports, 1);
	struct diff d;

	(void)state;
	l->dormant = true;
	diff_tables(p, l, &d);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].kind, CHANGE_TABLE_FLAGS);
	assert_true(d.structural);
	diff_release(&d);
	l->dormant = false;
	diff_tables(p, l, &d);
	assert_true(diff_empty(&d));
	diff_release(&d);
	rs_table_free(p);
	rs_table_free(l);
}

/* A set whose type or flags differ is recreated whole: no element delta for it. */
static void test_set_alter(void **state)
{
	static const struct {
		enum rs_keytype key;
		bool interval, vmap;
		const char *comment;
		const char *detail;
	} cases[] = {
		{ RS_KEY_IPV6, true, false, NULL, "type" },
		{ RS_KEY_IPV4, true, true, NULL, "type" },
		{ RS_KEY_IPV4, false, false, NULL, "loses flags interval" },
		{ RS_KEY_IPV4, true, false, "why", "comment" },
	};
	struct rs_table *l = rs_table_alloc("t");
	struct rs_set *ls = rs_table_add_set(l, "s", RS_KEY_IPV4, true);
	struct diff d;

	(void)state;
	add_v4(ls, "192.0.2.0", "192.0.2.255");
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct rs_table *p = rs_table_alloc("t");
		struct rs_set *ps = rs_table_add_set(p, "s", cases[i].key, cases[i].interval);
		const struct change *c;

		ps->vmap = cases[i].vmap;
		ps->comment = cases[i].comment ? strdup(cases[i].comment) : NULL;
		diff_tables(p, l, &d);
		assert_int_equal(d.n, 1);
		c = only(&d, CHANGE_SET_ALTER);
		assert_string_equal(c->object, "s");
		assert_string_equal(c->detail, cases[i].detail);
		assert_ptr_equal(c->planned_set, ps);
		assert_ptr_equal(c->live_set, ls);
		assert_true(d.structural);
		/* and the other way round */
		diff_release(&d);
		diff_tables(l, p, &d);
		c = only(&d, CHANGE_SET_ALTER);
		if (i == 2)
			assert_string_equal(c->detail, "gains flags interval");
		diff_release(&d);
		rs_table_free(p);
	}
	/* someone replaced it with a set of a kind tlswall does not make */
	{
		struct rs_table *p = rs_table_alloc("t"), *f = rs_table_alloc("t");
		struct rs_set *fs = rs_table_add_set(f, "s", RS_KEY_IPV4, false);

		rs_table_add_set(p, "s", RS_KEY_IPV4, true);
		fs->foreign = true;
		fs->foreign_text = strdup("type 9, key length 6, flags 0x0");
		diff_tables(p, f, &d);
		assert_string_equal(only(&d, CHANGE_SET_ALTER)->detail, "live set is type 9, key length 6, flags 0x0");
		diff_release(&d);
		rs_table_free(p);
		rs_table_free(f);
	}
	rs_table_free(l);
}

static void test_set_added_and_deleted(void **state)
{
	static const char *const ranges[][2] = { { "192.0.2.0", "192.0.2.255" }, { "198.51.100.1", "198.51.100.1" } };
	struct rs_table *p = with_set(ranges, 2), *l = rs_table_alloc("t");
	const struct change *c;
	struct diff d;

	(void)state;
	diff_tables(p, l, &d);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.v[0].kind, CHANGE_SET_ADD);
	assert_ptr_equal(d.v[0].planned_set, p->sets[0]);
	c = only(&d, CHANGE_ELEMS);
	assert_null(c->live_set);
	assert_int_equal(c->nadded, 2);
	assert_true(d.structural);
	/* the elements of a new set are part of that set: the summary names the set once */
	assert_summary(&d, "+1 set\n");
	diff_release(&d);
	diff_tables(l, p, &d);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.v[0].kind, CHANGE_SET_DEL);
	assert_ptr_equal(d.v[0].live_set, p->sets[0]);
	c = only(&d, CHANGE_ELEMS);
	assert_null(c->planned_set);
	assert_int_equal(c->nremoved, 2);
	assert_summary(&d, "-1 set\n");
	diff_release(&d);
	rs_table_free(p);
	rs_table_free(l);
}

static void test_chain_alter(void **state)
{
	struct rs_table *p = rs_table_alloc("t"), *l = rs_table_alloc("t");
	struct rs_chain *pc = rs_table_add_chain(p, "input"), *lc = rs_table_add_chain(l, "input");
	struct diff d;

	(void)state;
	pc->base = lc->base = true;
	pc->hook = lc->hook = RS_HOOK_INPUT;
	pc->type = strdup("filter");
	lc->type = strdup("filter");
	pc->policy = RS_DROP;
	lc->policy = RS_ACCEPT;
	port_rule(pc, 443);
	port_rule(lc, 443);
	diff_tables(p, l, &d);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].kind, CHANGE_CHAIN_ALTER);
	assert_string_equal(d.v[0].object, "input");
	assert_string_equal(d.v[0].detail, "policy accept -> drop");
	assert_true(d.structural);
	assert_summary(&d, "~1 chain changed\n");
	diff_release(&d);
	lc->policy = RS_DROP;
	lc->priority = -10;
	diff_tables(p, l, &d);
	assert_string_equal(only(&d, CHANGE_CHAIN_ALTER)->detail, "hook, type or priority");
	diff_release(&d);
	lc->priority = 0;
	lc->base = false;
	diff_tables(p, l, &d);
	assert_string_equal(only(&d, CHANGE_CHAIN_ALTER)->detail, "becomes a base chain");
	diff_release(&d);
	lc->base = true;
	lc->comment = strdup("by hand");
	diff_tables(p, l, &d);
	assert_string_equal(only(&d, CHANGE_CHAIN_ALTER)->detail, "comment");
	diff_release(&d);
	free(lc->comment);
	lc->comment = NULL;
	diff_tables(p, l, &d);
	assert_true(diff_empty(&d));
	diff_release(&d);
	/* a chain that comes or goes takes its rules with it */
	port_rule(rs_table_add_chain(l, "svc.old"), 110);
	diff_tables(p, l, &d);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.v[0].kind, CHANGE_CHAIN_DEL);
	assert_string_equal(d.v[0].object, "svc.old");
	assert_int_equal(d.v[1].kind, CHANGE_RULE_DEL);
	assert_string_equal(d.v[1].object, "svc.old");
	assert_true(d.structural);
	assert_summary(&d, "-1 chain, -1 rule\n");
	diff_release(&d);
	rs_table_free(p);
	rs_table_free(l);
}

/* Nothing in the kernel: the table, every set with all its elements, every chain with all its rules. */
static void test_no_live_table(void **state)
{
	struct built b = built_alloc("version = 1;\n"
				     "sets = { office = [ \"192.0.2.0/24\", \"198.51.100.0/24\", \"2001:db8::/32\" ]; };\n"
				     "services = ( { service = \"https\"; }, { service = \"imaps\"; from = [ \"@office\" ]; } );\n");
	size_t sets = 0, chains = 0, rules = 0, elems = 0;
	struct diff d;

	(void)state;
	diff_tables(b.t, NULL, &d);
	assert_true(d.structural);
	assert_int_equal(d.v[0].kind, CHANGE_TABLE_ADD);
	assert_string_equal(d.v[0].object, "tlswall");
	for (size_t i = 1; i < d.n; i++) {
		const struct change *c = &d.v[i];

		switch (c->kind) {
		case CHANGE_SET_ADD:
			assert_ptr_equal(c->planned_set, b.t->sets[sets++]);
			break;
		case CHANGE_ELEMS:
			/* right after its set, every element added */
			assert_int_equal(d.v[i - 1].kind, CHANGE_SET_ADD);
			assert_ptr_equal(c->planned_set, d.v[i - 1].planned_set);
			assert_null(c->live_set);
			assert_int_equal(c->nadded, c->planned_set->nelem);
			assert_int_equal(c->nremoved, 0);
			for (size_t k = 0; k < c->nadded; k++)
				assert_int_equal(c->added[k], k);
			elems += c->nadded;
			break;
		case CHANGE_CHAIN_ADD:
			assert_string_equal(c->object, b.t->chains[chains++]->name);
			break;
		case CHANGE_RULE_ADD:
			assert_string_equal(c->object, b.t->chains[chains - 1]->name);
			assert_ptr_equal(c->rule, b.t->chains[chains - 1]->rules[c->position]);
			rules++;
			break;
		default:
			fail_msg("unexpected change kind %d", c->kind);
		}
	}
	assert_int_equal(sets, b.t->nsets);
	assert_int_equal(chains, b.t->nchains);
	{
		size_t want_rules = 0, want_elems = 0;

		for (size_t i = 0; i < b.t->nchains; i++)
			want_rules += b.t->chains[i]->nrules;
		for (size_t i = 0; i < b.t->nsets; i++)
			want_elems += b.t->sets[i]->nelem;
		assert_int_equal(rules, want_rules);
		assert_int_equal(elems, want_elems);
		/* office.v4 holds 2 ranges, office.v6 1, the services map 3 (443/tcp, 443/udp, 993/tcp), and its
		 * published views per protocol 2 (443, 993) and 1 (443) */
		assert_int_equal(want_elems, 2 + 1 + 3 + 2 + 1);
	}
	diff_release(&d);
	built_free(&b);
}

/* The same change `tlswall diff` shows after adding a service: a chain, its rule and one map element (without the
 * published ports' maps, which would add one element more). */
static void test_compiled_policies(void **state)
{
	static const char a[] = "version = 1; published_ports = false;\n"
				"sets = { office = [ \"192.0.2.0/24\", \"2001:db8:1::/48\" ]; };\n"
				"services = ( { service = \"https\"; }, { service = \"imaps\"; from = [ \"@office\" ]; } );\n";
	static const char b[] = "version = 1; published_ports = false;\n"
				"sets = { office = [ \"192.0.2.0/24\", \"2001:db8:1::/48\" ]; };\n"
				"services = ( { service = \"https\"; }, { service = \"pop3s\"; },\n"
				"  { service = \"imaps\"; from = [ \"@office\" ]; } );\n";
	static const char c[] = "version = 1; published_ports = false;\n"
				"sets = { office = [ \"192.0.2.0/24\", \"198.51.100.0/24\", \"2001:db8:1::/48\" ]; };\n"
				"services = ( { service = \"https\"; }, { service = \"imaps\"; from = [ \"@office\" ]; } );\n";
	struct built pa = built_alloc(a), pa2 = built_alloc(a), pb = built_alloc(b), pc = built_alloc(c);
	const struct change *ch;
	struct diff d;

	(void)state;
	diff_tables(pa.t, pa2.t, &d);
	assert_true(diff_empty(&d));
	diff_release(&d);

	diff_tables(pb.t, pa.t, &d);
	assert_int_equal(d.n, 3);
	ch = only(&d, CHANGE_ELEMS);
	assert_string_equal(ch->object, "services");
	assert_int_equal(ch->nadded, 1);
	assert_int_equal(ch->nremoved, 0);
	assert_string_equal(ch->planned_set->data[ch->added[0]].chain, "svc.pop3s");
	assert_string_equal(only(&d, CHANGE_CHAIN_ADD)->object, "svc.pop3s");
	ch = only(&d, CHANGE_RULE_ADD);
	assert_string_equal(ch->object, "svc.pop3s");
	assert_int_equal(ch->position, 0);
	assert_true(d.structural);
	assert_summary(&d, "+1 chain, +1 rule, services: +1 element\n");
	diff_release(&d);

	/* a list that grows: elements only, the table stays */
	diff_tables(pc.t, pa.t, &d);
	assert_int_equal(d.n, 1);
	ch = only(&d, CHANGE_ELEMS);
	assert_string_equal(ch->object, "office.v4");
	assert_false(d.structural);
	assert_summary(&d, "office.v4: +1 element\n");
	diff_release(&d);
	built_free(&pa);
	built_free(&pa2);
	built_free(&pb);
	built_free(&pc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_inserted_in_the_middle),
		cmocka_unit_test(test_rule_deleted),
		cmocka_unit_test(test_rules_reordered),
		cmocka_unit_test(test_rule_equality_in_diff),
		cmocka_unit_test(test_rule_alignment_exhaustive),
		cmocka_unit_test(test_interval_elements_merged),
		cmocka_unit_test(test_vmap_verdict_change),
		cmocka_unit_test(test_table_comment),
		cmocka_unit_test(test_dormant_table),
		cmocka_unit_test(test_set_alter),
		cmocka_unit_test(test_set_added_and_deleted),
		cmocka_unit_test(test_chain_alter),
		cmocka_unit_test(test_no_live_table),
		cmocka_unit_test(test_compiled_policies),
	};

	return cmocka_run_group_tests_name("diff", tests, NULL, NULL);
}
