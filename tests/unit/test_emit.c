/* Unit tests for what reaches the user from a hostile table or list file: JSON keeps every item whatever its bytes
 * (emit_json.c), and text for a terminal is printable (emit_nft.c, diff.c), while nft still gets the bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "tlswall/diag.h"
#include "tlswall/diff.h"
#include "tlswall/emit_json.h"
#include "tlswall/emit_nft.h"
#include "tlswall/ruleset.h"
#include "tlswall/util.h"

#define REPLACEMENT "\xef\xbf\xbd"

/* A live table as another program could leave it: a chain and a foreign rule whose comments are not text. */
static struct rs_table *hostile_table(void)
{
	struct rs_table *t = rs_table_alloc("tlswall");
	struct rs_chain *c = rs_table_add_chain(t, "svc.https");
	struct rs_rule *r;

	c->comment = x_strdup("https\x1b]0;owned\x07");
	r = rs_chain_add_rule(c);
	rs_rule_counter(r);
	rs_rule_verdict(r, RS_ACCEPT, NULL);
	r = rs_chain_add_rule(c);
	rs_match_add_num(rs_rule_match(r, RS_SEL_TH_DPORT, RS_OP_EQ), 9999);
	rs_rule_verdict(r, RS_ACCEPT, NULL);
	r->comment = x_strdup("by hand \xff\xfe\x1b[2J");
	r->foreign = true;
	r->handle = 7;
	return t;
}

static char *capture_json_show(const struct rs_table *t)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(f);
	emit_json_show("tlswall", t, 3, NULL, f);
	fclose(f);
	return out;
}

static json_t *parse(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);

	if (!j)
		fail_msg("not JSON (%s): %s", err.text, text);
	return j;
}

/* show --json: the foreign rule is there, its bad bytes replaced, not the rule dropped. */
static void test_json_show_keeps_rules(void **state)
{
	struct rs_table *t = hostile_table();
	char *out = capture_json_show(t);
	json_t *root = parse(out), *rules;

	(void)state;
	rules = json_object_get(json_array_get(json_object_get(root, "chains"), 0), "rules");
	assert_int_equal(json_array_size(rules), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rules, 1), "text")),
			    "th dport 9999 accept comment \"by hand " REPLACEMENT REPLACEMENT "\x1b[2J\"");
	assert_true(json_is_true(json_object_get(json_array_get(rules, 1), "foreign")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(root, "chains"), 0),
								 "comment")),
			    "https\x1b]0;owned\x07");
	json_decref(root);
	free(out);
	rs_table_free(t);
}

/* diff --json: the item deleting the foreign rule keeps its "rule" key. */
static void test_json_diff_keeps_rule_key(void **state)
{
	struct rs_table *live = hostile_table(), *planned = rs_table_alloc("tlswall");
	struct rs_chain *c = rs_table_add_chain(planned, "svc.https");
	struct diff d;
	char *out = NULL;
	size_t len = 0, deletions = 0;
	FILE *f = open_memstream(&out, &len);
	json_t *root, *items;

	(void)state;
	c->comment = x_strdup("https");
	rs_rule_counter(rs_chain_add_rule(c));
	rs_rule_verdict(c->rules[0], RS_ACCEPT, NULL);
	diff_tables(planned, live, &d);
	emit_json_diff(&d, planned, live, 20, NULL, f);
	fclose(f);
	root = parse(out);
	items = json_object_get(root, "items");
	for (size_t i = 0; i < json_array_size(items); i++) {
		json_t *it = json_array_get(items, i);

		if (strcmp(json_string_value(json_object_get(it, "change")), "rule_delete") != 0)
			continue;
		deletions++;
		assert_non_null(json_string_value(json_object_get(it, "rule")));
		assert_non_null(strstr(json_string_value(json_object_get(it, "rule")), "by hand " REPLACEMENT));
	}
	assert_int_equal(deletions, 1);
	json_decref(root);
	free(out);
	diff_release(&d);
	rs_table_free(planned);
	rs_table_free(live);
}

/* check --json: as many diagnostics as errors, whatever bytes a list file's line held. */
static void test_json_check_keeps_diagnostics(void **state)
{
	struct diag_list *d = diag_list_alloc();
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	json_t *root, *ds;

	(void)state;
	diag_error(d, "feed.txt", 2, "\"%s\": not an address", "\x1b[2J");
	diag_error(d, "feed.txt", 3, "\"%s\": not an address", "10.0.0.1\xff");
	diag_error(d, "feed\xfe.txt", 0, "cannot read it");
	emit_json_check("policy.conf", NULL, NULL, d, false, f);
	fclose(f);
	root = parse(out);
	ds = json_object_get(root, "diagnostics");
	assert_int_equal(json_integer_value(json_object_get(root, "errors")), 3);
	assert_int_equal(json_array_size(ds), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ds, 1), "message")),
			    "\"10.0.0.1" REPLACEMENT "\": not an address");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ds, 2), "file")), "feed" REPLACEMENT ".txt");
	json_decref(root);
	free(out);
	diag_list_free(d);
}

static bool has_raw_controls(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f || *p >= 0xf5 || *p == 0xc0 || *p == 0xc1)
			return true;
	return false;
}

/* show (text): every name and string is printable; without EMIT_PRINTABLE (the script nft reads) bytes are kept. */
static void test_nft_text_printable(void **state)
{
	struct rs_table *t = hostile_table();
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	(void)state;
	emit_nft_table(t, EMIT_PRINTABLE | EMIT_FOREIGN, f);
	fclose(f);
	assert_false(has_raw_controls(out));
	assert_non_null(strstr(out, "comment \"https\\x1b]0;owned\\x07\"\n"));
	assert_non_null(strstr(out, "th dport 9999 accept comment \"by hand \\xff\\xfe\\x1b[2J\" # not made by tlswall\n"));
	free(out);
	f = open_memstream(&out, &len);
	emit_nft_table(t, 0, f);
	fclose(f);
	assert_non_null(strstr(out, "comment \"by hand \xff\xfe\x1b[2J\""));
	free(out);
	rs_table_free(t);
}

/* diff (text): the same for the planned/live difference. */
static void test_diff_text_printable(void **state)
{
	struct rs_table *live = hostile_table(), *planned = rs_table_alloc("tlswall");
	struct diff d;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	(void)state;
	rs_table_add_chain(planned, "svc.https");
	diff_tables(planned, live, &d);
	diff_print(&d, planned, live, 20, f);
	fclose(f);
	assert_false(has_raw_controls(out));
	assert_non_null(strstr(out, "comment \"by hand \\xff\\xfe\\x1b[2J\""));
	free(out);
	diff_release(&d);
	rs_table_free(planned);
	rs_table_free(live);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_show_keeps_rules),
		cmocka_unit_test(test_json_diff_keeps_rule_key),
		cmocka_unit_test(test_json_check_keeps_diagnostics),
		cmocka_unit_test(test_nft_text_printable),
		cmocka_unit_test(test_diff_text_printable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
