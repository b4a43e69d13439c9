/* A fast 64-bit hash of bytes, for integrity checks of tlswall's own files (a torn or damaged file, never a forged
 * one: the state directory is root's alone) and for telling whether a file's content changed. */
#ifndef TLSWALL_HASH_H
#define TLSWALL_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t hash64(const void *data, size_t len);
/* The single-lane hash that binary snapshots of format 2 carry as their checksum: kept so that the snapshots an
 * earlier tlswall saved (rollback's, last-known-good's) are still read. Nothing new is written with it. */
uint64_t hash64_serial(const void *data, size_t len);

#endif
