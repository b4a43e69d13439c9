/* The binary form of a snapshot, for tables that hold a long (sharded) list: the table without its set elements as
 * the JSON snapshot (snapshot.h), then every set's elements as the model holds them, a sorted array of fixed-width
 * big-endian keys, copied in and out without decoding. A million ranges load in a few milliseconds, where the JSON
 * form took a quarter of a second to decode and as long to encode.
 *
 *     offset  size
 *     0       8     magic "TLSWALLB"
 *     8       4     format version (little-endian, as every number here)
 *     12      4     flags: 1 = based (see below)
 *     16      8     length of the JSON part
 *     24      8     length of the element part
 *     32      8     checksum of everything from offset 48 to the end (hash.h's hash64; format 2 had
 *                   hash64_serial, and is still read)
 *     40      8     based: the checksum of the base file; else 0
 *     48            the JSON part, then zero bytes to a multiple of 8
 *                   the element part: for each set, u32 name length, u32 bytes per element, u64 elements, the
 *                   SHA-256 of the elements (32 bytes, not in format 2), the name, zero bytes to a multiple of 8,
 *                   the elements, zero bytes to a multiple of 8
 *
 * The SHA-256 of each set's elements is what the table hash takes for them (table_hash.h): a table read from a
 * snapshot names itself without hashing a million ranges again.
 *
 * A based file lists in its element part only the sets whose elements differ from those of the set of the same name
 * in its base: a whole binary snapshot that is never rewritten, named by its checksum (record_bin_base_name()). So
 * that a change to one shard of a million-range list writes, and syncs, that shard and not the million: the record
 * of each commit is based, and rollback's and last-known-good's copies (second names of a record) share its base.
 *
 * A file that is short, long, fails its checksum, holds elements out of order or sets the JSON part does not name,
 * or is based on a file that is missing or is not the one it names, is refused as damaged, never read in part. */
#ifndef TLSWALL_RECORD_BIN_H
#define TLSWALL_RECORD_BIN_H

#include <stdbool.h>
#include <stddef.h>

struct rs_table;
struct snapshot_info;

#define RECORD_BIN_VERSION 3

/* Whether data starts as a binary snapshot does (whatever follows). */
bool record_bin_is(const char *data, size_t len);
/* The binary snapshot of t (not NULL), based on base (whose file's checksum is base_sum) when base is not NULL; *len
 * its length; *left_out as snapshot_encode's. */
char *record_bin_encode(const struct rs_table *t, const struct snapshot_info *info, const struct rs_table *base,
			uint64_t base_sum, size_t *len, size_t *left_out);
/* How many bytes of elements a snapshot of t based on base would hold (what differs). */
size_t record_bin_delta_bytes(const struct rs_table *t, const struct rs_table *base);
/* The checksum in a binary snapshot's header (what names it as a base), and, for a based one, its base's. */
uint64_t record_bin_sum(const char *data, size_t len);
uint64_t record_bin_base_sum(const char *data, size_t len);
/* The file name of the base whose checksum is sum ("base-HEX.bin", to free). */
char *record_bin_base_name(uint64_t sum);
/* The stamp a binary snapshot names, without checking or decoding the rest (to free; NULL: none readable). */
char *record_bin_stamp(const char *data, size_t len);
/* Sets the checksum of a binary snapshot of len bytes to what its content gives (the fuzzer uses it to reach what lies
 * behind the checksum). */
void record_bin_seal(char *data, size_t len);
/* base: the bytes of the whole binary snapshot a based one is based on (NULL for a whole one; a based one without it
 * is refused). Its header and checksum are checked, its JSON part is not decoded: its element part gives the sets
 * the file does not list their elements, as views of base (ruleset.h: elems_borrowed), which must outlive *out.
 * listed (NULL: not wanted) receives the names of the sets the file lists itself, *nlisted of them (to free). */
bool record_bin_decode(const char *data, size_t len, const char *base, size_t base_len, struct rs_table **out,
		       struct snapshot_info *info, char ***listed, size_t *nlisted, char **error);

#endif
