#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlswall/addr.h"
#include "tlswall/util.h"

void ip6_from_bytes(struct ip6 *ip, const uint8_t b[16])
{
	ip->hi = be64_load(b);
	ip->lo = be64_load(b + 8);
}

void ip6_to_bytes(const struct ip6 *ip, uint8_t b[16])
{
	be64_store(ip->hi, b);
	be64_store(ip->lo, b + 8);
}

static int ip6_cmp(const struct ip6 *a, const struct ip6 *b)
{
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return 0;
}

/* a + 1 == b, without overflowing at the top of the space */
static bool ip6_adjacent(const struct ip6 *a, const struct ip6 *b)
{
	if (a->lo == UINT64_MAX)
		return a->hi != UINT64_MAX && b->lo == 0 && b->hi == a->hi + 1;
	return b->hi == a->hi && b->lo == a->lo + 1;
}

/* Mask with the low (128 - len) bits set. */
static struct ip6 ip6_host_mask(unsigned len)
{
	struct ip6 m;

	if (len == 0) {
		m.hi = m.lo = UINT64_MAX;
	} else if (len <= 64) {
		m.hi = len == 64 ? 0 : UINT64_MAX >> len;
		m.lo = UINT64_MAX;
	} else {
		m.hi = 0;
		m.lo = len == 128 ? 0 : UINT64_MAX >> (len - 64);
	}
	return m;
}

/* An IPv6 CIDR as the range it covers; host_bits says the address had bits set past the prefix. */
static void set_cidr6(struct addr_entry *out, const uint8_t addr[16], unsigned plen)
{
	struct ip6 ip, host = ip6_host_mask(plen);

	ip6_from_bytes(&ip, addr);
	out->host_bits = (ip.hi & host.hi) || (ip.lo & host.lo);
	out->r6.first.hi = ip.hi & ~host.hi;
	out->r6.first.lo = ip.lo & ~host.lo;
	out->r6.last.hi = out->r6.first.hi | host.hi;
	out->r6.last.lo = out->r6.first.lo | host.lo;
}

static bool parse_one(const char *s, size_t len, enum addr_family *fam, uint8_t bytes[16])
{
	char buf[INET6_ADDRSTRLEN + 1];

	/* inet_pton stops at a NUL: without the memchr "192.0.2.1\0junk" would pass as 192.0.2.1 */
	if (len == 0 || len >= sizeof(buf) || memchr(s, '\0', len))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (memchr(buf, ':', len)) {
		*fam = ADDR_V6;
		return inet_pton(AF_INET6, buf, bytes) == 1;
	}
	*fam = ADDR_V4;
	return inet_pton(AF_INET, buf, bytes) == 1;
}

static bool parse_prefix_len(const char *s, size_t len, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (len == 0 || len > 3)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (len > 1 && s[0] == '0')
		return false;
	*out = v;
	return v <= max;
}

/* "A.B.C.D" or "A.B.C.D/N" exactly as inet_pton and the prefix parser below accept them (no leading zeros, each part
 * 0-255, N 0-32), read in one pass: the common line of a large list. Anything else, and every error, takes the
 * general path. */
static bool parse_v4_fast(const char *s, size_t len, struct addr_entry *out)
{
	const char *p = s, *end = s + len;
	uint32_t v = 0;
	unsigned plen = 32;

	for (int part = 0; part < 4; part++) {
		unsigned o = 0, digits = 0;

		while (p < end && *p >= '0' && *p <= '9' && digits < 4) {
			o = o * 10 + (unsigned)(*p++ - '0');
			digits++;
		}
		if (digits == 0 || digits > 3 || o > 255 || (digits > 1 && p[-(int)digits] == '0'))
			return false;
		v = v << 8 | o;
		if (part < 3) {
			if (p == end || *p != '.')
				return false;
			p++;
		}
	}
	if (p < end) {
		unsigned digits = 0;

		if (*p++ != '/')
			return false;
		plen = 0;
		while (p < end && *p >= '0' && *p <= '9' && digits < 3) {
			plen = plen * 10 + (unsigned)(*p++ - '0');
			digits++;
		}
		if (p != end || digits == 0 || plen > 32 || (digits > 1 && p[-(int)digits] == '0'))
			return false;
	}
	{
		uint32_t host = plen == 0 ? UINT32_MAX : plen == 32 ? 0 : UINT32_MAX >> plen;

		memset(out, 0, sizeof(*out));
		out->family = ADDR_V4;
		out->host_bits = (v & host) != 0;
		out->r4.first = v & ~host;
		out->r4.last = out->r4.first | host;
	}
	return true;
}

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* "X:X::X" or "X:X::X/N" (groups of 1-4 hex digits, one "::" at most, no dotted IPv4 tail, N 0-128 without
 * leading zeros), as inet_pton reads it. Anything else takes the general path. */
