/* Unit tests for mapping.c: a file read in place, and a file truncated under its mapping while it is read. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tlswall/mapping.h"

#define PAGES 64

static int temp_file(size_t len)
{
	char path[] = "/tmp/tlswall-mapping-XXXXXX";
	int fd = mkstemp(path);
	char *buf = malloc(len);

	assert_true(fd >= 0);
	unlink(path);
	memset(buf, 'a', len);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	free(buf);
	return fd;
}

struct reader {
	const struct mapping *m;
	int fd;
	size_t sum;
};

/* Reads every byte; with fd >= 0, first cuts the file to one page, as a rewrite in place would. */
static void read_all(void *arg)
{
	struct reader *r = arg;

	if (r->fd >= 0)
		assert_int_equal(ftruncate(r->fd, 4096), 0);
	for (size_t i = 0; i < r->m->len; i++)
		r->sum += (unsigned char)r->m->data[i];
}

static void test_read_in_place(void **state)
{
	size_t len = PAGES * 4096 + 17;
	int fd = temp_file(len);
	struct mapping m;
	struct reader r = { &m, -1, 0 };

	(void)state;
	assert_true(mapping_open(&m, fd, len));
	assert_int_equal(m.len, len);
	assert_true(mapping_read_guarded(read_all, &r));
	assert_int_equal(r.sum, len * 'a');
	mapping_release(&m);
	assert_null(m.data);
	/* an empty file maps to nothing, and that is not an error */
	assert_true(mapping_open(&m, fd, 0));
	assert_null(m.data);
	close(fd);
}

/* Truncated while read: the read stops at the first page that is gone, and the caller is told. */
static void test_truncated_while_read(void **state)
{
	size_t len = PAGES * 4096;
	int fd = temp_file(len);
	struct mapping m;
	struct reader r = { &m, fd, 0 };

	(void)state;
	assert_true(mapping_open(&m, fd, len));
	assert_false(mapping_read_guarded(read_all, &r));
	assert_int_equal(r.sum, 4096 * 'a');
	/* the handler is gone again: a later guarded read that does not fault succeeds */
	r.fd = -1;
	r.sum = 0;
	mapping_release(&m);
	assert_true(mapping_open(&m, fd, 4096));
	assert_true(mapping_read_guarded(read_all, &r));
	mapping_release(&m);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_in_place),
		cmocka_unit_test(test_truncated_while_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
