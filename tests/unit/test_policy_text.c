/* Unit tests for policy_text.c: the text libconfig is given, includes expanded, and where each line came from. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "tlswall/diag.h"
#include "tlswall/policy_text.h"
#include "tlswall/util.h"

#define NAME "test.conf"

/* The text as libconfig would get it, or the diagnostics ("FILE:LINE: error: ...") when reading stopped. */
static char *read_string(const char *text)
{
	struct diag_list *d = diag_list_alloc();
	struct policy_text *t = policy_text_from_string(text, NAME, d);
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	if (t) {
		assert_int_equal(diag_count(d), 0);
		out = x_strdup(policy_text_get(t));
	} else {
		f = open_memstream(&out, &len);
		assert_non_null(f);
		assert_true(diag_errors(d) > 0);
		diag_print(d, f);
		fclose(f);
	}
	policy_text_free(t);
	diag_list_free(d);
	return out;
}

static void assert_text(const char *in, const char *want)
{
	char *got = read_string(in);

	assert_string_equal(got, want);
	free(got);
}

/* libconfig 1.5 keeps integers without an L in 32 bits (4294967739 would become 443): those that need more get
 * their L, and nothing else changes. */
static void test_wide_integers(void **state)
{
	(void)state;
	assert_text("port = 4294967739;\n", "port = 4294967739L;\n");
	assert_text("port = -4294966853;\n", "port = -4294966853L;\n");
	assert_text("port = 2147483648;\n", "port = 2147483648L;\n");
	assert_text("port = 0x1000001bb;\n", "port = 0x1000001bbL;\n");
	assert_text("port = 0x80000000;\n", "port = 0x80000000L;\n");
	assert_text("a = [4294967739,1];b=4294967739", "a = [4294967739L,1];b=4294967739L");
	/* what fits, or already says L, stays as written */
	assert_text("port = 443; v = 2147483647; w = -2147483648; x = 0x7fffffff;\n",
		    "port = 443; v = 2147483647; w = -2147483648; x = 0x7fffffff;\n");
	assert_text("port = 4294967739L; q = 4294967739LL;\n", "port = 4294967739L; q = 4294967739LL;\n");
	/* not integers: strings, comments, names with digits, floats */
	assert_text("s = \"4294967739\"; # 4294967739\n// 4294967739\n/* 4294967739 */\n",
		    "s = \"4294967739\"; # 4294967739\n// 4294967739\n/* 4294967739 */\n");
	assert_text("a4294967739 = 1; b-4294967739 = 2;\n", "a4294967739 = 1; b-4294967739 = 2;\n");
	assert_text("f = 4294967739.5; g = 4294967739e3; h = .4294967739;\n",
		    "f = 4294967739.5; g = 4294967739e3; h = .4294967739;\n");
	assert_text("s = \"a\\\"4294967739\\\\\"; t = 4294967739;\n", "s = \"a\\\"4294967739\\\\\"; t = 4294967739L;\n");
}

/* Beyond 64 bits libconfig saturates: an error, with the number as written. */
static void test_integers_beyond_64_bits(void **state)
{
	(void)state;
	assert_text("version = 1;\nport = 99999999999999999999;\n",
		    NAME ":2: error: the number 99999999999999999999 is out of range: every number in a policy is a "
			 "port (1-65535) or the version (1)\n");
	assert_text("port = 9223372036854775808L;\n",
		    NAME ":1: error: the number 9223372036854775808L is out of range: every number in a policy is a "
			 "port (1-65535) or the version (1)\n");
	assert_text("port = 0x8000000000000000;\n",
		    NAME ":1: error: the number 0x8000000000000000 is out of range: every number in a policy is a "
			 "port (1-65535) or the version (1)\n");
	/* the ends of the 64-bit range are fine */
	assert_text("a = 9223372036854775807; b = -9223372036854775808;\n",
		    "a = 9223372036854775807L; b = -9223372036854775808L;\n");
}

static void test_byte_order_mark(void **state)
{
	(void)state;
	assert_text("\xef\xbb\xbfversion = 1;\n", "version = 1;\n");
	/* only at the start */
	assert_text("version = 1;\n\xef\xbb\xbf", "version = 1;\n\xef\xbb\xbf");
}

