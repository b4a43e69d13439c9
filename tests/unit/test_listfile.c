/* Unit tests for listfile.c: address list files parsed from memory and read from disk. */
/* AT_EMPTY_PATH, for the fstat below */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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

#include "tlswall/addr.h"
#include "tlswall/diag.h"
#include "tlswall/listfile.h"
#include "tlswall/policy.h"
#include "tlswall/util.h"

#define NAME "lists/test.txt"

struct fixture {
	struct diag_list *diags;
	struct addr_list list;
};

static int setup(void **state)
{
	struct fixture *f = x_calloc(1, sizeof(*f));

	f->diags = diag_list_alloc();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	diag_list_free(f->diags);
	addr_list_release(&f->list);
	free(f);
	return 0;
}

static bool parse(struct fixture *f, const char *text)
{
	return listfile_parse(text, strlen(text), NAME, &f->list, f->diags);
}

/* The list formatted as one string, v4 then v6, entries separated by spaces. */
static char *list_text(const struct addr_list *l)
{
	struct sbuf sb = { 0 };
	char buf[ADDR_TEXT_MAX];

	for (size_t i = 0; i < l->n4; i++) {
		range4_format(&l->v4[i], buf);
		sbuf_addf(&sb, "%s%s", sb.len ? " " : "", buf);
	}
	for (size_t i = 0; i < l->n6; i++) {
		range6_format(&l->v6[i], buf);
		sbuf_addf(&sb, "%s%s", sb.len ? " " : "", buf);
	}
	return sbuf_detach(&sb);
}

static void assert_list(const struct addr_list *l, const char *want)
{
	char *got = list_text(l);

	assert_string_equal(got, want);
	free(got);
}

static void assert_diag(struct diag_list *d, size_t i, enum diag_severity sev, unsigned line, const char *message)
{
	const struct diag *x = diag_at(d, i);

	assert_non_null(x);
	assert_non_null(x->file);
	assert_string_equal(x->file, NAME);
	assert_int_equal(x->line, line);
	assert_int_equal(x->severity, sev);
	assert_string_equal(x->message, message);
}

static void test_clean(void **state)
{
	struct fixture *f = *state;

	assert_true(parse(f, "# a deny list\n"
			     "\n"
			     "192.0.2.0/24\n"
			     "   # indented comment\n"
			     "\t198.51.100.7\t\n"
			     "2001:db8::/32   # inline comment\n"
			     "203.0.113.1-203.0.113.9#no space before the comment\n"
			     "   \t \n"
			     "10.0.0.0/8"));
	assert_int_equal(diag_count(f->diags), 0);
	assert_list(&f->list, "10.0.0.0/8 192.0.2.0/24 198.51.100.7 203.0.113.1-203.0.113.9 2001:db8::/32");
}

static void test_empty_and_comments_only(void **state)
{
	struct fixture *f = *state;

	assert_true(listfile_parse("", 0, NAME, &f->list, f->diags));
	assert_true(parse(f, "\n\n\n"));
	assert_true(parse(f, "# nothing here\n#\n   #\n"));
	assert_true(parse(f, "#"));
	assert_int_equal(diag_count(f->diags), 0);
	assert_int_equal(f->list.n4 + f->list.n6, 0);
}

static void test_crlf_and_trailing_space(void **state)
{
	struct fixture *f = *state;

	assert_true(parse(f, "192.0.2.1\r\n192.0.2.2  \r\n# c\r\n\r\n2001:db8::1 \t\r\n192.0.2.3\r"));
	assert_int_equal(diag_count(f->diags), 0);
	assert_list(&f->list, "192.0.2.1-192.0.2.3 2001:db8::1");
}

/* Only the given bytes are read: text past len is not part of the file. */
static void test_length_bounded(void **state)
{
	struct fixture *f = *state;
	const char *text = "192.0.2.1\n192.0.2.200\n";

	assert_true(listfile_parse(text, 19, NAME, &f->list, f->diags));
	assert_list(&f->list, "192.0.2.1-192.0.2.2");
}

static void test_normalized(void **state)
{
	struct fixture *f = *state;

	assert_true(parse(f, "10.0.0.128/25\n10.0.0.0/25\n10.0.0.7\n2001:db8::/48\n2001:db8::/32\n10.0.0.0/24\n"));
	assert_list(&f->list, "10.0.0.0/24 2001:db8::/32");
}

static void test_appends_to_list(void **state)
{
	struct fixture *f = *state;

	assert_true(parse(f, "10.0.0.0/25\n"));
	assert_true(parse(f, "10.0.0.128/25\n10.0.2.0/24\n"));
	assert_list(&f->list, "10.0.0.0/24 10.0.2.0/24");
}

