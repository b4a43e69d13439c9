/* Unit tests for snapshot.c: what rollback restores is the table that was saved, whatever bytes its names hold. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tlswall/ruleset.h"
#include "tlswall/snapshot.h"
#include "tlswall/util.h"

/* A table another program wrote into: names, comments and strings that are not UTF-8, which JSON cannot carry. */
static struct rs_table *hostile_table(void)
{
	struct rs_table *t = rs_table_alloc("tlswall");
	struct rs_chain *c = rs_table_add_chain(t, "by-hand\xff");
	struct rs_set *s = rs_table_add_set(t, "s\xfe", RS_KEY_IPV4, false);
	uint8_t key[4] = { 192, 0, 2, 1 };
	struct rs_rule *r;

	t->comment = x_strdup("table \xc3\x28");
	s->comment = x_strdup("set \x80");
	rs_set_add(s, key, key, NULL);
	c->comment = x_strdup("chain \xff\xfe");
	r = rs_chain_add_rule(c);
	rs_match_add_str(rs_rule_match(r, RS_SEL_IIFNAME, RS_OP_EQ), "eth\xff");
	rs_rule_counter(r);
	rs_rule_verdict(r, RS_ACCEPT, NULL);
	r->comment = x_strdup("rule \xff caf\xc3\xa9");
	r->foreign = true;
	r = rs_chain_add_rule(c);
	rs_rule_verdict(r, RS_JUMP, "by-hand\xff");
	return t;
}

static void assert_str(const char *got, const char *want)
{
	assert_non_null(got);
	assert_memory_equal(got, want, strlen(want) + 1);
}

static void test_round_trip_bytes(void **state)
{
	struct rs_table *t = hostile_table(), *back = NULL;
	struct snapshot_info info = { (char *)"tlswall", (char *)"/etc/tlswall/\xff.conf", (char *)"stamp", 7, NULL };
	struct snapshot_info got;
	char *error = NULL;
	size_t unreadable = 99;
	char *text = snapshot_encode(t, &info, &unreadable);

	(void)state;
	assert_int_equal(unreadable, 0);
	if (!snapshot_decode(text, &back, &got, &error))
		fail_msg("%s", error);
	assert_str(got.table, "tlswall");
	assert_str(got.origin, "/etc/tlswall/\xff.conf");
	assert_str(got.stamp, "stamp");
	assert_int_equal(got.netns, 7);
	assert_non_null(back);
	assert_str(back->comment, "table \xc3\x28");
	assert_int_equal(back->nsets, 1);
	assert_str(back->sets[0]->name, "s\xfe");
	assert_str(back->sets[0]->comment, "set \x80");
	assert_int_equal(back->sets[0]->nelem, 1);
	assert_int_equal(back->nchains, 1);
	assert_str(back->chains[0]->name, "by-hand\xff");
	assert_str(back->chains[0]->comment, "chain \xff\xfe");
	assert_int_equal(back->chains[0]->nrules, 2);
	assert_str(back->chains[0]->rules[0]->comment, "rule \xff caf\xc3\xa9");
	/* rules compare by what they do, their strings included */
	assert_true(rs_rule_equal(back->chains[0]->rules[0], t->chains[0]->rules[0]));
	assert_true(rs_rule_equal(back->chains[0]->rules[1], t->chains[0]->rules[1]));
	/* valid UTF-8 stays a plain JSON string, as in every snapshot written before */
	assert_non_null(strstr(text, "\"stamp\":\"stamp\""));
	free(text);
	snapshot_info_release(&got);
	rs_table_free(back);
	rs_table_free(t);
}

/* A damaged hex string is damage, not a string. */
static void test_bad_hex(void **state)
{
	struct rs_table *back = NULL;
	struct snapshot_info info;
	char *error = NULL;

	(void)state;
	assert_false(snapshot_decode("{\"tlswall_snapshot\":1,\"table\":{\"hex\":\"7g\"},\"origin\":\"\",\"ruleset\":null}",
				     &back, &info, &error));
	free(error);
	error = NULL;
	assert_false(snapshot_decode("{\"tlswall_snapshot\":1,\"table\":{\"hex\":\"7400\"},\"origin\":\"\","
				     "\"ruleset\":null}",
				     &back, &info, &error));
	free(error);
	error = NULL;
	assert_true(snapshot_decode("{\"tlswall_snapshot\":1,\"table\":{\"hex\":\"74ff\"},\"origin\":\"x\","
				    "\"ruleset\":null}",
				    &back, &info, &error));
	assert_str(info.table, "t\xff");
	assert_null(back);
	snapshot_info_release(&info);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_bytes),
		cmocka_unit_test(test_bad_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
