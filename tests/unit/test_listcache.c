/* Unit tests for the parsed-list cache (listfile.c): a list file read once is not parsed again while its device,
 * inode, size, modification time and content are the same; any of them changing makes it parsed again; a file with
 * diagnostics is never cached; a damaged cache is ignored. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <fcntl.h>
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
#include "tlswall/state.h"
#include "tlswall/util.h"

/* A state directory of its own (which holds the cache) with the list file in it, and what the test's loads gave: the
 * ranges of each (freed at teardown) and the diagnostics of the last */
struct fixture {
	char dir[64];
	char list[96];
	struct state *st;
	char *loaded[4];
	size_t nloaded, ndiags;
	bool in_place; /* the last load read the cache in place (addr.h: wire form) */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *error = NULL;

	strcpy(f->dir, "/tmp/tlswall-listcache-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->list, sizeof(f->list), "%s/list.txt", f->dir);
	f->st = state_open(f->dir, &error);
	assert_non_null(f->st);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	DIR *d = opendir(f->dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char path[512];

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", f->dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(f->dir);
	state_close(f->st);
	for (size_t i = 0; i < f->nloaded; i++)
		free(f->loaded[i]);
	free(f);
	return 0;
}

static void write_list(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* the number of cache files in the directory */
static int caches(const struct fixture *f)
{
	DIR *d = opendir(f->dir);
	struct dirent *e;
	int n = 0;

	while ((e = readdir(d)))
		n += strncmp(e->d_name, "list-", 5) == 0;
	closedir(d);
	return n;
}

/* loads f->list as set "s" of a fresh policy, with the cache in f's state directory: its IPv4 ranges as
 * "first-last,..." (host order, hex), the number of IPv6 ones and each as "[first-last]" (hex halves); its
 * diagnostics counted in f->ndiags */
static const char *load(struct fixture *f)
{
	struct policy *p = policy_alloc("policy.conf");
	struct diag_list *diags = diag_list_alloc();
	struct named_set *s = policy_add_set(p);
	struct sbuf sb = { 0 };

	assert_true(f->nloaded < sizeof(f->loaded) / sizeof(f->loaded[0]));

	s->name = x_strdup("s");
	s->file = x_strdup(f->list);
	s->path = x_strdup(f->list);
	s->loc = s->file_loc = policy_loc(p, "policy.conf", 1);
	listfile_load_sets_cached(p, TRUST_WARN, f->st, diags);
	f->in_place = s->addrs.wire4 != NULL;
	addr_list_host(&s->addrs);
	for (size_t i = 0; i < s->addrs.n4; i++)
		sbuf_addf(&sb, "%x-%x,", s->addrs.v4[i].first, s->addrs.v4[i].last);
	sbuf_addf(&sb, "v6:%zu", s->addrs.n6);
	for (size_t i = 0; i < s->addrs.n6; i++) {
		const struct range6 *r = &s->addrs.v6[i];

		sbuf_addf(&sb, "[%016llx%016llx-%016llx%016llx]", (unsigned long long)r->first.hi,
			  (unsigned long long)r->first.lo, (unsigned long long)r->last.hi, (unsigned long long)r->last.lo);
	}
	f->ndiags = diag_count(diags);
	diag_list_free(diags);
	policy_free(p);
	f->loaded[f->nloaded++] = sb.buf;
	return sb.buf;
}

static void test_cached_and_reused(void **state)
{
	struct fixture *f = *state;
	const char *a;

	write_list(f->list, "10.0.1.0/24\n10.0.0.0/24\n2001:db8::/32\n");
	a = load(f);
	assert_int_equal(f->ndiags, 0);
	assert_string_equal(a, "a000000-a0001ff,v6:1[20010db8000000000000000000000000-20010db8ffffffffffffffffffffffff]");
	assert_false(f->in_place);
	assert_int_equal(caches(f), 1);
	/* read again: from the cache, in place, the same ranges */
	assert_string_equal(a, load(f));
	assert_true(f->in_place);
}

/* same size, same modification time, other bytes: the content hash tells */
static void test_content_change_seen(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	struct timespec times[2];
	const char *a, *b;

	write_list(f->list, "10.0.0.0/24\n");
	a = load(f);
	assert_int_equal(stat(f->list, &st), 0);
	write_list(f->list, "10.0.9.0/24\n");
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, f->list, times, 0), 0);
	b = load(f);
	assert_string_equal(a, "a000000-a0000ff,v6:0");
	assert_string_equal(b, "a000900-a0009ff,v6:0");
}

/* a list with a warning is parsed every time, so that the warning is given every time */
static void test_diagnostics_not_cached(void **state)
{
	struct fixture *f = *state;

	write_list(f->list, "10.0.0.1/24\n");
	load(f);
	assert_int_equal(f->ndiags, 1);
	assert_int_equal(caches(f), 0);
	load(f);
	assert_int_equal(f->ndiags, 1);
}

/* a cache file damaged in any byte is not believed */
static void test_damaged_cache_ignored(void **state)
{
	struct fixture *f = *state;
	DIR *d;
	struct dirent *e;
	char path[512] = "";
	const char *a;

	write_list(f->list, "10.0.0.0/24\n10.0.2.0/24\n");
	a = load(f);
	d = opendir(f->dir);
	while ((e = readdir(d)))
		if (strncmp(e->d_name, "list-", 5) == 0)
			snprintf(path, sizeof(path), "%s/%s", f->dir, e->d_name);
	closedir(d);
	{
		int fd = open(path, O_RDWR);
		off_t end = lseek(fd, 0, SEEK_END);
		char c;

		assert_int_equal(pread(fd, &c, 1, end - 3), 1);
		c ^= 0x10;
		assert_int_equal(pwrite(fd, &c, 1, end - 3), 1);
		close(fd);
	}
	assert_string_equal(a, load(f));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cached_and_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_content_change_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_diagnostics_not_cached, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_cache_ignored, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