static bool parse_v6_fast(const char *s, size_t len, struct addr_entry *out)
{
	const char *p = s, *end = s + len;
	uint16_t groups[8];
	int n = 0, gap = -1;
	unsigned plen = 128;

	if (p + 1 < end && p[0] == ':' && p[1] == ':') {
		gap = 0;
		p += 2;
	}
	while (p < end && *p != '/') {
		unsigned v = 0, digits = 0;
		int d;

		while (p < end && (d = hex_digit(*p)) >= 0 && digits < 5) {
			v = v << 4 | (unsigned)d;
			digits++;
			p++;
		}
		if (digits == 0 || digits > 4 || n == 8)
			return false;
		groups[n++] = (uint16_t)v;
		if (p == end || *p == '/')
			break;
		if (*p != ':')
			return false;
		p++;
		if (p < end && *p == ':') {
			if (gap >= 0)
				return false;
			gap = n;
			p++;
			if (p == end || *p == '/')
				break;
		} else if (p == end || *p == '/') {
			return false; /* a single trailing colon */
		}
	}
	if (gap < 0 ? n != 8 : n > 7)
		return false;
	if (p < end) {
		unsigned digits = 0;

		p++; /* '/' */
		plen = 0;
		while (p < end && *p >= '0' && *p <= '9' && digits < 4) {
			plen = plen * 10 + (unsigned)(*p++ - '0');
			digits++;
		}
		if (p != end || digits == 0 || plen > 128 || (digits > 1 && p[-(int)digits] == '0'))
			return false;
	}
	{
		uint8_t b[16] = { 0 };
		int tail = gap < 0 ? 0 : n - gap;

		for (int i = 0; i < n - tail; i++) {
			b[2 * i] = (uint8_t)(groups[i] >> 8);
			b[2 * i + 1] = (uint8_t)groups[i];
		}
		for (int i = 0; i < tail; i++) {
			b[16 - 2 * tail + 2 * i] = (uint8_t)(groups[gap + i] >> 8);
			b[16 - 2 * tail + 2 * i + 1] = (uint8_t)groups[gap + i];
		}
		memset(out, 0, sizeof(*out));
		out->family = ADDR_V6;
		set_cidr6(out, b, plen);
	}
	return true;
}

bool addr_parse(const char *s, size_t len, struct addr_entry *out, const char **why)
{
	const char *slash, *dash;

	if (parse_v4_fast(s, len, out) || parse_v6_fast(s, len, out))
		return true;
	slash = memchr(s, '/', len);
	dash = memchr(s, '-', len);
	uint8_t a[16], b[16];
	enum addr_family fa, fb;

	memset(out, 0, sizeof(*out));
	*why = "not an IPv4 or IPv6 address, CIDR or range";
	if (slash && dash)
		return false;
	if (dash) {
		if (!parse_one(s, (size_t)(dash - s), &fa, a) ||
		    !parse_one(dash + 1, len - (size_t)(dash - s) - 1, &fb, b))
			return false;
		if (fa != fb) {
			*why = "a range cannot mix IPv4 and IPv6";
			return false;
		}
		out->family = fa;
		if (fa == ADDR_V4) {
			out->r4.first = be32_load(a);
			out->r4.last = be32_load(b);
			if (out->r4.first > out->r4.last) {
				*why = "range ends before it starts";
				return false;
			}
		} else {
			ip6_from_bytes(&out->r6.first, a);
			ip6_from_bytes(&out->r6.last, b);
			if (ip6_cmp(&out->r6.first, &out->r6.last) > 0) {
				*why = "range ends before it starts";
				return false;
			}
		}
		return true;
	}

	if (!parse_one(s, slash ? (size_t)(slash - s) : len, &fa, a))
		return false;
	out->family = fa;
	if (fa == ADDR_V4) {
		unsigned plen = 32;
		uint32_t host;

		if (slash && !parse_prefix_len(slash + 1, len - (size_t)(slash - s) - 1, 32, &plen)) {
			*why = "IPv4 prefix length must be 0-32";
			return false;
		}
		host = plen == 0 ? UINT32_MAX : plen == 32 ? 0 : UINT32_MAX >> plen;
		out->host_bits = (be32_load(a) & host) != 0;
		out->r4.first = be32_load(a) & ~host;
		out->r4.last = out->r4.first | host;
	} else {
		unsigned plen = 128;

		if (slash && !parse_prefix_len(slash + 1, len - (size_t)(slash - s) - 1, 128, &plen)) {
			*why = "IPv6 prefix length must be 0-128";
			return false;
		}
		set_cidr6(out, a, plen);
	}
	return true;
}

