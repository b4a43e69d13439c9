/* Large address lists in the kernel: several interval sets of bounded size ("shards") behind one dispatch lookup.
 *
 * The kernel's interval set walks its whole tree at every commit that touches it, and dumps it in time that grows
 * faster than its size; both are per set. So a list longer than SHARD_THRESHOLD intervals is laid out as shard sets
 * that each cover a fixed slice of the address space, and every rule that matched the list matches instead in one
 * interval verdict map, the dispatch map, whose elements are those slices and jump to a chain per slice holding the
 * rule's own statement against that slice's set:
 *
 *     ip saddr @bl.v4 counter drop
 * becomes
 *     ip saddr vmap @bl.v4.in.input                  (bl.v4.in.input: 0.0.0.0-9.255.255.255 : jump bl.v4.s00000000.in.input, ...)
 *     chain bl.v4.s00000000.in.input { ip saddr @bl.v4.s00000000 counter drop }
 *
 * A packet costs two lookups however long the list; a change to the list touches only the shards it changes.
 *
 * One table is laid out from another: the slices (the "cuts", each the first address of a shard, named in its set's
 * name) are taken from the previous layout, so that an edit moves no boundary; a shard that outgrows
 * SHARD_SPLIT is split, and two neighbours that together fall under SHARD_MERGE are joined, which touches only
 * them. The names below are the one place that says which objects belong to which list. */
#ifndef TLSWALL_SHARD_H
#define TLSWALL_SHARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "tlswall/diff.h"

struct rs_table;

/* Intervals a shard aims for when a list is first laid out or a shard is split. */
#define SHARD_TARGET 8192
/* A list of more intervals than this is sharded; at or under it, it stays one set. */
#define SHARD_THRESHOLD (2 * SHARD_TARGET)
/* A shard of more intervals than this is split (into shards of about SHARD_TARGET). */
#define SHARD_SPLIT (2 * SHARD_TARGET)
/* Two neighbouring shards of fewer intervals than this together are joined. */
#define SHARD_MERGE (SHARD_TARGET / 4)

/* A copy of logical (as compile_policy makes it: one set per list) with every list longer than SHARD_THRESHOLD
 * laid out in shards, keeping the cuts prev (the live table, or NULL) has for it. Deterministic given both. The
 * shards' elements are mostly views of logical's (ruleset.h: elems_borrowed): logical must outlive the result. */
struct rs_table *shard_layout(const struct rs_table *logical, const struct rs_table *prev);

/* Whether any list of logical is long enough to be sharded. */
bool shard_layout_needed(const struct rs_table *logical);

/* The table as the admin wrote it: every sharded list one set again, its dispatch rules the rules they stand for
 * (counters summed over the shards), its shard chains and dispatch maps gone. NULL when t holds no shard (use t). */
struct rs_table *shard_collapse(const struct rs_table *t);

/* A diff as the admin reads it: planned and live collapsed, and their diff. */
struct shard_view {
	const struct rs_table *planned, *live; /* collapsed, or the tables themselves when they hold no shard */
	const struct diff *d;                   /* the diff of those two */
	bool layout_only;                       /* the lists are the same: only how they are sharded differs */
	struct diff own;
	struct rs_table *own_planned, *own_live;
};

void shard_view_diff(struct shard_view *v, const struct diff *d, const struct rs_table *planned,
		     const struct rs_table *live);
void shard_view_release(struct shard_view *v);
/* diff_print_summary() of d with the changes of each list's shards counted as the list's, cheaply (the tables are
 * not collapsed) when d changes elements only. */
void shard_print_summary(const struct diff *d, FILE *out);

/* Whether t holds a shard. */
bool shard_any(const struct rs_table *t);

/* The names. Each parser returns false for a name of any other kind, and else sets *list (to free) to the list the
 * object belongs to ("bl.v4"), and *chain (to free; NULL to ignore) to the chain whose rule it stands in for. */
char *shard_set_name(const char *list, const unsigned char *cut, size_t keylen);
char *shard_map_name(const char *list, const char *chain);
char *shard_chain_name(const char *list, const unsigned char *cut, size_t keylen, const char *chain);
bool shard_parse_set(const char *name, char **list, unsigned char *cut, size_t *keylen);
bool shard_parse_map(const char *name, char **list, char **chain);
bool shard_parse_chain(const char *name, char **list, char **chain);

#endif
