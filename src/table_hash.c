/* fopencookie: the table is hashed as it is printed, never held as text */
#define _GNU_SOURCE

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlswall/emit_nft.h"
#include "tlswall/ruleset.h"
#include "tlswall/table_hash.h"
#include "tlswall/util.h"

static ssize_t digest_write(void *cookie, const char *buf, size_t len)
{
	EVP_DigestUpdate(cookie, buf, len);
	return (ssize_t)len;
}

/* SHA-256, with libcrypto set up without its configuration file: the table hash names a ruleset, it decides nothing
 * about security, and it must come out the same whatever an openssl.cnf on this host loads (a provider, a FIPS
 * module). Not reading that file also shortens the first digest of every apply from about 2.0 to 1.2 ms (the rest
 * is libcrypto fetching its default provider's SHA-256). No verb that hashes tables makes a TLS handshake, whose
 * settings the configuration file may hold (tls_probe.c, audit). */
static const EVP_MD *sha256(void)
{
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
	return EVP_sha256();
}

_Static_assert(TABLE_HASH_LEN == 2 * SHA256_DIGEST_LENGTH + 1, "a hex SHA-256 and its NUL");

void table_hash_set(const struct rs_set *s, uint8_t out[RS_DIGEST_LEN])
{
	unsigned int len = 0;

	if (s->digest_known) {
		memcpy(out, s->digest, RS_DIGEST_LEN);
		return;
	}
	EVP_Digest(s->elems, s->nelem * rs_set_stride(s), out, &len, sha256(), NULL);
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
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_MD_CTX *ctx;
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
	ctx = x_nonnull(EVP_MD_CTX_new());
	EVP_DigestInit_ex(ctx, sha256(), NULL);
	f = x_nonnull(fopencookie(ctx, "w", io));
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
	EVP_DigestFinal_ex(ctx, md, &len);
	EVP_MD_CTX_free(ctx);
	free(set_ptrs);
	free(sets);
	hex_encode(md, len, out); /* a SHA-256 digest: 32 bytes, TABLE_HASH_LEN - 1 digits */
}
