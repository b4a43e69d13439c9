/* Unit tests for the audit trail's lines (trail.c), reading them back from events.log, the Prometheus text writer
 * (prom.c) and the ruleset hash (table_hash.c). */
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
#include "tlswall/prom.h"
#include "tlswall/ruleset.h"
#include "tlswall/state.h"
#include "tlswall/table_hash.h"
#include "tlswall/trail.h"
#include "tlswall/util.h"

/* A value is bare when it is made of safe characters, else quoted with \" and \\; what cannot be printed is escaped
 * as status prints it, so one line stays one line; an empty value is left out. */
static void test_quoting(void **state)
{
	struct trail *t = trail_alloc("applied", "apply");

	(void)state;
	trail_add(t, "policy", "%s", "/etc/tlswall/tlswall.conf");
	trail_add(t, "change", "%s", "+1 rule, office.v4: +3 elements");
	trail_add(t, "empty", "%s", "");
	trail_add(t, "q", "%s", "say \"hi\" \\o/");
	trail_add(t, "nl", "%s", "a\nb\tc\xff");
	trail_add(t, "eq", "a=%d", 1);
	assert_string_equal(trail_text(t), "applied via=apply policy=/etc/tlswall/tlswall.conf "
					   "change=\"+1 rule, office.v4: +3 elements\" q=\"say \\\"hi\\\" \\\\o/\" "
					   "nl=\"a\\nb\\tc\\xff\" eq=\"a=1\"");
	trail_free(t);
	t = trail_alloc("rolled_back", "rollback timer");
	assert_string_equal(trail_text(t), "rolled_back via=\"rollback timer\"");
	trail_free(t);
	trail_free(NULL);
}

static void test_path(void **state)
{
	struct trail *t = trail_alloc("applied", "apply");
	char cwd[4096], *want;

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	trail_add_path(t, "policy", "web.conf");
	trail_add_path(t, "abs", "/etc/x.conf");
	want = x_asprintf("applied via=apply policy=%s/web.conf abs=/etc/x.conf", cwd);
	assert_string_equal(trail_text(t), want);
	free(want);
	trail_free(t);
}

/* reason=: the errors emitted since the mark, with their place, joined; warnings and earlier errors are not reasons;
 * a long list is cut, on a character boundary, with "..." */
static void test_errors(void **state)
{
	struct diag_list *d = diag_list_alloc();
	struct trail *t = trail_alloc("refused", "apply");
	const char *line;

	(void)state;
	diag_error(d, NULL, 0, "before the mark");
	diag_warning(d, "a.conf", 3, "a warning");
	diag_error(d, "a.conf", 7, "first");
	diag_error(d, NULL, 0, "second");
	diag_error(d, "b.txt", 0, "third");
	trail_add_errors(t, d, 1);
	assert_string_equal(trail_text(t), "refused via=apply reason=\"a.conf:7: first; b.txt: third; second\"");
	trail_free(t);

	t = trail_alloc("refused", "apply");
	for (int i = 0; i < 400; i++)
		diag_error(d, NULL, 0, "\xc3\xa9\xc3\xa9\xc3\xa9 %d", i);
	trail_add_errors(t, d, 0);
	line = trail_text(t);
	assert_true(strlen(line) < 1600);
	assert_non_null(strstr(line, "...\""));
	/* no escaped byte: the cut did not split a character */
	assert_null(strstr(line, "\\x"));
	trail_free(t);
	diag_list_free(d);
}

struct dir {
	char path[64];
	struct state *st;
};

static int dir_setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));
	char *error = NULL;

	snprintf(d->path, sizeof(d->path), "/tmp/tw-trail.XXXXXX");
	assert_non_null(mkdtemp(d->path));
	d->st = state_open(d->path, &error);
	assert_non_null(d->st);
	*state = d;
	return 0;
}

static int dir_teardown(void **state)
{
	struct dir *d = *state;
	char *path = x_asprintf("%s/%s", d->path, STATE_EVENTS);

	unlink(path);
	free(path);
	path = x_asprintf("%s/%s.tmp", d->path, STATE_EVENTS);
	unlink(path);
	free(path);
	state_close(d->st);
	rmdir(d->path);
	free(d);
	return 0;
}

static void write_events(struct dir *d, const char *text)
{
	char *path = x_asprintf("%s/%s", d->path, STATE_EVENTS);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, 0600);
	free(path);
}

/* Stamps in any offset give the same instant; a line whose stamp cannot be read has time 0; lines of older versions
 * ("boot: ...") are read as they are; last counts lines from the end. */
