/* One name for one ruleset: the SHA-256 of a table as `tlswall generate` prints it (its "table inet NAME { ... }"
 * block, without the script's header), whichever policy file, snapshot or built-in policy it came from. The audit
 * trail, status and the metrics all name rulesets by it. */
#ifndef TLSWALL_TABLE_HASH_H
#define TLSWALL_TABLE_HASH_H

struct rs_table;

/* 64 hex digits and a NUL */
#define TABLE_HASH_LEN 65

/* Counters, handles and ownership marks are left out: the same ruleset hashes the same wherever it is. t NULL (no
 * table) gives "". */
void table_sha256(const struct rs_table *t, char out[TABLE_HASH_LEN]);

#endif
