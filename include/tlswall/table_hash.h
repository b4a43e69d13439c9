/* One name for one ruleset, whichever policy file, snapshot or built-in policy it came from: the SHA-256 of the
 * table as `tlswall generate` prints it (its "table inet NAME { ... }" block), except that each address set's
 * elements are left out of the text and follow it as "elements of NAME: COUNT DIGEST\n", DIGEST the SHA-256 (64 hex
 * digits) of the bytes the model holds (first and last address of each range, network order). The audit trail,
 * status and the metrics name rulesets by it. */
#ifndef TLSWALL_TABLE_HASH_H
#define TLSWALL_TABLE_HASH_H

#include <stdint.h>

#include "tlswall/ruleset.h"

/* 64 hex digits and a NUL */
#define TABLE_HASH_LEN 65

/* Counters, handles and ownership marks are left out: the same ruleset hashes the same wherever it is. t NULL (no
 * table) gives "". */
void table_sha256(const struct rs_table *t, char out[TABLE_HASH_LEN]);
/* The SHA-256 of a set's elements (its digest when known, ruleset.h). */
void table_hash_set(const struct rs_set *s, uint8_t out[RS_DIGEST_LEN]);
/* Gives every address set of t its digest, once: the digest of the set of its name in known (NULL: none) when that
 * set has the very same elements, else their SHA-256. After it, hashing t, or saving it as a snapshot, hashes no
 * elements again, and a table laid out against the record hashes only the shards that changed. */
void table_hash_sets(struct rs_table *t, const struct rs_table *known);

#endif
