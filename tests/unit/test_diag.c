/* Unit tests for diag.c: collecting, sorting and printing located diagnostics. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tlswall/diag.h"

static char *print(struct diag_list *d, size_t *errors)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	*errors = diag_print(d, out);
	fclose(out);
	return text;
}

static void test_empty(void **state)
{
	struct diag_list *d = diag_list_alloc();
	size_t errors = 99;
	char *text;

	(void)state;
	assert_int_equal(diag_count(d), 0);
	assert_int_equal(diag_errors(d), 0);
	assert_int_equal(diag_warnings(d), 0);
	assert_null(diag_at(d, 0));
	text = print(d, &errors);
	assert_int_equal(errors, 0);
	assert_string_equal(text, "");
	free(text);
	diag_list_free(d);
	diag_list_free(NULL);
}

/* Files in the order they were first named, then lines, then the order the diagnostics were emitted. */
static void test_sort_order(void **state)
{
	static const struct {
		const char *file;
		unsigned line;
		const char *message;
	} want[] = {
		{ "b.conf", 0, "b whole file" }, { "b.conf", 1, "b1" }, { "b.conf", 5, "b5 first" },
		{ "b.conf", 5, "b5 second" },    { "b.conf", 5, "b5 third" }, { "a.txt", 2, "a2" },
		{ "a.txt", 3, "a3" },            { "c.txt", 1, "c1" },         { NULL, 0, "no file" },
	};
	struct diag_list *d = diag_list_alloc();

	(void)state;
	diag_error(d, "b.conf", 5, "b5 first");
	diag_warning(d, NULL, 0, "no file");
	diag_error(d, "a.txt", 3, "a3");
	diag_warning(d, "b.conf", 5, "b5 second");
	diag_error(d, "b.conf", 1, "b1");
	diag_error(d, "c.txt", 1, "c1");
	diag_error(d, "a.txt", 2, "a2");
	diag_error(d, "b.conf", 5, "b5 third");
	diag_warning(d, "b.conf", 0, "b whole file");

	assert_int_equal(diag_count(d), 9);
	assert_int_equal(diag_errors(d), 6);
	assert_int_equal(diag_warnings(d), 3);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct diag *x = diag_at(d, i);

		assert_non_null(x);
		if (want[i].file)
			assert_string_equal(x->file, want[i].file);
		else
			assert_null(x->file);
		assert_int_equal(x->line, want[i].line);
		assert_string_equal(x->message, want[i].message);
	}
	assert_null(diag_at(d, 9));
	diag_list_free(d);
}

/* Stable for many equal keys, whatever qsort does with them. */
static void test_sort_stable(void **state)
{
	struct diag_list *d = diag_list_alloc();

	(void)state;
	for (int i = 0; i < 200; i++)
		diag_error(d, i % 2 ? "x.conf" : "y.conf", (unsigned)(i % 3), "%d", i);
	for (size_t i = 1; i < diag_count(d); i++) {
		const struct diag *a = diag_at(d, i - 1), *b = diag_at(d, i);

		if (a->file_rank == b->file_rank && a->line == b->line)
			assert_true(atoi(a->message) < atoi(b->message));
		else
			assert_true(a->file_rank < b->file_rank || (a->file_rank == b->file_rank && a->line < b->line));
	}
	/* y.conf was named first */
	assert_string_equal(diag_at(d, 0)->file, "y.conf");
	assert_string_equal(diag_at(d, 0)->message, "0");
	diag_list_free(d);
}

/* Diagnostics added after a lookup are sorted in too. */
static void test_add_after_sort(void **state)
{
	struct diag_list *d = diag_list_alloc();

	(void)state;
	diag_error(d, "p.conf", 9, "nine");
	assert_string_equal(diag_at(d, 0)->message, "nine");
	diag_error(d, "p.conf", 2, "two");
	assert_string_equal(diag_at(d, 0)->message, "two");
	assert_string_equal(diag_at(d, 1)->message, "nine");
	diag_list_free(d);
}