/* Prefix length if first..last is exactly one CIDR block, else -1. */
static int range4_prefix(const struct range4 *r)
{
	uint32_t host = r->first ^ r->last;

	if ((host & (host + 1)) != 0 || (r->first & host) != 0)
		return -1;
	for (int len = 32; len >= 0; len--)
		if ((len == 0 ? UINT32_MAX : len == 32 ? 0 : UINT32_MAX >> len) == host)
			return len;
	return -1;
}

static int range6_prefix(const struct range6 *r)
{
	struct ip6 host = { r->first.hi ^ r->last.hi, r->first.lo ^ r->last.lo };

	if ((r->first.hi & host.hi) || (r->first.lo & host.lo))
		return -1;
	for (int len = 128; len >= 0; len--) {
		struct ip6 m = ip6_host_mask((unsigned)len);

		if (m.hi == host.hi && m.lo == host.lo)
			return len;
	}
	return -1;
}

static void format4(uint32_t v, char *buf)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	inet_ntop(AF_INET, b, buf, INET_ADDRSTRLEN);
}

static void format6(const struct ip6 *v, char *buf)
{
	uint8_t b[16];

	ip6_to_bytes(v, b);
	inet_ntop(AF_INET6, b, buf, INET6_ADDRSTRLEN);
}

void range4_format(const struct range4 *r, char *buf)
{
	int plen = range4_prefix(r);

	format4(r->first, buf);
	if (plen == 32)
		return;
	if (plen >= 0) {
		sprintf(buf + strlen(buf), "/%d", plen);
		return;
	}
	strcat(buf, "-");
	format4(r->last, buf + strlen(buf));
}

void range6_format(const struct range6 *r, char *buf)
{
	int plen = range6_prefix(r);

	format6(&r->first, buf);
	if (plen == 128)
		return;
	if (plen >= 0) {
		sprintf(buf + strlen(buf), "/%d", plen);
		return;
	}
	strcat(buf, "-");
	format6(&r->last, buf + strlen(buf));
}

void addr_entry_format(const struct addr_entry *e, char *buf)
{
	if (e->family == ADDR_V4)
		range4_format(&e->r4, buf);
	else
		range6_format(&e->r6, buf);
}

/* The i-th range of a list in either form. */
static struct range4 range4_at(const struct addr_list *l, size_t i)
{
	struct range4 r;

	if (!l->wire4)
		return l->v4[i];
	r.first = be32_load(l->wire4 + ADDR_WIRE4 * i);
	r.last = be32_load(l->wire4 + ADDR_WIRE4 * i + 4);
	return r;
}

static struct range6 range6_at(const struct addr_list *l, size_t i)
{
	struct range6 r;

	if (!l->wire6)
		return l->v6[i];
	ip6_from_bytes(&r.first, l->wire6 + ADDR_WIRE6 * i);
	ip6_from_bytes(&r.last, l->wire6 + ADDR_WIRE6 * i + 16);
	return r;
}

void addr_list_host(struct addr_list *list)
{
	struct range4 *v4;
	struct range6 *v6;

	if (!list->wire4)
		return;
	v4 = x_reallocarray(NULL, list->n4 ? list->n4 : 1, sizeof(*v4));
	v6 = x_reallocarray(NULL, list->n6 ? list->n6 : 1, sizeof(*v6));
	for (size_t i = 0; i < list->n4; i++)
		v4[i] = range4_at(list, i);
	for (size_t i = 0; i < list->n6; i++)
		v6[i] = range6_at(list, i);
	list->v4 = v4;
	list->v6 = v6;
	list->cap4 = list->n4 ? list->n4 : 1;
	list->cap6 = list->n6 ? list->n6 : 1;
	list->wire4 = list->wire6 = NULL;
	mapping_release(&list->held);
}

