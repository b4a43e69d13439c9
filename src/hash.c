#include <string.h>

#include "tlswall/hash.h"

#define MUL1 0xff51afd7ed558ccdull
#define MUL2 0xc4ceb9fe1a85ec53ull

static uint64_t load64(const unsigned char *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return w;
}

static uint64_t lane(uint64_t h, uint64_t w)
{
	h = (h ^ w) * MUL1;
	return h ^ (h >> 29);
}

/* Four independent lanes of 8 bytes each: a lane's multiply waits only for its own previous one, so the four run
 * side by side and the loop goes at the speed memory delivers (about four times the single-lane form below). */
void hash64_begin(struct hash64_state *h, size_t len)
{
	h->a = 0x9e3779b97f4a7c15ull ^ len;
	h->b = h->a ^ MUL1;
	h->c = h->a ^ MUL2;
	h->d = ~h->a;
	h->ncarry = 0;
}

static void blocks(struct hash64_state *h, const unsigned char *p, size_t n)
{
	uint64_t a = h->a, b = h->b, c = h->c, d = h->d;

	for (size_t i = 0; i + 32 <= n; i += 32) {
		a = lane(a, load64(p + i));
		b = lane(b, load64(p + i + 8));
		c = lane(c, load64(p + i + 16));
		d = lane(d, load64(p + i + 24));
	}
	h->a = a;
	h->b = b;
	h->c = c;
	h->d = d;
}

void hash64_update(struct hash64_state *h, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t whole;

	if (h->ncarry) {
		size_t take = sizeof(h->carry) - h->ncarry < len ? sizeof(h->carry) - h->ncarry : len;

		memcpy(h->carry + h->ncarry, p, take);
		h->ncarry += take;
		p += take;
		len -= take;
		if (h->ncarry < sizeof(h->carry))
			return;
		blocks(h, h->carry, sizeof(h->carry));
		h->ncarry = 0;
	}
	whole = len & ~(size_t)31;
	blocks(h, p, whole);
	memcpy(h->carry, p + whole, len - whole);
	h->ncarry = len - whole;
}

uint64_t hash64_end(const struct hash64_state *h)
{
	/* the lanes folded in order, so that swapping two 8-byte words of the input changes the result */
	uint64_t a = lane(lane(lane(h->a, h->b * MUL2), h->c * MUL2), h->d * MUL2);
	size_t i = 0;

	for (; i + 8 <= h->ncarry; i += 8)
		a = lane(a, load64(h->carry + i));
	for (; i < h->ncarry; i++)
		a = (a ^ h->carry[i]) * 0x100000001b3ull;
	a ^= a >> 32;
	a *= MUL2;
	return a ^ (a >> 29);
}

uint64_t hash64(const void *data, size_t len)
{
	struct hash64_state h;

	hash64_begin(&h, len);
	hash64_update(&h, data, len);
	return hash64_end(&h);
}

uint64_t hash64_serial(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len;
	size_t i = 0;

	for (; i + 8 <= len; i += 8)
		h = lane(h, load64(p + i));
	for (; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h ^ (h >> 32);
}
