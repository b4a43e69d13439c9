#include <stdlib.h>
#include <string.h>

#include "tlswall/hash.h"
#include "tlswall/record_bin.h"
#include "tlswall/ruleset.h"
#include "tlswall/snapshot.h"
#include "tlswall/table_hash.h"
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

static uint64_t checksum(unsigned version, const uint8_t *p, size_t n)
{
	return version == 2 ? hash64_serial(p, n) : hash64(p, n);
}

/* Bytes before a set's name in the element part: name length, bytes per element, count, and from format 3 on the
 * SHA-256 of the elements (what the table hash takes for them, table_hash.h). */
static size_t entry_head(unsigned version)
{
	return version == 2 ? 16 : 16 + RS_DIGEST_LEN;
}

/* Sets whose elements go in the element part: every set but maps (their verdicts stay in the JSON part). */
static bool elements_apart(const struct rs_set *s)
{
	return !s->foreign && !s->vmap;
}

void record_bin_seal(char *data, size_t len)
{
	if (len >= HEADER)
		put64((uint8_t *)data + 32, checksum(get32((const uint8_t *)data + 8), (const uint8_t *)data + HEADER,
						     len - HEADER));
}

bool record_bin_is(const char *data, size_t len)
{
	return data && len >= 8 && memcmp(data, MAGIC, 8) == 0;
}

/* Whether s has the very elements of the set of its name in base (cursor: rs_table_find_set_from, for a walk of a
 * table in its own order). */
static bool same_as_base(const struct rs_set *s, const struct rs_table *base, size_t *cursor)
{
	const struct rs_set *b = base ? rs_table_find_set_from(base, s->name, cursor) : NULL;

	if (b == s)
		return true;
	if (!b || !elements_apart(b) || b->key != s->key || b->interval != s->interval || b->nelem != s->nelem)
		return false;
	if (b->digest_known && s->digest_known)
		return memcmp(b->digest, s->digest, RS_DIGEST_LEN) == 0;
	return !s->nelem || memcmp(b->elems, s->elems, s->nelem * rs_set_stride(s)) == 0;
}

