/* A ruleset model as a JSON document in the state directory (what rollback and boot restore), and back again.
 * Restoring a snapshot re-encodes the model: the kernel gets the same table, counters aside. */
#ifndef TLSWALL_SNAPSHOT_H
#define TLSWALL_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

struct rs_table;

#define SNAPSHOT_VERSION 2

/* t NULL records that table inet table_name did not exist. origin says where the ruleset came from (a policy path,
 * "emergency"...). *unreadable counts rules that cannot be re-created and were left out. */
char *snapshot_encode(const struct rs_table *t, const char *table_name, const char *origin, const char *stamp,
		      size_t *unreadable);
/* *out is NULL for a snapshot of "no table". stamp may be NULL when the caller does not want it. */
bool snapshot_decode(const char *text, struct rs_table **out, char **table_name, char **origin, char **stamp,
		     char **error);

#endif