static void test_bad_lines(void **state)
{
	struct fixture *f = *state;

	assert_false(parse(f, "192.0.2.0/24\n"
			      "# comment\n"
			      "bogus\n"
			      "\n"
			      "10.0.0.0/33 # too long a prefix\n"
			      "192.0.2.1 192.0.2.2\n"
			      "2001:db8::/129\r\n"
			      "192.0.2.9-2001:db8::1\n"
			      "192.0.2.9-192.0.2.8\n"
			      "198.51.100.1\n"
			      "  \tgarbage  # with a comment\n"));
	assert_int_equal(diag_count(f->diags), 7);
	assert_int_equal(diag_errors(f->diags), 7);
	assert_diag(f->diags, 0, DIAG_ERROR, 3, "\"bogus\": not an IPv4 or IPv6 address, CIDR or range");
	assert_diag(f->diags, 1, DIAG_ERROR, 5, "\"10.0.0.0/33\": IPv4 prefix length must be 0-32");
	assert_diag(f->diags, 2, DIAG_ERROR, 6, "one address, CIDR or range per line, not \"192.0.2.1 192.0.2.2\"");
	assert_diag(f->diags, 3, DIAG_ERROR, 7, "\"2001:db8::/129\": IPv6 prefix length must be 0-128");
	assert_diag(f->diags, 4, DIAG_ERROR, 8, "\"192.0.2.9-2001:db8::1\": a range cannot mix IPv4 and IPv6");
	assert_diag(f->diags, 5, DIAG_ERROR, 9, "\"192.0.2.9-192.0.2.8\": range ends before it starts");
	assert_diag(f->diags, 6, DIAG_ERROR, 11, "\"garbage\": not an IPv4 or IPv6 address, CIDR or range");
	/* the good lines are still read */
	assert_list(&f->list, "192.0.2.0/24 198.51.100.1");
}

static void test_host_bits_warning(void **state)
{
	struct fixture *f = *state;

	assert_true(parse(f, "\n192.0.2.1/24\n2001:db8::1/64  # host bits\n"));
	assert_int_equal(diag_count(f->diags), 2);
	assert_int_equal(diag_errors(f->diags), 0);
	assert_int_equal(diag_warnings(f->diags), 2);
	assert_diag(f->diags, 0, DIAG_WARNING, 2, "\"192.0.2.1/24\" has host bits set; it means 192.0.2.0/24");
	assert_diag(f->diags, 1, DIAG_WARNING, 3, "\"2001:db8::1/64\" has host bits set; it means 2001:db8::/64");
	assert_list(&f->list, "192.0.2.0/24 2001:db8::/64");
}

/* A very long bad line is quoted only in part, so one line cannot flood the terminal. */
static void test_long_bad_line_truncated(void **state)
{
	struct fixture *f = *state;
	char line[301], want[200];

	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	assert_false(parse(f, line));
	snprintf(want, sizeof(want), "\"%.80s\": not an IPv4 or IPv6 address, CIDR or range", line);
	assert_diag(f->diags, 0, DIAG_ERROR, 1, want);

	/* the same for a line of several words */
	line[100] = ' ';
	assert_false(parse(f, line));
	snprintf(want, sizeof(want), "one address, CIDR or range per line, not \"%.80s\"", line);
	assert_diag(f->diags, 1, DIAG_ERROR, 1, want);
}

/* Errors from earlier files do not make this one fail, and its name labels only its own diagnostics. */
static void test_other_files_diagnostics(void **state)
{
	struct fixture *f = *state;
	const struct diag *d;

	diag_error(f->diags, "policy.conf", 4, "an earlier error");
	assert_true(parse(f, "192.0.2.1\n"));
	assert_false(parse(f, "\nnope\n"));
	assert_int_equal(diag_count(f->diags), 2);
	d = diag_at(f->diags, 1);
	assert_string_equal(d->file, NAME);
	assert_int_equal(d->line, 2);
}

