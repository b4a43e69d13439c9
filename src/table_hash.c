/* fopencookie: the table is hashed as it is printed, never held as text */
#define _GNU_SOURCE

/* SHA-256 from nettle (GnuTLS's cryptographic library): it hashes as fast as libcrypto (both use the processor's SHA
 * instructions), and loads in a fifth of the time with no set-up at all; libcrypto cost every run of tlswall about 1.2
 * ms of loading and relocating and 1.2 ms of fetching its provider, for a digest. */
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlswall/emit_nft.h"
#include "tlswall/ruleset.h"
#include "tlswall/table_hash.h"
#include "tlswall/util.h"

static ssize_t digest_write(void *cookie, const char *buf, size_t len)
{
	sha256_update(cookie, len, (const uint8_t *)buf);
	return (ssize_t)len;
}

_Static_assert(TABLE_HASH_LEN == 2 * SHA256_DIGEST_SIZE + 1, "a hex SHA-256 and its NUL");
_Static_assert(RS_DIGEST_LEN == SHA256_DIGEST_SIZE, "a set's digest is a SHA-256");

void table_hash_set(const struct rs_set *s, uint8_t out[RS_DIGEST_LEN])
{
	struct sha256_ctx ctx;

	if (s->digest_known) {
		memcpy(out, s->digest, RS_DIGEST_LEN);
		return;
	}
	sha256_init(&ctx);
	sha256_update(&ctx, s->nelem * rs_set_stride(s), s->elems);
	sha256_digest(&ctx, RS_DIGEST_LEN, out);
}

/* The sets whose elements the table hash takes as a digest: those that are not maps (a map's elements are in the
 * text) and that tlswall made. */
static bool digested(const struct rs_set *s)
{
	return !s->vmap && !s->foreign;
}

void table_hash_sets(struct rs_table *t, const struct rs_table *known)
{
	size_t cursor = 0;

	for (size_t i = 0; i < t->nsets; i++) {
		struct rs_set *s = t->sets[i];
		const struct rs_set *k = known ? rs_table_find_set_from(known, s->name, &cursor) : NULL;

		if (s->digest_known || !digested(s))
			continue;
		if (k && k->digest_known && digested(k) && k->key == s->key && k->interval == s->interval &&
		    k->nelem == s->nelem && (!s->nelem || memcmp(k->elems, s->elems, s->nelem * rs_set_stride(s)) == 0))
			memcpy(s->digest, k->digest, RS_DIGEST_LEN);
		else
			table_hash_set(s, s->digest);
		s->digest_known = true;
	}
}

/* The table as generate prints it, but for the elements of address sets, which go in afterwards as the SHA-256 of the
 * bytes the model holds: printing a million ranges as text would cost a commit a third of its time, and the audit
 * trail hashes every commit; hashing them whole, a tenth of it, and a set's digest is known when its elements are
 * those of the record (ruleset.h). Verdict maps (a few elements) stay in the text. */
void table_sha256(const struct rs_table *t, char out[TABLE_HASH_LEN])
{
	cookie_io_functions_t io = { .write = digest_write };
	struct rs_table shell;
	struct rs_set *sets, **set_ptrs;
	uint8_t md[SHA256_DIGEST_SIZE];
	struct sha256_ctx ctx;
	FILE *f;

	out[0] = '\0';
	if (!t)
		return;
	sets = x_calloc(t->nsets ? t->nsets : 1, sizeof(*sets));
	set_ptrs = x_calloc(t->nsets ? t->nsets : 1, sizeof(*set_ptrs));
	shell = *t;
	for (size_t i = 0; i < t->nsets; i++) {
		sets[i] = *t->sets[i];
		if (!sets[i].vmap)
			sets[i].nelem = 0;
		set_ptrs[i] = &sets[i];
	}
	shell.sets = set_ptrs;
	sha256_init(&ctx);
	f = x_nonnull(fopencookie(&ctx, "w", io));
	emit_nft_table(&shell, 0, f);
	for (size_t i = 0; i < t->nsets; i++) {
		const struct rs_set *s = t->sets[i];
		uint8_t digest[RS_DIGEST_LEN];
		char hex[2 * RS_DIGEST_LEN + 1];

		if (!digested(s) || !s->nelem)
			continue;
		table_hash_set(s, digest);
		hex_encode(digest, sizeof(digest), hex);
		fprintf(f, "elements of %s: %zu %s\n", s->name, s->nelem, hex);
	}
	fclose(f);
	sha256_digest(&ctx, sizeof(md), md);
	free(set_ptrs);
	free(sets);
	hex_encode(md, sizeof(md), out);
}
