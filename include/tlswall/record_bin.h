/* The binary form of a snapshot, for tables that hold a long (sharded) list: the table without its set elements as
 * the JSON snapshot (snapshot.h), then every set's elements as the model holds them, a sorted array of fixed-width
 * big-endian keys, copied in and out without decoding. A million ranges load in a few milliseconds, where the JSON
 * form took a quarter of a second to decode and as long to encode.
 *
 *     offset  size
 *     0       8     magic "TLSWALLB"
 *     8       4     format version (little-endian, as every number here)
 *     12      4     0
 *     16      8     length of the JSON part
 *     24      8     length of the element part
 *     32      8     checksum of everything from offset 40 to the end
 *     40            the JSON part, then zero bytes to a multiple of 8
 *                   the element part: for each set, u32 name length, u32 bytes per element, u64 elements, the
 *                   name, zero bytes to a multiple of 8, the elements, zero bytes to a multiple of 8
 *
 * A file that is short, long, fails its checksum, or holds elements out of order or sets the JSON part does not
 * name is refused as damaged, never read in part. */
#ifndef TLSWALL_RECORD_BIN_H
#define TLSWALL_RECORD_BIN_H

#include <stdbool.h>
#include <stddef.h>

struct rs_table;
struct snapshot_info;

#define RECORD_BIN_VERSION 1

/* Whether data starts as a binary snapshot does (whatever follows). */
bool record_bin_is(const char *data, size_t len);
/* The binary snapshot of t (not NULL); *len its length; *left_out as snapshot_encode's. */
char *record_bin_encode(const struct rs_table *t, const struct snapshot_info *info, size_t *len, size_t *left_out);
/* The stamp a binary snapshot names, without checking or decoding the rest (to free; NULL: none readable). */
char *record_bin_stamp(const char *data, size_t len);
/* Sets the checksum of a binary snapshot of len bytes to what its content gives (the fuzzer uses it to reach what lies
 * behind the checksum). */
void record_bin_seal(char *data, size_t len);
bool record_bin_decode(const char *data, size_t len, struct rs_table **out, struct snapshot_info *info, char **error);

#endif
