/* A fast 64-bit hash of bytes, for integrity checks of tlswall's own files (a torn or damaged file, never a forged
 * one: the state directory is root's alone) and for telling whether a file's content changed. */
#ifndef TLSWALL_HASH_H
#define TLSWALL_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t hash64(const void *data, size_t len);

/* The same hash taken piece by piece (begin with the total length; the pieces may be of any size): a file can be
 * checked as it is walked, each part looked at while it is still in the processor's cache. */
struct hash64_state {
	uint64_t a, b, c, d;
	unsigned char carry[32];
	size_t ncarry;
};
void hash64_begin(struct hash64_state *h, size_t len);
void hash64_update(struct hash64_state *h, const void *data, size_t len);
uint64_t hash64_end(const struct hash64_state *h);
/* The single-lane hash that binary snapshots of format 2 carry as their checksum: kept so that the snapshots an
 * earlier tlswall saved (rollback's, last-known-good's) are still read. Nothing new is written with it. */
uint64_t hash64_serial(const void *data, size_t len);

#endif