void addr_list_wire(const struct addr_list *list, uint8_t *out4, uint8_t *out6)
{
	if (list->wire4) {
		if (out4 && list->n4)
			memcpy(out4, list->wire4, list->n4 * ADDR_WIRE4);
		if (out6 && list->n6)
			memcpy(out6, list->wire6, list->n6 * ADDR_WIRE6);
		return;
	}
	/* a million ranges: written in place, no call per element */
	for (size_t i = 0; out4 && i < list->n4; i++) {
		be32_store(list->v4[i].first, out4 + ADDR_WIRE4 * i);
		be32_store(list->v4[i].last, out4 + ADDR_WIRE4 * i + 4);
	}
	for (size_t i = 0; out6 && i < list->n6; i++) {
		ip6_to_bytes(&list->v6[i].first, out6 + ADDR_WIRE6 * i);
		ip6_to_bytes(&list->v6[i].last, out6 + ADDR_WIRE6 * i + 16);
	}
}

void addr_list_add(struct addr_list *list, const struct addr_entry *e)
{
	addr_list_host(list);
	if (e->family == ADDR_V4) {
		x_grow(&list->v4, &list->cap4, list->n4 + 1, sizeof(*list->v4));
		list->v4[list->n4++] = e->r4;
	} else {
		x_grow(&list->v6, &list->cap6, list->n6 + 1, sizeof(*list->v6));
		list->v6[list->n6++] = e->r6;
	}
}

void addr_list_append(struct addr_list *dst, const struct addr_list *src)
{
	addr_list_host(dst);
	if (src->n4) {
		x_grow(&dst->v4, &dst->cap4, dst->n4 + src->n4, sizeof(*dst->v4));
		for (size_t i = 0; i < src->n4; i++)
			dst->v4[dst->n4 + i] = range4_at(src, i);
		dst->n4 += src->n4;
	}
	if (src->n6) {
		x_grow(&dst->v6, &dst->cap6, dst->n6 + src->n6, sizeof(*dst->v6));
		for (size_t i = 0; i < src->n6; i++)
			dst->v6[dst->n6 + i] = range6_at(src, i);
		dst->n6 += src->n6;
	}
}

static int cmp4(const void *a, const void *b)
{
	const struct range4 *x = a, *y = b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return (x->last > y->last) - (x->last < y->last);
}

static int cmp6(const void *a, const void *b)
{
	const struct range6 *x = a, *y = b;
	int c = ip6_cmp(&x->first, &y->first);

	return c ? c : ip6_cmp(&x->last, &y->last);
}

/* Lists are often kept sorted: checking costs one pass, sorting a million ranges again costs twenty. */
static bool sorted(const void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	const char *p = base;

	for (size_t i = 1; i < n; i++)
		if (cmp(p + (i - 1) * size, p + i * size) > 0)
			return false;
	return true;
}

/* LSD radix sorts by first address. Only the bits in which the keys differ are sorted on (a list of /24s differs in
 * none of the last 8 bits of its first addresses, a list of /48s in none of the low 16 of the high half), in as few
 * passes as digits of at most RADIX_BITS bits take, each counting into a table that stays in the first-level cache.
 * Order among equal firsts does not matter to the merge below (it keeps the larger last), so the key is the first
 * address alone. A million ranges sort in a third of the time bytewise passes over every bit took. */
#define RADIX_BITS 8

/* [*lo, *hi): the bits set in diff, the OR of every key XOR the first; the width of each of *passes digits. */
static unsigned radix_plan(uint64_t diff, unsigned *lo, unsigned *hi, unsigned *passes)
{
	*lo = (unsigned)__builtin_ctzll(diff);
	*hi = 64 - (unsigned)__builtin_clzll(diff);
	*passes = (*hi - *lo + RADIX_BITS - 1) / RADIX_BITS;
	return (*hi - *lo + *passes - 1) / *passes;
}

/* count[d] becomes where the first key of digit d goes */
static void radix_offsets(size_t *count, size_t buckets)
{
	size_t sum = 0;

	for (size_t d = 0; d < buckets; d++) {
		size_t c = count[d];

		count[d] = sum;
		sum += c;
	}
}

