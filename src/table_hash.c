/* fopencookie: the table is hashed as it is printed, never held as text (a million-range set prints 20 MB) */
#define _GNU_SOURCE

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "tlswall/emit_nft.h"
#include "tlswall/table_hash.h"
#include "tlswall/util.h"

static ssize_t digest_write(void *cookie, const char *buf, size_t len)
{
	EVP_DigestUpdate(cookie, buf, len);
	return (ssize_t)len;
}

void table_sha256(const struct rs_table *t, char out[TABLE_HASH_LEN])
{
	static const char hex[] = "0123456789abcdef";
	cookie_io_functions_t io = { .write = digest_write };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_MD_CTX *ctx;
	FILE *f;

	out[0] = '\0';
	if (!t)
		return;
	ctx = x_nonnull(EVP_MD_CTX_new());
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	f = x_nonnull(fopencookie(ctx, "w", io));
	emit_nft_table(t, 0, f);
	fclose(f);
	EVP_DigestFinal_ex(ctx, md, &len);
	EVP_MD_CTX_free(ctx);
	for (unsigned i = 0; i < len && 2 * i + 2 < TABLE_HASH_LEN; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
		out[2 * i + 2] = '\0';
	}
}