size_t record_bin_delta_bytes(const struct rs_table *t, const struct rs_table *base)
{
	size_t n = 0, at = 0;

	for (size_t i = 0; i < t->nsets; i++)
		if (elements_apart(t->sets[i]) && !same_as_base(t->sets[i], base, &at))
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
	size_t json_len, bin_len = 0, off, at = 0;
	char *json;
	uint8_t *out;

	/* the JSON part: the table with the elements that go apart left out */
	for (size_t i = 0; i < t->nsets; i++) {
		bare[i] = *t->sets[i];
		if (elements_apart(t->sets[i])) {
			bare[i].nelem = 0;
			apart[i] = !same_as_base(t->sets[i], base, &at);
			if (apart[i])
				bin_len += entry_head(RECORD_BIN_VERSION) + ALIGN8(strlen(t->sets[i]->name)) +
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
		table_hash_set(s, out + off + 16);
		off += entry_head(RECORD_BIN_VERSION);
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

/* The JSON part of a file whose header holds together (a format read here, lengths within the file); NULL
 * otherwise. */
static const char *json_part(const uint8_t *p, size_t len, size_t *json_len, size_t *bin_len, char **error)
{
	if (len < HEADER || memcmp(p, MAGIC, 8) != 0) {
		*error = x_strdup("not a binary tlswall snapshot");
		return NULL;
	}
	if (get32(p + 8) != RECORD_BIN_VERSION && get32(p + 8) != 2) {
		*error = x_asprintf("binary snapshot of format %u; this tlswall reads formats 2 and %u", get32(p + 8),
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

/* json_part's checks and the checksum: a file whose every byte is the one written. */
static const char *checked(const uint8_t *p, size_t len, size_t *json_len, char **error)
{
	size_t bin_len;
	const char *part = json_part(p, len, json_len, &bin_len, error);

	if (part && get64(p + 32) != checksum(get32(p + 8), p + HEADER, len - HEADER)) {
		*error = x_strdup("binary snapshot is damaged (its checksum does not match)");
		return NULL;
	}
	return part;
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
			uint32_t first = be32_load(s->elems + i * 8), last = be32_load(s->elems + i * 8 + 4);

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
			uint64_t fh = be64_load(e), fl = be64_load(e + 8), lh = be64_load(e + 16), ll = be64_load(e + 24);

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

/* One set's entry in the element part, as the file holds it. */
struct entry {
	const char *name;
	size_t nlen;
	uint32_t stride;
	uint64_t nelem;
	const uint8_t *digest; /* NULL in format 2 */
	const uint8_t *elems;
};

/* The entry at *off of the element part of the file p (len bytes, of format version), moving *off past it; false
 * when the file ends inside it. */
static bool next_entry(const uint8_t *p, size_t len, unsigned version, size_t *off, struct entry *e)
{
	size_t at = *off, head = entry_head(version);

	if (len - at < head)
		return false;
	e->nlen = get32(p + at);
	e->stride = get32(p + at + 4);
	e->nelem = get64(p + at + 8);
	e->digest = version == 2 ? NULL : p + at + 16;
	at += head;
	if (e->nlen > len - at || ALIGN8(e->nlen) > len - at)
		return false;
	e->name = (const char *)p + at;
	at += ALIGN8(e->nlen);
	if (e->nelem > (len - at) / (e->stride ? e->stride : 1) || ALIGN8(e->nelem * e->stride) > len - at)
		return false;
	e->elems = p + at;
	*off = at + ALIGN8(e->nelem * e->stride);
	return true;
}

/* s (empty) takes e's elements, which must be of its kind and in order: a copy, or with borrow a view of the file
 * (ruleset.h: elems_borrowed). */
static bool fill(struct rs_set *s, const struct entry *e, bool borrow)
{
	if (s->nelem || !elements_apart(s) || e->stride != rs_set_stride(s))
		return false;
	if (e->nelem && borrow) {
		rs_set_borrow(s, e->elems, (size_t)e->nelem); /* the file is mapped read-only */
	} else if (e->nelem) {
		s->elems = x_reallocarray(s->elems, (size_t)e->nelem, e->stride);
		memcpy(s->elems, e->elems, (size_t)e->nelem * e->stride);
	}
	s->nelem = s->capelem = (size_t)e->nelem;
	if (e->digest) {
		memcpy(s->digest, e->digest, RS_DIGEST_LEN);
		s->digest_known = true;
	}
	return in_order(s);
}

/* The sets of t that the file lists none of take their elements from the base's entries. The base's JSON part is
 * never decoded: its element part alone says what each set held. Its checksum is taken as its entries are walked
 * (hash.h), so that each entry's elements are checked for order while they are still in the processor's cache:
 * one pass over a base of many megabytes, not two; a mismatch found at the end fails the whole. */
static bool fill_from_base(struct rs_table *t, const struct rs_set **filled, size_t nfilled, const uint8_t *b,
			   size_t blen)
{
	enum { NOT_WANTED, WANTED, FILLED } *want;
	size_t json_len, bin_len, off, cursor = 0;
	struct hash64_state h;
	char *error = NULL;
	unsigned version;
	bool ok;

	/* format 2's serial checksum cannot be taken piece by piece: checked whole first */
	ok = json_part(b, blen, &json_len, &bin_len, &error) && !(get32(b + 12) & FLAG_BASED) &&
	     (get32(b + 8) != 2 || checked(b, blen, &json_len, &error));
	free(error);
	if (!ok)
		return false;
	/* every set the file did not list takes its elements from the base */
	want = x_calloc(t->nsets ? t->nsets : 1, sizeof(*want));
	for (size_t i = 0; i < t->nsets; i++)
		want[i] = elements_apart(t->sets[i]) ? WANTED : NOT_WANTED;
	for (size_t k = 0; k < nfilled; k++)
		for (size_t i = 0; i < t->nsets; i++)
			if (t->sets[i] == filled[k])
				want[i] = NOT_WANTED;
	version = get32(b + 8);
	off = HEADER + ALIGN8(json_len);
	hash64_begin(&h, blen - HEADER);
	hash64_update(&h, b + HEADER, off - HEADER);
	while (ok && off < blen) {
		size_t at = off;
		struct entry e;
		struct rs_set *s;
		char *name;

		if (!next_entry(b, blen, version, &off, &e)) {
			ok = false;
			break;
		}
		hash64_update(&h, b + at, off - at);
		name = x_strndup(e.name, e.nlen);
		s = rs_table_find_set_from(t, name, &cursor);
		free(name);
		if (!s || want[cursor - 1] == NOT_WANTED)
			continue;
		/* listed twice, or out of order or of another kind (fill) */
		ok = want[cursor - 1] == WANTED && fill(s, &e, true);
		want[cursor - 1] = FILLED;
	}
	if (ok && version != 2)
		ok = hash64_end(&h) == get64(b + 32);
	for (size_t i = 0; ok && i < t->nsets; i++)
		ok = want[i] != WANTED;
	free(want);
	return ok;
}

bool record_bin_decode(const char *data, size_t len, const char *base, size_t base_len, struct rs_table **out,
		       struct snapshot_info *info, char ***listed, size_t *nlisted, char **error)
{
	const uint8_t *p = (const uint8_t *)data;
	size_t json_len, off, nfilled = 0;
	const struct rs_set **filled = NULL;
	const char *part;
	unsigned version;
	char *json;
	bool ok, based;

	*out = NULL;
	memset(info, 0, sizeof(*info));
	part = checked(p, len, &json_len, error);
	if (!part)
		return false;
	version = get32(p + 8);
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
		struct entry e;
		struct rs_set *s = NULL;
		char *name;

		if (!*out || !next_entry(p, len, version, &off, &e))
			goto bad;
		name = x_strndup(e.name, e.nlen);
		s = rs_table_find_set(*out, name);
		free(name);
		for (size_t k = 0; s && k < nfilled; k++)
			if (filled[k] == s)
				s = NULL; /* listed twice */
		if (!s || !fill(s, &e, false))
			goto bad;
		filled[nfilled++] = s;
	}
	/* a based snapshot's other sets are its base's */
	if (based && *out && !fill_from_base(*out, filled, nfilled, (const uint8_t *)base, base_len)) {
		*error = x_strdup("binary snapshot does not match the base it names");
		goto fail;
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
fail:
	free(filled);
	rs_table_free(*out);
	*out = NULL;
	snapshot_info_release(info);
	return false;
}