static void test_nesting(void **state)
{
	struct sbuf ok = { 0 }, deep = { 0 };
	char *got;

	(void)state;
	sbuf_puts(&ok, "a = ");
	for (int i = 0; i < POLICY_TEXT_MAX_NESTING; i++)
		sbuf_putc(&ok, '(');
	for (int i = 0; i < POLICY_TEXT_MAX_NESTING; i++)
		sbuf_putc(&ok, ')');
	sbuf_puts(&ok, ";\n");
	got = read_string(ok.buf);
	assert_string_equal(got, ok.buf);
	free(got);

	sbuf_puts(&deep, "version = 1;\nx = ");
	for (int i = 0; i < 10000; i++)
		sbuf_puts(&deep, i % 3 ? "(" : "(\n");
	got = read_string(deep.buf);
	/* reported where the limit is crossed: the 33rd bracket is on the 13th line of brackets */
	assert_string_equal(got, NAME ":13: error: groups, lists and arrays are nested more than 32 deep here; a policy "
				   "needs three levels at most\n");
	free(got);
	/* brackets in strings and comments do not count */
	sbuf_release(&deep);
	sbuf_puts(&deep, "s = \"");
	for (int i = 0; i < 100; i++)
		sbuf_putc(&deep, '{');
	sbuf_puts(&deep, "\"; # [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n");
	got = read_string(deep.buf);
	assert_string_equal(got, deep.buf);
	free(got);
	sbuf_release(&ok);
	sbuf_release(&deep);
}

static void test_unclosed(void **state)
{
	(void)state;
	assert_text("version = 1;\nreason = \"abc;\nx = 1;\n",
		    NAME ":2: error: this string is not closed: a '\"' is missing\n");
	assert_text("version = 1;\n/* a\n b\n", NAME ":2: error: this comment is not closed: a '*/' is missing\n");
	/* a quote inside a comment, a comment marker inside a string */
	assert_text("/* \" */ a = \"/*\"; # \"\n", "/* \" */ a = \"/*\"; # \"\n");
}

/* Files for the include tests, in a directory of their own. */
struct files {
	char dir[64];
};

