/* libFuzzer target: the binary form of snapshots and of the record of the last commit (record_bin.c). Whatever the
 * bytes, decoding never crashes and never yields a table that is not the one encoded: a file that decodes encodes
 * back to one that decodes to the same table, printed identically. An input whose byte 12 (reserved, 0) is 1 has its
 * checksum set right first, so that the fuzzer also reaches what the checksum guards; a JSON snapshot as input is encoded to
 * the binary form and must decode back whole, and any byte of that changed or cut off must be refused. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlswall/record_bin.h"
#include "tlswall/ruleset.h"
#include "tlswall/snapshot.h"

#include "table_fuzz.h"

/* What the binary form insists on and a JSON snapshot does not check: set names that differ (elements are filed under
 * their set's name), every set's elements strictly increasing, each range first <= last. */
static bool well_formed(const struct rs_table *t)
{
	for (size_t i = 0; i < t->nsets; i++) {
		const struct rs_set *s = t->sets[i];
		size_t klen = rs_keylen(s->key), stride = rs_set_stride(s);

		if (rs_table_find_set(t, s->name) != s)
			return false;

		for (size_t j = 0; !s->vmap && !s->foreign && j < s->nelem; j++) {
			const uint8_t *e = s->elems + j * stride;

			if ((s->interval && memcmp(e, e + klen, klen) > 0) ||
			    (j && memcmp(e - stride + (s->interval ? klen : 0), e, klen) >= 0))
				return false;
		}
	}
	return true;
}

/* t encodes to a file that decodes to t; cut or damaged at byte `at`, that file is refused */
static void round_trip(const struct rs_table *t, const struct snapshot_info *info, size_t at)
{
	struct snapshot_info info2 = { 0 };
	struct rs_table *again = NULL;
	size_t len, left_out;
	char *bin = record_bin_encode(t, info, NULL, 0, &len, &left_out), *error = NULL, *a, *b;

	if (left_out || !record_bin_decode(bin, len, NULL, 0, &again, &info2, NULL, NULL, &error))
		abort();
	a = table_text(t);
	b = table_text(again);
	if (strcmp(a, b) != 0)
		abort();
	/* based on a table equal to it (the one just read back), it lists no set and reads back whole with that file as
	 * its base */
	{
		struct rs_table *based_back = NULL;
		struct snapshot_info info3 = { 0 };
		size_t blen;
		char *based = record_bin_encode(t, info, again, record_bin_sum(bin, len), &blen, &left_out), *c;

		if (record_bin_delta_bytes(t, again) != 0 ||
		    !record_bin_decode(based, blen, bin, len, &based_back, &info3, NULL, NULL, &error))
			abort();
		c = table_text(based_back);
		if (strcmp(a, c) != 0)
			abort();
		free(c);
		free(based);
		rs_table_free(based_back);
		snapshot_info_release(&info3);
	}
	rs_table_free(again);
	snapshot_info_release(&info2);
	free(error);
	error = NULL;
	/* cut short anywhere: refused */
	if (record_bin_decode(bin, at % len, NULL, 0, &again, &info2, NULL, NULL, &error))
		abort();
	free(error);
	error = NULL;
	/* one byte changed anywhere past the magic: refused (the checksum, or the header it covers) */
	if (len > 8) {
		bin[8 + at % (len - 8)] ^= 0x5a;
		if (record_bin_decode(bin, len, NULL, 0, &again, &info2, NULL, NULL, &error)) {
			char *c = table_text(again);

			/* a change the format cannot see (the zero padding) must at least not change the table */
			if (strcmp(a, c) != 0)
				abort();
			free(c);
			rs_table_free(again);
			snapshot_info_release(&info2);
		}
		free(error);
	}
	free(a);
	free(b);
	free(bin);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *error = NULL;
	struct rs_table *t = NULL;
	struct snapshot_info info = { 0 };

	memcpy(copy, data, size);
	copy[size] = '\0';
	if (size && copy[0] == '{') {
		if (snapshot_decode(copy, &t, &info, &error) && t && well_formed(t))
			round_trip(t, &info, size);
	} else {
		if (size > 12 && data[12] == 1 && record_bin_is(copy, size))
			record_bin_seal(copy, size);
		if (record_bin_decode(copy, size, NULL, 0, &t, &info, NULL, NULL, &error) && t)
			round_trip(t, &info, size);
	}
	rs_table_free(t);
	snapshot_info_release(&info);
	free(copy);
	free(error);
	return 0;
}