static void radix4(struct range4 *v, size_t n)
{
	static size_t count[1u << RADIX_BITS];
	struct range4 *tmp, *src = v, *dst;
	uint64_t diff = 0;
	unsigned lo, hi, passes, width;

	for (size_t i = 1; i < n; i++)
		diff |= v[i].first ^ v[0].first;
	if (!diff)
		return;
	width = radix_plan(diff, &lo, &hi, &passes);
	tmp = x_reallocarray(NULL, n, sizeof(*tmp));
	dst = tmp;
	for (unsigned shift = lo; shift < hi; shift += width) {
		uint32_t mask = (1u << width) - 1;

		memset(count, 0, sizeof(count));
		for (size_t i = 0; i < n; i++)
			count[(src[i].first >> shift) & mask]++;
		radix_offsets(count, (size_t)mask + 1);
		for (size_t i = 0; i < n; i++)
			dst[count[(src[i].first >> shift) & mask]++] = src[i];
		dst = src;
		src = src == v ? tmp : v;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
	free(tmp);
}

/* IPv6: the high halves of the first addresses are sorted with each range's index (16 bytes moved a pass, not the
 * range's 32), the ranges gathered in that order once, then the (rare) runs that share a high half sorted whole. */
struct key6 {
	uint64_t hi;
	size_t index;
};

static void radix6(struct range6 *v, size_t n)
{
	static size_t count[1u << RADIX_BITS];
	struct key6 *a, *b, *src, *dst;
	struct range6 *gathered;
	uint64_t diff = 0;
	unsigned lo, hi, passes, width;

	for (size_t i = 1; i < n; i++)
		diff |= v[i].first.hi ^ v[0].first.hi;
	if (diff) {
		width = radix_plan(diff, &lo, &hi, &passes);
		a = x_reallocarray(NULL, n, sizeof(*a));
		b = x_reallocarray(NULL, n, sizeof(*b));
		for (size_t i = 0; i < n; i++) {
			a[i].hi = v[i].first.hi;
			a[i].index = i;
		}
		src = a;
		dst = b;
		for (unsigned shift = lo; shift < hi; shift += width) {
			uint64_t mask = ((uint64_t)1 << width) - 1;

			memset(count, 0, sizeof(count));
			for (size_t i = 0; i < n; i++)
				count[(src[i].hi >> shift) & mask]++;
			radix_offsets(count, (size_t)mask + 1);
			for (size_t i = 0; i < n; i++)
				dst[count[(src[i].hi >> shift) & mask]++] = src[i];
			dst = src;
			src = src == a ? b : a;
		}
		gathered = x_reallocarray(NULL, n, sizeof(*gathered));
		for (size_t i = 0; i < n; i++)
			gathered[i] = v[src[i].index];
		memcpy(v, gathered, n * sizeof(*v));
		free(gathered);
		free(a);
		free(b);
	}
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && v[j].first.hi == v[i].first.hi; j++)
			;
		if (j - i > 1)
			qsort(v + i, j - i, sizeof(*v), cmp6);
	}
}

void addr_list_normalize(struct addr_list *list)
{
	size_t out = 0;

	addr_list_host(list);

	if (list->n4 > 1) {
		if (!sorted(list->v4, list->n4, sizeof(*list->v4), cmp4))
			radix4(list->v4, list->n4);
		for (size_t i = 1; i < list->n4; i++) {
			struct range4 *cur = &list->v4[out];
			const struct range4 *next = &list->v4[i];

			/* overlapping or touching: extend; cur->last + 1 cannot overflow when cur->last < next->first */
			if (next->first <= cur->last || next->first == cur->last + 1) {
				if (next->last > cur->last)
					cur->last = next->last;
			} else {
				list->v4[++out] = *next;
			}
		}
		list->n4 = out + 1;
	}
	out = 0;
	if (list->n6 > 1) {
		if (!sorted(list->v6, list->n6, sizeof(*list->v6), cmp6))
			radix6(list->v6, list->n6);
		for (size_t i = 1; i < list->n6; i++) {
			struct range6 *cur = &list->v6[out];
			const struct range6 *next = &list->v6[i];

			if (ip6_cmp(&next->first, &cur->last) <= 0 || ip6_adjacent(&cur->last, &next->first)) {
				if (ip6_cmp(&next->last, &cur->last) > 0)
					cur->last = next->last;
			} else {
				list->v6[++out] = *next;
			}
		}
		list->n6 = out + 1;
	}
}

bool addr_list_equal(const struct addr_list *a, const struct addr_list *b)
{
	return a->n4 == b->n4 && a->n6 == b->n6 &&
	       (a->n4 == 0 || memcmp(a->v4, b->v4, a->n4 * sizeof(*a->v4)) == 0) &&
	       (a->n6 == 0 || memcmp(a->v6, b->v6, a->n6 * sizeof(*a->v6)) == 0);
}

void addr_list_release(struct addr_list *list)
{
	mapping_release(&list->held);
	free(list->v4);
	free(list->v6);
	memset(list, 0, sizeof(*list));
}
