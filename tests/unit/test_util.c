/* Unit tests for util.c: the growable string, array growth and the edit distance behind "did you mean". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tlswall/util.h"

static void test_levenshtein(void **state)
{
	(void)state;
	assert_int_equal(levenshtein("", ""), 0);
	assert_int_equal(levenshtein("", "abc"), 3);
	assert_int_equal(levenshtein("abc", ""), 3);
	assert_int_equal(levenshtein("https", "https"), 0);
	assert_int_equal(levenshtein("htps", "https"), 1);
	assert_int_equal(levenshtein("kitten", "sitting"), 3);
	assert_int_equal(levenshtein("imsp", "imap"), 1);
	assert_int_equal(levenshtein("imsp", "imaps"), 2);
	assert_int_equal(levenshtein("policy", "polcy"), 1);
	assert_int_equal(levenshtein("abc", "xyz"), 3);
}

/* Two adjacent letters swapped is one typo. */
static void test_levenshtein_transposition(void **state)
{
	(void)state;
	assert_int_equal(levenshtein("form", "from"), 1);
	assert_int_equal(levenshtein("form", "port"), 2);
	assert_int_equal(levenshtein("iamps", "imaps"), 1);
	assert_int_equal(levenshtein("ab", "ba"), 1);
	assert_int_equal(levenshtein("abcd", "badc"), 2);
	/* optimal string alignment: a swapped pair is not edited again */
	assert_int_equal(levenshtein("ca", "abc"), 3);
}

/* The distance is symmetric, zero only for equal strings and at most the longer length. */
static void test_levenshtein_properties(void **state)
{
	static const char *const words[] = { "", "a", "ab", "ba", "from", "form", "port", "proto", "imaps", "imap",
					     "https", "http", "submissions", "submission", "passive_ports", "xyzzy" };

	(void)state;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		for (size_t j = 0; j < sizeof(words) / sizeof(words[0]); j++) {
			size_t d = levenshtein(words[i], words[j]);
			size_t li = strlen(words[i]), lj = strlen(words[j]);

			assert_int_equal(d, levenshtein(words[j], words[i]));
			assert_int_equal(d == 0, strcmp(words[i], words[j]) == 0);
			assert_true(d <= (li > lj ? li : lj));
			assert_true(d >= (li > lj ? li - lj : lj - li));
		}
}

/* Bytes to lower-case hex and back; anything but lower-case hex digits is refused, a string cut short too. */
static void test_hex(void **state)
{
	static const unsigned char bytes[] = { 0x00, 0x7f, 0x80, 0xab, 0xff };
	unsigned char back[sizeof(bytes)];
	char text[2 * sizeof(bytes) + 1];
	char *dup = hex_dup(bytes, sizeof(bytes));

	(void)state;
	hex_encode(bytes, sizeof(bytes), text);
	assert_string_equal(text, "007f80abff");
	assert_string_equal(dup, text);
	assert_true(hex_decode(text, sizeof(bytes), back));
	assert_memory_equal(back, bytes, sizeof(bytes));
	assert_false(hex_decode("007F80abff", sizeof(bytes), back));
	assert_false(hex_decode("007f80abfg", sizeof(bytes), back));
	assert_false(hex_decode("007f", sizeof(bytes), back));
	free(dup);
}

/* An item is added once, and only a whole entry counts as one: "443/tcp" is not inside "8443/tcp" for this. */
static void test_sbuf_add_item(void **state)
{
	struct sbuf sb = { 0 };

	(void)state;
	sbuf_add_item(&sb, "8443/tcp");
	sbuf_add_item(&sb, "443/tcp");
	sbuf_add_item(&sb, "443/tcp");
	sbuf_add_item(&sb, "8443/tcp");
	sbuf_add_item(&sb, "43/tcp");
	sbuf_add_item(&sb, "443/tcpx");
	assert_string_equal(sb.buf, "8443/tcp, 443/tcp, 43/tcp, 443/tcpx");
	sbuf_release(&sb);
}

static void test_sbuf(void **state)
{
	struct sbuf sb = { 0 };
	char *s;

	(void)state;
	s = sbuf_detach(&sb);
	assert_string_equal(s, "");
	free(s);

	sbuf_puts(&sb, "table");
	sbuf_putc(&sb, ' ');
	sbuf_addf(&sb, "inet %s %d", "tlswall", 42);
	sbuf_add(&sb, "xyz", 2);
	assert_int_equal(sb.len, strlen("table inet tlswall 42xy"));
	assert_string_equal(sb.buf, "table inet tlswall 42xy");
	s = sbuf_detach(&sb);
	assert_null(sb.buf);
	assert_int_equal(sb.len, 0);
	assert_string_equal(s, "table inet tlswall 42xy");
	free(s);

	for (int i = 0; i < 10000; i++)
		sbuf_addf(&sb, "%d,", i % 10);
	assert_int_equal(sb.len, 20000);
	assert_int_equal(strlen(sb.buf), 20000);
	assert_memory_equal(sb.buf + 19990, "5,6,7,8,9,", 10);
	sbuf_release(&sb);
	assert_null(sb.buf);
	sbuf_release(&sb);
}

