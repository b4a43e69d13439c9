#include <stdlib.h>
#include <string.h>

#include "tlswall/hash.h"
#include "tlswall/record_bin.h"
#include "tlswall/ruleset.h"
#include "tlswall/snapshot.h"
#include "tlswall/util.h"

#define MAGIC "TLSWALLB"
#define HEADER 48
#define FLAG_BASED 1u
#define ALIGN8(n) (((n) + 7) & ~(size_t)7)

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint64_t checksum(const uint8_t *p, size_t n)
{
	return hash64(p, n);
}

/* Sets whose elements go in the element part: every set but maps (their verdicts stay in the JSON part). */
static bool elements_apart(const struct rs_set *s)
{
	return !s->foreign && !s->vmap;
}

void record_bin_seal(char *data, size_t len)
{
	if (len >= HEADER)
		put64((uint8_t *)data + 32, checksum((const uint8_t *)data + HEADER, len - HEADER));
}

bool record_bin_is(const char *data, size_t len)
{
	return data && len >= 8 && memcmp(data, MAGIC, 8) == 0;
}

/* Whether s has the very elements of the set of its name in base. */
static bool same_as_base(const struct rs_set *s, const struct rs_table *base)
{
	const struct rs_set *b = base ? rs_table_find_set(base, s->name) : NULL;

	if (b == s)
		return true;
	return b && elements_apart(b) && b->key == s->key && b->interval == s->interval && b->nelem == s->nelem &&
	       (!s->nelem || memcmp(b->elems, s->elems, s->nelem * rs_set_stride(s)) == 0);
}

size_t record_bin_delta_bytes(const struct rs_table *t, const struct rs_table *base)
{
	size_t n = 0;

	for (size_t i = 0; i < t->nsets; i++)
		if (elements_apart(t->sets[i]) && !same_as_base(t->sets[i], base))
			n += t->sets[i]->nelem * rs_set_stride(t->sets[i]);
	return n;
}

char *record_bin_encode(const struct rs_table *t, const struct snapshot_info *info, const struct rs_table *base,
			uint64_t base_sum, size_t *len, size_t *left_out)
{
	struct rs_table skel = *t;
	struct rs_set *bare = x_calloc(t->nsets ? t->nsets : 1, sizeof(*bare));
	struct rs_set **sets = x_calloc(t->nsets ? t->nsets : 1, sizeof(*sets));
	bool *apart = x_calloc(t->nsets ? t->nsets : 1, sizeof(*apart));
	size_t json_len, bin_len = 0, off;
	char *json;
	uint8_t *out;

	/* the JSON part: the table with the elements that go apart left out */
	for (size_t i = 0; i < t->nsets; i++) {
		bare[i] = *t->sets[i];
		if (elements_apart(t->sets[i])) {
			bare[i].nelem = 0;
			apart[i] = !same_as_base(t->sets[i], base);
			if (apart[i])
				bin_len += 16 + ALIGN8(strlen(t->sets[i]->name)) +
					   ALIGN8(t->sets[i]->nelem * rs_set_stride(t->sets[i]));
		}
		sets[i] = &bare[i];
	}
	skel.sets = sets;
	json = snapshot_encode(&skel, info, left_out);
	free(sets);
	free(bare);
	json_len = strlen(json);

	*len = HEADER + ALIGN8(json_len) + bin_len;
	out = x_calloc(1, *len);
	memcpy(out, MAGIC, 8);
	put32(out + 8, RECORD_BIN_VERSION);
	put32(out + 12, base ? FLAG_BASED : 0);
	put64(out + 16, json_len);
	put64(out + 24, bin_len);
	put64(out + 40, base ? base_sum : 0);
	memcpy(out + HEADER, json, json_len);
	free(json);
	off = HEADER + ALIGN8(json_len);
	for (size_t i = 0; i < t->nsets; i++) {
		const struct rs_set *s = t->sets[i];
		size_t nlen = strlen(s->name), bytes = s->nelem * rs_set_stride(s);

		if (!apart[i])
			continue;
		put32(out + off, (uint32_t)nlen);
		put32(out + off + 4, (uint32_t)rs_set_stride(s));
		put64(out + off + 8, s->nelem);
		off += 16;
		memcpy(out + off, s->name, nlen);
		off += ALIGN8(nlen);
		if (bytes)
			memcpy(out + off, s->elems, bytes);
		off += ALIGN8(bytes);
	}
	free(apart);
	record_bin_seal((char *)out, *len);
	return (char *)out;
}

