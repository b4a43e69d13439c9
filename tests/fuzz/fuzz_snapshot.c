/* libFuzzer target: snapshot files (rollback, last-known-good, the record of the last commit). A snapshot that
 * decodes must encode back to one that decodes to the same table, printed identically. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlswall/ruleset.h"
#include "tlswall/snapshot.h"

#include "table_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *error = NULL;
	struct rs_table *t = NULL, *again = NULL;
	struct snapshot_info info = { 0 };

	memcpy(text, data, size);
	text[size] = '\0';
	if (snapshot_decode(text, &t, &info, &error)) {
		struct snapshot_info info2 = { 0 };
		size_t left_out;
		char *copy = snapshot_encode(t, &info, &left_out);
		char *e2 = NULL;
		char *a, *b;

		/* a decoded snapshot is restorable, so nothing is left out of its copy */
		if (left_out || !snapshot_decode(copy, &again, &info2, &e2))
			abort();
		a = table_text(t);
		b = table_text(again);
		if (strcmp(a, b) != 0 || strcmp(info.table, info2.table) != 0)
			abort();
		free(a);
		free(b);
		free(copy);
		snapshot_info_release(&info2);
		free(e2);
	}
	rs_table_free(t);
	rs_table_free(again);
	snapshot_info_release(&info);
	free(text);
	free(error);
	return 0;
}
