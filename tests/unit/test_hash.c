/* Unit tests for hash.c: the values files already on disk were sealed with, and the piecewise form giving the same
 * value as the whole, wherever the pieces are cut. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tlswall/hash.h"

static unsigned char text[1000];

static int setup(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = (unsigned char)(i * 37 + 11);
	return 0;
}

/* Values of tlswall's earlier releases (list caches and binary snapshots carry them): the hash must never change. */
static void test_known_values(void **state)
{
	static const struct {
		size_t len;
		uint64_t want;
	} known[] = {
		{ 0, 0x098ed0dc43c651ccull },	 { 1, 0xf875f1ef2f8c30ceull },	 { 7, 0xfe34f8f98170da1dull },
		{ 8, 0x57ce61981f3e83aeull },	 { 31, 0xf4db3aa4b47be820ull },	 { 32, 0xda024747f7ef7a6bull },
		{ 33, 0xbf19d90e4aacec97ull },	 { 63, 0x80d2b4d65afed7f6ull },	 { 64, 0xc4adae8a3eb400f4ull },
		{ 100, 0xa5abcaf2319c52fbull }, { 1000, 0x42706d65586ecc8bull },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		assert_int_equal(hash64(text, known[i].len), known[i].want);
}

/* every way of cutting a text into two pieces, and into many small ones, gives the whole's value */
static void test_pieces(void **state)
{
	(void)state;
	for (size_t len = 0; len <= 200; len++) {
		uint64_t whole = hash64(text, len);

		for (size_t cut = 0; cut <= len; cut++) {
			struct hash64_state h;

			hash64_begin(&h, len);
			hash64_update(&h, text, cut);
			hash64_update(&h, text + cut, len - cut);
			assert_int_equal(hash64_end(&h), whole);
		}
		for (size_t step = 1; step <= 40; step++) {
			struct hash64_state h;

			hash64_begin(&h, len);
			for (size_t at = 0; at < len; at += step)
				hash64_update(&h, text + at, len - at < step ? len - at : step);
			assert_int_equal(hash64_end(&h), whole);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_values),
		cmocka_unit_test(test_pieces),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
