/* The record of what tlswall last committed, stamped with the ruleset generation that commit produced.
 *
 * Reading a large set back from the kernel is quadratic (the kernel restarts its walk of the set for every 32 KiB
 * of dump: a million ranges take a minute). While the generation is still the one tlswall's own commit produced,
 * nothing anywhere has changed since, so the record is exactly what the kernel holds and the dump is skipped. Any
 * commit by anyone moves the generation on, and the next read dumps the kernel again. */
#ifndef TLSWALL_RECORD_H
#define TLSWALL_RECORD_H

#include <stdbool.h>
#include <stdint.h>

struct rs_table;
struct state;

#define STATE_RECORD "applied.json"

/* What the record read is based on (record_bin.h): kept from reading the record to writing the next, so that the next
 * record holds only the shards that differ from the base. The live table read from the record has the base's
 * elements in every set but those listed. */
struct record_base {
	uint64_t sum;   /* the checksum that names the base file; 0: no base */
	char **listed;  /* the sets the record held itself */
	size_t nlisted;
};

void record_base_release(struct record_base *b);

/* After a commit that produced generation genid: t is what table name now holds (NULL: no table), live what it held
 * before, as read with base. A table with a long list is recorded as the shards that differ from the base when they
 * are few (an eighth of its elements at most), else whole, as a new base; base files no snapshot names any more are
 * removed. */
void record_save(struct state *st, const struct rs_table *t, const char *name, const char *origin, uint32_t genid,
		 struct record_base *base, const struct rs_table *live);
/* After a commit whose generation is not known: no record, so the next read dumps. */
void record_forget(struct state *st);
/* If the record is for this namespace, this boot, table name and generation genid: *out is the table (NULL: no
 * table), *base what it is based on, and true. Otherwise false: the kernel must be read; *damaged (to free) says why
 * when the record claims this generation but cannot be read whole (it is never read in part). */
bool record_load(struct state *st, const char *name, uint32_t genid, struct rs_table **out, char **damaged,
		 struct record_base *base);

#endif
