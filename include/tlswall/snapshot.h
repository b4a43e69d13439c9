/* A ruleset model as a JSON document in the state directory (what rollback and boot restore), and back again.
 * Restoring a snapshot re-encodes the model: the kernel gets the same table, counters aside. */
#ifndef TLSWALL_SNAPSHOT_H
#define TLSWALL_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rs_table;

/* 2: enumerations stored by name; 3: fields of the ruleset that hold what their absence means (no text, false,
 * zero, no elements) left out, and a run of a sharded list's shard chains written as its first with a count.
 * Versions 1 and 2, which wrote every field and chain, are still read. */
#define SNAPSHOT_VERSION 3

/* What a snapshot says about itself. */
struct snapshot_info {
	char *table;      /* the table's name */
	char *origin;     /* where the ruleset came from: a policy path, "the emergency ruleset"... */
	char *stamp;      /* the record of the last commit: the generation it produced; else NULL */
	uint64_t netns;   /* netns_id() of the namespace it was taken in; 0: not recorded */
	char *boot;       /* the boot it was taken in (/proc/sys/kernel/random/boot_id); NULL: not recorded */
};

void snapshot_info_release(struct snapshot_info *info);

/* t NULL records that table inet info->table did not exist. Rules that could not be re-created (unreadable ones,
 * and those that use a set tlswall cannot re-create) are left out, so that a snapshot can always be restored;
 * *left_out counts them. */
char *snapshot_encode(const struct rs_table *t, const struct snapshot_info *info, size_t *left_out);
/* *out is NULL for a snapshot of "no table". */
bool snapshot_decode(const char *text, struct rs_table **out, struct snapshot_info *info, char **error);

#endif