static void test_grow(void **state)
{
	int *v = NULL;
	size_t cap = 0;

	(void)state;
	x_grow(&v, &cap, 1, sizeof(*v));
	assert_true(cap >= 1);
	for (int i = 0; i < 1000; i++) {
		x_grow(&v, &cap, (size_t)i + 1, sizeof(*v));
		assert_true(cap >= (size_t)i + 1);
		v[i] = i;
	}
	for (int i = 0; i < 1000; i++)
		assert_int_equal(v[i], i);
	free(v);
}

static void test_strings(void **state)
{
	char *s;

	(void)state;
	s = x_strndup("abcdef", 3);
	assert_string_equal(s, "abc");
	free(s);
	s = x_asprintf("%s:%u", "policy.conf", 7u);
	assert_string_equal(s, "policy.conf:7");
	free(s);
	s = x_strdup("");
	assert_string_equal(s, "");
	free(s);
	/* zero-size requests still give a pointer free() accepts */
	free(x_malloc(0));
	free(x_calloc(0, 0));
	free(x_reallocarray(NULL, 0, 8));
}

static void assert_printable(const char *in, const char *want)
{
	char *got = printable_dup(in);

	assert_string_equal(got, want);
	assert_int_equal(printable_text(in), strcmp(in, want) == 0);
	free(got);
}

/* Whatever bytes a list file or the kernel hands over, what reaches a terminal is text. */
static void test_printable(void **state)
{
	(void)state;
	assert_printable("", "");
	assert_printable("192.0.2.1 caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x98\x80 'x' \\ $",
			 "192.0.2.1 caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x98\x80 'x' \\ $");
	/* clear the screen, home the cursor, set the window title, colours */
	assert_printable("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H");
	assert_printable("\x1b]0;owned\x07ok", "\\x1b]0;owned\\x07ok");
	assert_printable("a\tb\nc\rd\x7f\x01", "a\\tb\\nc\\rd\\x7f\\x01");
	/* C1 controls (U+009B is CSI on terminals that take 8-bit controls), bidirectional overrides, separators */
	assert_printable("\xc2\x9b" "31m", "\\u009b" "31m");
	assert_printable("\xc2\x85", "\\u0085");
	assert_printable("abc\xe2\x80\xae" "def", "abc\\u202e" "def");
	assert_printable("\xe2\x81\xa6x\xe2\x81\xa9", "\\u2066x\\u2069");
	assert_printable("\xe2\x80\xa8", "\\u2028");
	/* not UTF-8: stray bytes, overlong forms, surrogates, beyond U+10FFFF, cut short */
	assert_printable("\xff\xfe", "\\xff\\xfe");
	assert_printable("\xc0\xaf", "\\xc0\\xaf");
	assert_printable("\xed\xa0\x80", "\\xed\\xa0\\x80");
	assert_printable("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
	assert_printable("x\xe2\x82", "x\\xe2\\x82");
	assert_printable("\xe2\x82x", "\\xe2\\x82x");
}

/* Messages that quote kernel names: the whole line is made printable, its final newline kept. */
static void test_fprintf_printable(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	(void)state;
	assert_non_null(out);
	fprintf_printable(out, "chain %s (handle %d)\n", "evil\x1b[2J\n", 7);
	fprintf_printable(out, "%s", "no newline\t");
	fclose(out);
	assert_string_equal(text, "chain evil\\x1b[2J\\n (handle 7)\nno newline\\t");
	free(text);
}

static void test_utf8_decode(void **state)
{
	unsigned cp = 0;

	(void)state;
	assert_int_equal(utf8_decode((const unsigned char *)"A", 1, &cp), 1);
	assert_int_equal(cp, 'A');
	assert_int_equal(utf8_decode((const unsigned char *)"\xc3\xa9", 2, &cp), 2);
	assert_int_equal(cp, 0xe9);
	assert_int_equal(utf8_decode((const unsigned char *)"\xf0\x9f\x98\x80", 4, &cp), 4);
	assert_int_equal(cp, 0x1f600);
	assert_int_equal(utf8_decode((const unsigned char *)"\xf4\x8f\xbf\xbf", 4, &cp), 4);
	assert_int_equal(cp, 0x10ffff);
	assert_int_equal(utf8_decode((const unsigned char *)"\xf0\x9f\x98\x80", 3, &cp), 0);
	assert_int_equal(utf8_decode((const unsigned char *)"\xe0\x80\x80", 3, &cp), 0);
	assert_int_equal(utf8_decode((const unsigned char *)"\x80", 1, &cp), 0);
	assert_int_equal(utf8_decode((const unsigned char *)"", 0, &cp), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levenshtein),
		cmocka_unit_test(test_levenshtein_transposition),
		cmocka_unit_test(test_levenshtein_properties),
		cmocka_unit_test(test_sbuf),
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_sbuf_add_item),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_printable),
		cmocka_unit_test(test_utf8_decode),
		cmocka_unit_test(test_fprintf_printable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