static void test_print_format(void **state)
{
	struct diag_list *d = diag_list_alloc();
	size_t errors = 0;
	char *text;

	(void)state;
	diag_warning(d, NULL, 0, "no file at all");
	diag_error(d, "tlswall.conf", 14, "service \"%s\" is plaintext", "http");
	diag_warning(d, "tlswall.conf", 3, "set \"%s\" is defined but not used", "office");
	diag_error(d, "lists/deny.txt", 0, "file is writable by others");
	diag_error(d, NULL, 7, "a line but no file");
	text = print(d, &errors);
	assert_int_equal(errors, 3);
	assert_string_equal(text, "tlswall.conf:3: warning: set \"office\" is defined but not used\n"
				  "tlswall.conf:14: error: service \"http\" is plaintext\n"
				  "lists/deny.txt: error: file is writable by others\n"
				  "tlswall: warning: no file at all\n"
				  "tlswall: error: a line but no file\n");
	free(text);
	diag_list_free(d);
}

/* The list keeps its own copy of file names and messages. */
static void test_owns_strings(void **state)
{
	struct diag_list *d = diag_list_alloc();
	char file[] = "policy.conf", arg[] = "value";
	const struct diag *x;

	(void)state;
	diag_error(d, file, 1, "got %s", arg);
	file[0] = 'X';
	arg[0] = 'X';
	x = diag_at(d, 0);
	assert_string_equal(x->file, "policy.conf");
	assert_string_equal(x->message, "got value");
	/* one interned name per file */
	diag_error(d, "policy.conf", 2, "again");
	assert_ptr_equal(diag_at(d, 0)->file, diag_at(d, 1)->file);
	diag_list_free(d);
}

static void test_saturated(void **state)
{
	struct diag_list *d = diag_list_alloc();

	(void)state;
	assert_false(diag_file_saturated(d, "l.txt", 3));
	diag_error(d, "l.txt", 1, "one");
	diag_warning(d, "l.txt", 2, "two");
	diag_error(d, "other.txt", 1, "elsewhere");
	diag_error(d, NULL, 0, "nowhere");
	assert_false(diag_file_saturated(d, "l.txt", 3));
	diag_error(d, "l.txt", 3, "three");
	assert_true(diag_file_saturated(d, "l.txt", 3));
	assert_false(diag_file_saturated(d, "other.txt", 3));
	assert_false(diag_file_saturated(d, "unknown.txt", 3));
	assert_false(diag_file_saturated(d, "unknown.txt", 0));
	assert_true(diag_file_saturated(d, "other.txt", 1));
	diag_list_free(d);
}

/* Messages of any length are kept whole. */
static void test_long_message(void **state)
{
	struct diag_list *d = diag_list_alloc();
	char big[5000];

	(void)state;
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	diag_error(d, "f", 1, "%s!", big);
	assert_int_equal(strlen(diag_at(d, 0)->message), sizeof(big));
	diag_list_free(d);
}

/* A list file's line is quoted in messages: its escape sequences reach the terminal as text, in file names too. */
static void test_print_escapes(void **state)
{
	struct diag_list *d = diag_list_alloc();
	size_t errors;
	char *text;

	(void)state;
	diag_error(d, "feed.txt", 3, "\"%s\": not an address", "\x1b[2J\x1b]0;owned\x07");
	diag_warning(d, "feed.txt", 4, "\"%s\"", "\xff caf\xc3\xa9 \xc2\x9b");
	diag_error(d, "evil\x1b[31m.txt", 0, "cannot read it");
	diag_error(d, NULL, 0, "tab\there");
	text = print(d, &errors);
	assert_int_equal(errors, 3);
	assert_string_equal(text, "feed.txt:3: error: \"\\x1b[2J\\x1b]0;owned\\x07\": not an address\n"
				  "feed.txt:4: warning: \"\\xff caf\xc3\xa9 \\u009b\"\n"
				  "evil\\x1b[31m.txt: error: cannot read it\n"
				  "tlswall: error: tab\\there\n");
	/* the list keeps the message as it was reported */
	assert_string_equal(diag_at(d, 0)->message, "\"\x1b[2J\x1b]0;owned\x07\": not an address");
	free(text);
	diag_list_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_print_escapes),
		cmocka_unit_test(test_sort_order),
		cmocka_unit_test(test_sort_stable),
		cmocka_unit_test(test_add_after_sort),
		cmocka_unit_test(test_print_format),
		cmocka_unit_test(test_owns_strings),
		cmocka_unit_test(test_saturated),
		cmocka_unit_test(test_long_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
