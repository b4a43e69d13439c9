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
uint64_t hash64(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t a = 0x9e3779b97f4a7c15ull ^ len, b = a ^ MUL1, c = a ^ MUL2, d = ~a;
	size_t i = 0;

	for (; i + 32 <= len; i += 32) {
		a = lane(a, load64(p + i));
		b = lane(b, load64(p + i + 8));
		c = lane(c, load64(p + i + 16));
		d = lane(d, load64(p + i + 24));
	}
	/* the lanes folded in order, so that swapping two 8-byte words of the input changes the result */
	a = lane(lane(lane(a, b * MUL2), c * MUL2), d * MUL2);
	for (; i + 8 <= len; i += 8)
		a = lane(a, load64(p + i));
	for (; i < len; i++)
		a = (a ^ p[i]) * 0x100000001b3ull;
	a ^= a >> 32;
	a *= MUL2;
	return a ^ (a >> 29);
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