uint64_t record_bin_sum(const char *data, size_t len)
{
	return len >= HEADER ? get64((const uint8_t *)data + 32) : 0;
}

uint64_t record_bin_base_sum(const char *data, size_t len)
{
	return len >= HEADER && (get32((const uint8_t *)data + 12) & FLAG_BASED) ? get64((const uint8_t *)data + 40) : 0;
}

char *record_bin_base_name(uint64_t sum)
{
	return x_asprintf("base-%016llx.bin", (unsigned long long)sum);
}

/* The JSON part of a file whose header holds together (lengths within the file); NULL otherwise. */
static const char *json_part(const uint8_t *p, size_t len, size_t *json_len, size_t *bin_len, char **error)
{
	if (len < HEADER || memcmp(p, MAGIC, 8) != 0) {
		*error = x_strdup("not a binary tlswall snapshot");
		return NULL;
	}
	if (get32(p + 8) != RECORD_BIN_VERSION) {
		*error = x_asprintf("binary snapshot of format %u; this tlswall reads format %u", get32(p + 8),
				    RECORD_BIN_VERSION);
		return NULL;
	}
	*json_len = (size_t)get64(p + 16);
	*bin_len = (size_t)get64(p + 24);
	if (*json_len > len || *bin_len > len || HEADER + ALIGN8(*json_len) + *bin_len != len) {
		*error = x_strdup("binary snapshot is truncated or has bytes beyond its end");
		return NULL;
	}
	return (const char *)p + HEADER;
}

char *record_bin_stamp(const char *data, size_t len)
{
	size_t json_len, bin_len;
	char *error = NULL, *json, *stamp = NULL, *at, *end;
	const char *part = json_part((const uint8_t *)data, len, &json_len, &bin_len, &error);

	free(error);
	if (!part)
		return NULL;
	/* the stamp is near the start of the JSON part, in a fixed shape: "stamp":"..." */
	json = x_strndup(part, json_len > 4096 ? 4096 : json_len);
	at = strstr(json, "\"stamp\":\"");
	if (at && (end = strchr(at + 9, '"')))
		stamp = x_strndup(at + 9, (size_t)(end - at - 9));
	free(json);
	return stamp;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return __builtin_bswap64(v);
}

static uint32_t be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return __builtin_bswap32(v);
}

/* Elements strictly increasing, each range first <= last: what a set in the model always is. Keys are compared as
 * big-endian words (an IPv6 key as two), not with memcmp: a million calls of it were a tenth of a delta apply. */
static bool in_order(const struct rs_set *s)
{
	size_t klen = rs_keylen(s->key), stride = rs_set_stride(s);

	if (!s->interval || (klen != 4 && klen != 16)) {
		for (size_t i = 1; i < s->nelem; i++)
			if (memcmp(s->elems + (i - 1) * stride, s->elems + i * stride, klen) >= 0)
				return false;
		return true;
	}
	if (klen == 4) {
		uint32_t prev = 0;

		for (size_t i = 0; i < s->nelem; i++) {
			uint32_t first = be32(s->elems + i * 8), last = be32(s->elems + i * 8 + 4);

			if (first > last || (i && first <= prev))
				return false;
			prev = last;
		}
		return true;
	}
	{
		uint64_t ph = 0, pl = 0;

		for (size_t i = 0; i < s->nelem; i++) {
			const uint8_t *e = s->elems + i * 32;
			uint64_t fh = be64(e), fl = be64(e + 8), lh = be64(e + 16), ll = be64(e + 24);

			if (fh > lh || (fh == lh && fl > ll))
				return false;
			if (i && (fh < ph || (fh == ph && fl <= pl)))
				return false;
			ph = lh;
			pl = ll;
		}
	}
	return true;
}