static char *write_bytes(const struct files *f, const char *name, const char *text, size_t len, mode_t mode)
{
	char *path = x_asprintf("%s/%s", f->dir, name);
	FILE *out = fopen(path, "w");

	assert_non_null(out);
	assert_int_equal(fwrite(text, 1, len, out), len);
	fclose(out);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static char *write_file(const struct files *f, const char *name, const char *text, mode_t mode)
{
	return write_bytes(f, name, text, strlen(text), mode);
}

/* want with @M replaced by the main file's path and @D by the directory */
static char *expected(const char *want, const char *main_path, const char *dir)
{
	struct sbuf sb = { 0 };

	for (const char *p = want; *p; p++) {
		if (p[0] == '@' && (p[1] == 'M' || p[1] == 'D')) {
			sbuf_puts(&sb, p[1] == 'M' ? main_path : dir);
			p++;
		} else {
			sbuf_putc(&sb, *p);
		}
	}
	return sbuf_detach(&sb);
}

static int files_setup(void **state)
{
	struct files *f = x_calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/tlswall-test-text-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int files_teardown(void **state)
{
	struct files *f = *state;
	char *cmd = x_asprintf("rm -rf '%s'", f->dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f);
	return 0;
}

struct read_result {
	struct policy_text *t;
	struct diag_list *d;
	char *printed;
};

static struct read_result read_path(const char *path)
{
	struct read_result r = { NULL, diag_list_alloc(), NULL };
	size_t len = 0;
	FILE *out = open_memstream(&r.printed, &len);

	r.t = policy_text_read_file(path, TRUST_WARN, r.d);
	diag_print(r.d, out);
	fclose(out);
	return r;
}

static void read_release(struct read_result *r)
{
	policy_text_free(r->t);
	diag_list_free(r->d);
	free(r->printed);
}

static void assert_locate(const struct policy_text *t, unsigned line, const char *file, unsigned file_line)
{
	const char *got_file;
	unsigned got_line;

	policy_text_locate(t, line, &got_file, &got_line);
	assert_string_equal(got_file, file);
	assert_int_equal(got_line, file_line);
}

/* An include is replaced by the file's text, and every line maps back to its own file and line. */
static void test_include(void **state)
{
	struct files *f = *state;
	char *inner = write_file(f, "inner.inc", "c = 3;\nd = 4;", 0600); /* no final newline */
	char *outer = write_file(f, "outer.inc", "b = 2;\r\n  @include \"inner.inc\"   # a comment\r\ne = 5;\n", 0600);
	char *abs_line = x_asprintf("@include \"%s/empty.inc\"\r\n", f->dir);
	char *empty = write_file(f, "empty.inc", "", 0600);
	char *text = x_asprintf("a = 1;\n@include \"outer.inc\"\n%sf = 6;\n", abs_line);
	char *main_path = write_file(f, "main.conf", text, 0600);
	struct read_result r = read_path(main_path);

	(void)state;
	assert_string_equal(r.printed, "");
	assert_non_null(r.t);
	assert_string_equal(policy_text_get(r.t), "a = 1;\nb = 2;\r\nc = 3;\nd = 4;\ne = 5;\nf = 6;\n");
	assert_locate(r.t, 1, main_path, 1);
	assert_locate(r.t, 2, outer, 1);
	assert_locate(r.t, 3, inner, 1);
	assert_locate(r.t, 4, inner, 2);
	assert_locate(r.t, 5, outer, 3);
	assert_locate(r.t, 6, main_path, 4);
	read_release(&r);
	free(inner);
	free(outer);
	free(abs_line);
	free(empty);
	free(text);
	free(main_path);
}

/* A relative include is read from the policy's directory, whatever the working directory. */
static void test_include_relative_to_policy(void **state)
{
	struct files *f = *state;
	char *inc = write_file(f, "x.inc", "x = 1;\n", 0600);
	char *main_path = write_file(f, "main.conf", "@include \"x.inc\"\n", 0600);
	char *cwd = getcwd(NULL, 0);
	struct read_result r;

	(void)state;
	assert_int_equal(chdir("/"), 0);
	r = read_path(main_path);
	assert_int_equal(chdir(cwd), 0);
	assert_string_equal(r.printed, "");
	assert_string_equal(policy_text_get(r.t), "x = 1;\n");
	assert_locate(r.t, 1, inc, 1);
	read_release(&r);
	free(cwd);
	free(inc);
	free(main_path);
}

/* Included files are trust-checked like the policy, under the name their diagnostics carry. */
static void test_include_trust(void **state)
{
	struct files *f = *state;
	char *inc = write_file(f, "loose.inc", "x = 1;\n", 0664);
	char *main_path = write_file(f, "main.conf", "@include \"loose.inc\"\n", 0600);
	struct read_result r = read_path(main_path);
	char *want = x_asprintf("%s: warning: file is writable by its group (mode 0664); apply will refuse it: chmod go-w "
				"%s\n",
				inc, inc);

	(void)state;
	assert_non_null(r.t);
	assert_string_equal(r.printed, want);
	read_release(&r);
	free(want);
	free(inc);
	free(main_path);
}

static void assert_read_fails_n(const struct files *f, const char *main_text, size_t len, const char *want)
{
	char *main_path = write_bytes(f, "main.conf", main_text, len, 0600);
	struct read_result r = read_path(main_path);
	char *full = expected(want, main_path, f->dir);

	assert_null(r.t);
	assert_string_equal(r.printed, full);
	read_release(&r);
	free(full);
	free(main_path);
}

static void assert_read_fails(const struct files *f, const char *main_text, const char *want)
{
	assert_read_fails_n(f, main_text, strlen(main_text), want);
}

static void test_include_mistakes(void **state)
{
	struct files *f = *state;
	char *a = write_file(f, "a.inc", "a = 1;\n@include \"b.inc\"\n", 0600);
	char *b = write_file(f, "b.inc", "b = 1;\n\n@include \"a.inc\"\n", 0600);
	char *sub = x_asprintf("%s/sub", f->dir);

	(void)state;
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_read_fails(f, "version = 1;\n@include \"main.conf\"\n",
			  "@M:2: error: @include \"main.conf\" makes a loop (@M -> @D/main.conf): a file cannot "
			  "include itself\n");
	assert_read_fails(f, "@include \"a.inc\"\n",
			  "@D/b.inc:3: error: @include \"a.inc\" makes a loop (@D/a.inc -> @D/b.inc -> @D/a.inc): "
			  "a file cannot include itself\n");
	assert_read_fails(f, "\n@include \"missing.inc\"\n",
			  "@M:2: error: @include \"missing.inc\": cannot read @D/missing.inc: No such file or "
			  "directory\n");
	assert_read_fails(f, "@include \"sub\"\n", "@M:1: error: @include \"sub\": @D/sub is not a regular file\n");
	assert_read_fails(f, "@include \"a.inc\" x = 1;\n",
			  "@M:1: error: @include \"a.inc\" must be on a line of its own\n");
	assert_read_fails(f, "@include \"a.inc\n", "@M:1: error: @include: the file name has no closing '\"' on this "
						   "line\n");
	assert_read_fails(f, "@include \"\"\n", "@M:1: error: @include \"\" names no file\n");
	assert_read_fails_n(f, "a = 1;\nb = 2;\0c = 3;\n", 20, "@M:2: error: the file holds a NUL byte, so it is not a "
								 "policy\n");
	free(a);
	free(b);
	free(sub);
}

/* Included files nested deeper than libconfig's limit. */
/* A policy that is a directory or a FIFO is refused at once: reading a FIFO would wait for a writer, at boot for
 * ever. An included FIFO too. */
static void test_not_regular_files(void **state)
{
	struct files *f = *state;
	char *fifo = x_asprintf("%s/fifo.conf", f->dir), *sub = x_asprintf("%s/sub", f->dir), *want;
	struct read_result r;

	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(mkdir(sub, 0700), 0);
	r = read_path(fifo);
	assert_null(r.t);
	want = x_asprintf("%s: error: cannot read policy file: it is not a regular file\n", fifo);
	assert_string_equal(r.printed, want);
	free(want);
	read_release(&r);
	r = read_path(sub);
	assert_null(r.t);
	want = x_asprintf("%s: error: cannot read policy file: it is a directory\n", sub);
	assert_string_equal(r.printed, want);
	free(want);
	read_release(&r);
	assert_read_fails(f, "@include \"fifo.conf\"\n", "@M:1: error: @include \"fifo.conf\": @D/fifo.conf is not a "
							  "regular file\n");
	free(fifo);
	free(sub);
}

static void test_include_depth(void **state)
{
	struct files *f = *state;
	char *want = NULL;

	(void)state;
	for (int i = 0; i <= POLICY_TEXT_MAX_INCLUDES + 1; i++) {
		char *name = x_asprintf("n%d.inc", i);
		char *text = x_asprintf("@include \"n%d.inc\"\n", i + 1);

		free(write_file(f, name, text, 0600));
		free(name);
		free(text);
	}
	want = x_asprintf("@D/n%d.inc:1: error: @include \"n%d.inc\": included files are nested more than %d deep\n",
			  POLICY_TEXT_MAX_INCLUDES - 1, POLICY_TEXT_MAX_INCLUDES, POLICY_TEXT_MAX_INCLUDES);
	assert_read_fails(f, "@include \"n0.inc\"\n", want);
	free(want);
}

/* What libconfig does not take as an include is left for it to report. */
static void test_not_includes(void **state)
{
	(void)state;
	assert_text("a = 1; @include \"x\"\n", "a = 1; @include \"x\"\n");
	assert_text("# @include \"x\"\n/*\n@include \"x\"\n*/\ns = \"\n@include \\\"x\\\"\";\n",
		    "# @include \"x\"\n/*\n@include \"x\"\n*/\ns = \"\n@include \\\"x\\\"\";\n");
	assert_text("@include\"x\"\n", "@include\"x\"\n");
	assert_text("@includes \"x\"\n", "@includes \"x\"\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wide_integers),
		cmocka_unit_test(test_integers_beyond_64_bits),
		cmocka_unit_test(test_byte_order_mark),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_unclosed),
		cmocka_unit_test_setup_teardown(test_include, files_setup, files_teardown),
		cmocka_unit_test_setup_teardown(test_include_relative_to_policy, files_setup, files_teardown),
		cmocka_unit_test_setup_teardown(test_include_trust, files_setup, files_teardown),
		cmocka_unit_test_setup_teardown(test_include_mistakes, files_setup, files_teardown),
		cmocka_unit_test_setup_teardown(test_include_depth, files_setup, files_teardown),
		cmocka_unit_test_setup_teardown(test_not_regular_files, files_setup, files_teardown),
		cmocka_unit_test(test_not_includes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
