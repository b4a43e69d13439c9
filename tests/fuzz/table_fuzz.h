/* Shared by the libFuzzer targets that decode tables (fuzz_snapshot.c, fuzz_record_bin.c): libFuzzer's entry point,
 * and a table as text, by which two tables are compared. Included by the targets only, so its one function is
 * static. */
#ifndef TLSWALL_TABLE_FUZZ_H
#define TLSWALL_TABLE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tlswall/emit_nft.h"
#include "tlswall/ruleset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* t as generate prints its table, or an empty string for NULL; the caller frees it */
static inline char *table_text(const struct rs_table *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (t)
		emit_nft_table(t, 0, f);
	fclose(f);
	return buf;
}

#endif