/* After LISTFILE_MAX_DIAGS problems the file is abandoned with one more error naming the line it stopped at. */
static void test_diag_cap(void **state)
{
	struct fixture *f = *state;
	struct sbuf sb = { 0 };
	char want[64];

	sbuf_puts(&sb, "# header\n");
	for (int i = 0; i < 50; i++)
		sbuf_addf(&sb, "bad-%d\n\n", i);
	sbuf_puts(&sb, "192.0.2.1\n");
	assert_false(listfile_parse(sb.buf, sb.len, NAME, &f->list, f->diags));
	assert_int_equal(diag_count(f->diags), LISTFILE_MAX_DIAGS + 1);
	assert_int_equal(diag_errors(f->diags), LISTFILE_MAX_DIAGS + 1);
	for (int i = 0; i < LISTFILE_MAX_DIAGS; i++) {
		snprintf(want, sizeof(want), "\"bad-%d\": not an IPv4 or IPv6 address, CIDR or range", i);
		assert_diag(f->diags, (size_t)i, DIAG_ERROR, 2 + 2 * (unsigned)i, want);
	}
	assert_diag(f->diags, LISTFILE_MAX_DIAGS, DIAG_ERROR, 2 + 2 * LISTFILE_MAX_DIAGS,
		    "too many problems in this list file; stopped reading it here");
	sbuf_release(&sb);
}

/* Exactly LISTFILE_MAX_DIAGS problems and nothing after them: no extra message. */
static void test_diag_cap_exact(void **state)
{
	struct fixture *f = *state;
	struct sbuf sb = { 0 };

	for (int i = 0; i < LISTFILE_MAX_DIAGS; i++)
		sbuf_addf(&sb, "bad-%d\n", i);
	sbuf_puts(&sb, "\n# trailing comment\n");
	assert_false(listfile_parse(sb.buf, sb.len, NAME, &f->list, f->diags));
	assert_int_equal(diag_count(f->diags), LISTFILE_MAX_DIAGS);
	sbuf_release(&sb);
}

/* Warnings do not make a list bad: a file with many entries with host bits set is read to the end and accepted. */
static void test_many_warnings_read_to_end(void **state)
{
	struct fixture *f = *state;
	struct sbuf sb = { 0 };
	size_t warnings;

	for (int i = 0; i < 40; i++)
		sbuf_addf(&sb, "10.%d.0.1/16\n", i);
	sbuf_puts(&sb, "192.0.2.1\n");
	assert_true(listfile_parse(sb.buf, sb.len, NAME, &f->list, f->diags));
	assert_int_equal(diag_errors(f->diags), 0);
	warnings = diag_warnings(f->diags);
	/* the warnings are capped too, with one line saying so */
	assert_int_equal(warnings, LISTFILE_MAX_DIAGS + 1);
	assert_diag(f->diags, LISTFILE_MAX_DIAGS, DIAG_WARNING, LISTFILE_MAX_DIAGS + 1,
		    "too many warnings in this list file; not reporting more");
	assert_int_equal(f->list.n4, 2);
	assert_list(&f->list, "10.0.0.0-10.39.255.255 192.0.2.1");
	sbuf_release(&sb);
}

/* Warnings first, then a real error past the cap: the file still fails, and says why. */
static void test_warnings_then_error(void **state)
{
	struct fixture *f = *state;
	struct sbuf sb = { 0 };
	bool found = false;

	for (int i = 0; i < 30; i++)
		sbuf_addf(&sb, "10.%d.0.1/16\n", i);
	sbuf_puts(&sb, "not-an-address\n192.0.2.1\n");
	assert_false(listfile_parse(sb.buf, sb.len, NAME, &f->list, f->diags));
	assert_true(diag_errors(f->diags) >= 1);
	for (size_t i = 0; i < diag_count(f->diags); i++) {
		const struct diag *d = diag_at(f->diags, i);

		if (d->severity == DIAG_ERROR && d->line == 31 && strstr(d->message, "not-an-address"))
			found = true;
	}
	assert_true(found);
	sbuf_release(&sb);
}

