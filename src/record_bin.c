#include <stdlib.h>
#include <string.h>

#include "tlswall/hash.h"
#include "tlswall/record_bin.h"
#include "tlswall/ruleset.h"
#include "tlswall/snapshot.h"
#include "tlswall/util.h"

#define MAGIC "TLSWALLB"
#define HEADER 40
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

char *record_bin_encode(const struct rs_table *t, const struct snapshot_info *info, size_t *len, size_t *left_out)
{
	struct rs_table skel = *t;
	struct rs_set *bare = x_calloc(t->nsets ? t->nsets : 1, sizeof(*bare));
	struct rs_set **sets = x_calloc(t->nsets ? t->nsets : 1, sizeof(*sets));
	size_t json_len, bin_len = 0, off;
	char *json;
	uint8_t *out;

	/* the JSON part: the table with the elements that go apart left out */
	for (size_t i = 0; i < t->nsets; i++) {
		bare[i] = *t->sets[i];
		if (elements_apart(t->sets[i])) {
			bare[i].nelem = 0;
			bin_len += 16 + ALIGN8(strlen(t->sets[i]->name)) + ALIGN8(t->sets[i]->nelem * rs_set_stride(t->sets[i]));
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
	put64(out + 16, json_len);
	put64(out + 24, bin_len);
	memcpy(out + HEADER, json, json_len);
	free(json);
	off = HEADER + ALIGN8(json_len);
	for (size_t i = 0; i < t->nsets; i++) {
		const struct rs_set *s = t->sets[i];
		size_t nlen = strlen(s->name), bytes = s->nelem * rs_set_stride(s);

		if (!elements_apart(s))
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
	record_bin_seal((char *)out, *len);
	return (char *)out;
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

static uint64_t be_word(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Elements strictly increasing, each range first <= last: what a set in the model always is. Keys are compared as
 * big-endian words (an IPv6 key as two), not with memcmp: a million calls of it were a tenth of a delta apply. */
static bool in_order(const struct rs_set *s)
{
	size_t klen = rs_keylen(s->key), stride = rs_set_stride(s), w = klen > 8 ? 8 : klen;
	uint64_t prev_hi = 0, prev_lo = 0;

	for (size_t i = 0; i < s->nelem; i++) {
		const uint8_t *e = s->elems + i * stride, *last = s->interval ? e + klen : e;
		uint64_t fh = be_word(e, w), fl = klen > 8 ? be_word(e + 8, klen - 8) : 0;
		uint64_t lh = be_word(last, w), ll = klen > 8 ? be_word(last + 8, klen - 8) : 0;

		if (fh > lh || (fh == lh && fl > ll))
			return false;
		if (i && (fh < prev_hi || (fh == prev_hi && fl <= prev_lo)))
			return false;
		prev_hi = lh;
		prev_lo = ll;
	}
	return true;
}

bool record_bin_decode(const char *data, size_t len, struct rs_table **out, struct snapshot_info *info, char **error)
{
	const uint8_t *p = (const uint8_t *)data;
	size_t json_len, bin_len, off;
	const char *part;
	char *json;
	bool ok;

	*out = NULL;
	memset(info, 0, sizeof(*info));
	part = json_part(p, len, &json_len, &bin_len, error);
	if (!part)
		return false;
	if (get64(p + 32) != checksum(p + HEADER, len - HEADER)) {
		*error = x_strdup("binary snapshot is damaged (its checksum does not match)");
		return false;
	}
	json = x_strndup(part, json_len);
	ok = snapshot_decode(json, out, info, error);
	free(json);
	if (!ok)
		return false;
	off = HEADER + ALIGN8(json_len);
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
		if (!s || s->nelem || !elements_apart(s) || stride != rs_set_stride(s) ||
		    nelem > (len - off) / (stride ? stride : 1) || ALIGN8(nelem * stride) > len - off)
			goto bad;
		s->nelem = s->capelem = (size_t)nelem;
		if (nelem) {
			s->elems = x_reallocarray(s->elems, (size_t)nelem, stride);
			memcpy(s->elems, p + off, (size_t)nelem * stride);
		}
		off += ALIGN8((size_t)nelem * stride);
		if (!in_order(s))
			goto bad;
	}
	return true;
bad:
	*error = x_strdup("binary snapshot is damaged: its elements do not match its sets");
	rs_table_free(*out);
	*out = NULL;
	snapshot_info_release(info);
	return false;
}