static void test_read(void **state)
{
	struct dir *d = *state;
	struct trail_line *l;
	char *error = NULL;
	size_t n;

	assert_true(trail_read(d->st, 0, &l, &n, &error));
	assert_int_equal(n, 0);
	trail_lines_free(l, n);
	write_events(d, "2026-11-27T14:02:11+0100 applied via=apply policy=/a.conf\n"
			"2026-11-27T13:02:11+0000 confirmed via=confirm\n"
			"2026-11-27T08:32:11-0430 boot: the policy is missing; applied the emergency ruleset\n"
			"garbage without a stamp\n"
			"\n"
			"2026-11-27T13:02:12+0000 removed via=remove");
	assert_true(trail_read(d->st, 0, &l, &n, &error));
	assert_int_equal(n, 5);
	assert_int_equal(l[0].time, 1795784531);
	assert_string_equal(l[0].event, "applied");
	assert_string_equal(l[0].text, "2026-11-27T14:02:11+0100 applied via=apply policy=/a.conf");
	assert_int_equal(l[1].time, 1795784531);
	assert_string_equal(l[1].event, "confirmed");
	assert_int_equal(l[2].time, 1795784531);
	assert_string_equal(l[2].event, "boot:");
	assert_int_equal(l[3].time, 0);
	assert_string_equal(l[4].event, "removed");
	assert_int_equal(l[4].time, 1795784532);
	trail_lines_free(l, n);
	assert_true(trail_read(d->st, 2, &l, &n, &error));
	assert_int_equal(n, 2);
	assert_string_equal(l[0].text, "garbage without a stamp");
	assert_string_equal(l[1].event, "removed");
	trail_lines_free(l, n);
}

/* events.log keeps its last 256 KiB or so, whole lines, once it passes 512 KiB. */
static void test_events_trimmed(void **state)
{
	struct dir *d = *state;
	struct trail_line *l;
	char *error = NULL;
	size_t n;

	for (int i = 0; i < 6000; i++)
		state_event(d->st, "applied via=apply n=%d %0100d", i, 0);
	assert_true(trail_read(d->st, 0, &l, &n, &error));
	assert_true(n > 2000 && n < 5000);
	assert_string_equal(l[n - 1].event, "applied");
	assert_non_null(strstr(l[n - 1].text, " n=5999 "));
	for (size_t i = 0; i < n; i++)
		assert_true(l[i].time > 0);
	trail_lines_free(l, n);
}

/* Label values and HELP text escaped as the exposition format says; what is not UTF-8, or is a control character,
 * becomes U+FFFD, so a hostile chain name cannot break the file. */
static void test_prom(void **state)
{
	struct sbuf sb = { 0 };

	(void)state;
	prom_family(&sb, "tlswall_x_total", "counter", "a \\ b\nc \"d\"");
	prom_u64(&sb, "tlswall_x_total", UINT64_MAX, "service", "a\"b\\c\nd", "kind", "\x01\xff\xc3\xa9", NULL);
	prom_i64(&sb, "tlswall_y", -3, NULL);
	assert_string_equal(sb.buf, "# HELP tlswall_x_total a \\\\ b\\nc \"d\"\n"
				    "# TYPE tlswall_x_total counter\n"
				    "tlswall_x_total{service=\"a\\\"b\\\\c\\nd\",kind=\"\xef\xbf\xbd\xef\xbf\xbd\xc3\xa9\"} "
				    "18446744073709551615\n"
				    "tlswall_y -3\n");
	sbuf_release(&sb);
}

static struct rs_table *small_table(const char *elem_last)
{
	struct rs_table *t = rs_table_alloc("tlswall");
	struct rs_set *s = rs_table_add_set(t, "office.v4", RS_KEY_IPV4, true);
	struct rs_chain *c = rs_table_add_chain(t, "svc.https");
	const uint8_t a[4] = { 192, 0, 2, 0 }, b[4] = { 192, 0, 2, 255 }, e[4] = { 198, 51, 100, (uint8_t)atoi(elem_last) };

	rs_set_add(s, a, b, NULL);
	rs_set_add(s, e, e, NULL);
	rs_rule_counter(rs_chain_add_rule(c));
	rs_rule_verdict(c->rules[0], RS_ACCEPT, NULL);
	return t;
}

/* The same table hashes the same; an element, a counter and a handle: only the element counts. */
static void test_hash(void **state)
{
	struct rs_table *a = small_table("7"), *b = small_table("7"), *c = small_table("8");
	char ha[TABLE_HASH_LEN], hb[TABLE_HASH_LEN], hc[TABLE_HASH_LEN];

	(void)state;
	table_sha256(NULL, ha);
	assert_string_equal(ha, "");
	table_sha256(a, ha);
	assert_int_equal(strlen(ha), 64);
	b->chains[0]->rules[0]->stmts[0].u.counter.packets = 42;
	b->chains[0]->rules[0]->handle = 9;
	table_sha256(b, hb);
	assert_string_equal(ha, hb);
	table_sha256(c, hc);
	assert_string_not_equal(ha, hc);
	rs_table_free(a);
	rs_table_free(b);
	rs_table_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_errors),
		cmocka_unit_test_setup_teardown(test_read, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_events_trimmed, dir_setup, dir_teardown),
		cmocka_unit_test(test_prom),
		cmocka_unit_test(test_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
