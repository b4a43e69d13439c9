/* libFuzzer target: snapshot files (rollback, last-known-good, the record of the last commit). A snapshot that
 * decodes must encode back to one that decodes to the same table, printed identically. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlswall/emit_nft.h"
#include "tlswall/ruleset.h"
#include "tlswall/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *print(const struct rs_table *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (t)
		emit_nft_table(t, 0, f);
	fclose(f);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *name = NULL, *origin = NULL, *stamp = NULL, *error = NULL;
	struct rs_table *t = NULL, *again = NULL;

	memcpy(text, data, size);
	text[size] = '\0';
	if (snapshot_decode(text, &t, &name, &origin, &stamp, &error)) {
		size_t unreadable;
		char *copy = snapshot_encode(t, name, origin, stamp, &unreadable);
		char *n2 = NULL, *o2 = NULL, *s2 = NULL, *e2 = NULL;
		char *a, *b;

		if (!snapshot_decode(copy, &again, &n2, &o2, &s2, &e2))
			abort();
		a = print(t);
		b = print(again);
		if (strcmp(a, b) != 0 || strcmp(name, n2) != 0)
			abort();
		free(a);
		free(b);
		free(copy);
		free(n2);
		free(o2);
		free(s2);
		free(e2);
	}
	rs_table_free(t);
	rs_table_free(again);
	free(text);
	free(name);
	free(origin);
	free(stamp);
	free(error);
	return 0;
}