static char *write_temp(const char *content, size_t len)
{
	char *path = x_strdup("/tmp/tlswall-test-listfile-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0600), 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	close(fd);
	return path;
}

static void test_read_file(void **state)
{
	struct fixture *f = *state;
	const char *io_error = "unset";
	char *path = write_temp("192.0.2.0/24\n2001:db8::/32\n", 27);

	assert_true(listfile_read(path, &f->list, TRUST_WARN, f->diags, &io_error));
	assert_null(io_error);
	assert_int_equal(diag_count(f->diags), 0);
	assert_list(&f->list, "192.0.2.0/24 2001:db8::/32");
	unlink(path);
	free(path);
}

static void test_read_file_bad_lines_carry_path(void **state)
{
	struct fixture *f = *state;
	const char *io_error = "unset";
	char *path = write_temp("192.0.2.0/24\n\nbogus\n", 20);
	const struct diag *d;

	assert_false(listfile_read(path, &f->list, TRUST_WARN, f->diags, &io_error));
	assert_null(io_error);
	assert_int_equal(diag_count(f->diags), 1);
	d = diag_at(f->diags, 0);
	assert_string_equal(d->file, path);
	assert_int_equal(d->line, 3);
	unlink(path);
	free(path);
}

static void test_read_file_errors(void **state)
{
	struct fixture *f = *state;
	const char *io_error = NULL;
	char *path = write_temp("192.0.2.1\n\0\n", 12);

	assert_false(listfile_read("/nonexistent/tlswall/list.txt", &f->list, TRUST_WARN, f->diags, &io_error));
	assert_string_equal(io_error, "No such file or directory");
	assert_false(listfile_read("/tmp", &f->list, TRUST_WARN, f->diags, &io_error));
	assert_string_equal(io_error, "it is a directory");
	/* a FIFO is refused at once, not read (which would wait for a writer) */
	{
		char *fifo = x_asprintf("%s.fifo", path);

		assert_int_equal(mkfifo(fifo, 0600), 0);
		assert_false(listfile_read(fifo, &f->list, TRUST_WARN, f->diags, &io_error));
		assert_string_equal(io_error, "not a regular file");
		unlink(fifo);
		free(fifo);
	}
	assert_false(listfile_read(path, &f->list, TRUST_WARN, f->diags, &io_error));
	assert_string_equal(io_error, "it contains NUL bytes, so it is not a text list of addresses");
	assert_int_equal(f->list.n4, 0);
	assert_int_equal(diag_count(f->diags), 0);
	unlink(path);
	free(path);
}

/* This fstat fails on demand, leaving in the buffer what an uninitialised one might hold: a directory's mode. */
static bool fstat_fails;

int fstat(int fd, struct stat *st)
{
	if (fstat_fails) {
		memset(st, 0, sizeof(*st));
		st->st_mode = S_IFDIR | 0755;
		errno = EIO;
		return -1;
	}
	return fstatat(fd, "", st, AT_EMPTY_PATH);
}

/* When fstat fails, the reason is fstat's, not a guess from a buffer it never filled. */
static void test_read_file_fstat_fails(void **state)
{
	struct fixture *f = *state;
	const char *io_error = NULL;
	char *path = write_temp("192.0.2.1\n", 10);
	bool ok;

	fstat_fails = true;
	ok = listfile_read(path, &f->list, TRUST_WARN, f->diags, &io_error);
	fstat_fails = false;
	assert_false(ok);
	assert_non_null(io_error);
	assert_string_equal(io_error, strerror(EIO));
	assert_int_equal(f->list.n4, 0);
	unlink(path);
	free(path);
}

static void add_file_set(struct policy *p, const char *name, const char *path, unsigned line)
{
	struct named_set *s = policy_add_set(p);

	s->name = x_strdup(name);
	s->file = x_strdup(path);
	s->path = x_strdup(path);
	s->loc = s->file_loc = policy_loc(p, "policy.conf", line);
}

/* Each set gets its file's addresses; a file two sets name is read, and complained about, once. */
static void test_load_sets(void **state)
{
	struct fixture *f = *state;
	struct policy *p = policy_alloc("policy.conf");
	char *bad = write_temp("192.0.2.0/24\nbogus\n", 19), *good = write_temp("2001:db8::/32\n", 14);
	const struct diag *d;

	add_file_set(p, "a", bad, 3);
	add_file_set(p, "b", good, 4);
	add_file_set(p, "c", bad, 5);
	add_file_set(p, "missing", "/nonexistent/tlswall/list.txt", 6);
	listfile_load_sets(p, TRUST_WARN, f->diags);

	assert_list(&p->sets[0].addrs, "192.0.2.0/24");
	assert_list(&p->sets[1].addrs, "2001:db8::/32");
	assert_list(&p->sets[2].addrs, "192.0.2.0/24");
	assert_list(&p->sets[3].addrs, "");
	assert_int_equal(diag_count(f->diags), 2);
	d = diag_at(f->diags, 0);
	assert_string_equal(d->file, bad);
	assert_int_equal(d->line, 2);
	d = diag_at(f->diags, 1);
	assert_string_equal(d->file, "policy.conf");
	assert_int_equal(d->line, 6);
	assert_string_equal(d->message, "set \"missing\": cannot read list file \"/nonexistent/tlswall/list.txt\": "
					"No such file or directory");
	unlink(bad);
	unlink(good);
	free(bad);
	free(good);
	policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_and_comments_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crlf_and_trailing_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_length_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_normalized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_appends_to_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_bits_warning, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_bad_line_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_files_diagnostics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_diag_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_diag_cap_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_warnings_read_to_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warnings_then_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_file_bad_lines_carry_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_file_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_file_fstat_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_sets, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