bool record_bin_decode(const char *data, size_t len, struct rs_table *base, struct rs_table **out,
		       struct snapshot_info *info, char ***listed, size_t *nlisted, char **error)
{
	const uint8_t *p = (const uint8_t *)data;
	size_t json_len, bin_len, off, nfilled = 0;
	const struct rs_set **filled = NULL;
	const char *part;
	char *json;
	bool ok, based;

	*out = NULL;
	memset(info, 0, sizeof(*info));
	part = json_part(p, len, &json_len, &bin_len, error);
	if (!part)
		return false;
	if (get64(p + 32) != checksum(p + HEADER, len - HEADER)) {
		*error = x_strdup("binary snapshot is damaged (its checksum does not match)");
		return false;
	}
	based = get32(p + 12) & FLAG_BASED;
	if (based && !base) {
		*error = x_strdup("binary snapshot is based on a file that cannot be read");
		return false;
	}
	json = x_strndup(part, json_len);
	ok = snapshot_decode(json, out, info, error);
	free(json);
	if (!ok)
		return false;
	off = HEADER + ALIGN8(json_len);
	filled = x_calloc(*out ? (*out)->nsets + 1 : 1, sizeof(*filled));
	while (off < len) {
		uint32_t nlen, stride;
		uint64_t nelem;
		struct rs_set *s;
		char *name;

		if (len - off < 16)
			goto bad;
		nlen = get32(p + off);
		stride = get32(p + off + 4);
		nelem = get64(p + off + 8);
		off += 16;
		if (nlen > len - off || ALIGN8((size_t)nlen) > len - off)
			goto bad;
		name = x_strndup((const char *)p + off, nlen);
		s = *out ? rs_table_find_set(*out, name) : NULL;
		free(name);
		off += ALIGN8((size_t)nlen);
		for (size_t k = 0; s && k < nfilled; k++)
			if (filled[k] == s)
				s = NULL; /* listed twice */
		if (!s || s->nelem || !elements_apart(s) || stride != rs_set_stride(s) ||
		    nelem > (len - off) / (stride ? stride : 1) || ALIGN8(nelem * stride) > len - off ||
		    nfilled == (*out)->nsets)
			goto bad;
		filled[nfilled++] = s;
		s->nelem = s->capelem = (size_t)nelem;
		if (nelem) {
			s->elems = x_reallocarray(s->elems, (size_t)nelem, stride);
			memcpy(s->elems, p + off, (size_t)nelem * stride);
		}
		off += ALIGN8((size_t)nelem * stride);
		if (!in_order(s))
			goto bad;
	}
	/* a based snapshot's other sets are its base's */
	for (size_t i = 0; based && *out && i < (*out)->nsets; i++) {
		struct rs_set *s = (*out)->sets[i];
		const struct rs_set *b;
		bool own = false;

		for (size_t k = 0; k < nfilled && !own; k++)
			own = filled[k] == s;
		if (own || !elements_apart(s))
			continue;
		b = rs_table_find_set(base, s->name);
		if (!b || !elements_apart(b) || b->key != s->key || b->interval != s->interval || b->nelem != b->capelem)
			goto bad;
		/* taken over, not copied: the base is read for this and thrown away */
		free(s->elems);
		s->elems = b->elems;
		s->nelem = s->capelem = b->nelem;
		((struct rs_set *)b)->elems = NULL;
		((struct rs_set *)b)->nelem = ((struct rs_set *)b)->capelem = 0;
	}
	if (listed) {
		*listed = x_calloc(nfilled ? nfilled : 1, sizeof(**listed));
		for (size_t k = 0; k < nfilled; k++)
			(*listed)[k] = x_strdup(filled[k]->name);
		*nlisted = nfilled;
	}
	free(filled);
	return true;
bad:
	*error = x_strdup("binary snapshot is damaged: its elements do not match its sets");
	free(filled);
	rs_table_free(*out);
	*out = NULL;
	snapshot_info_release(info);
	return false;
}
