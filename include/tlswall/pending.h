/* The pending confirmation: a change applied with --confirm that rolls back unless confirmed by its deadline. */
#ifndef TLSWALL_PENDING_H
#define TLSWALL_PENDING_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "tlswall/table_hash.h"

struct state;

struct pending {
	char token[33];        /* identifies this confirmation: a stale timer never acts on a newer one */
	int64_t applied_at;    /* wall clock, seconds */
	int64_t deadline;      /* wall clock, seconds, for status */
	uint64_t netns;        /* netns_id() of the namespace apply ran in; 0: not known */
	pid_t timer_pid;
	uint64_t timer_start;  /* the timer's start time in /proc/PID/stat, so a reused pid is never signalled */
	char policy[4096];
	char table[64];
	char sha256[TABLE_HASH_LEN]; /* the applied table (table_sha256), for the audit trail; "" if not known */
	unsigned restore_failures; /* the timer's failed attempts to restore the previous ruleset, so far */
	char restore_error[512];   /* why the last one failed */
};

void pending_new(struct pending *p, const char *policy, const char *table, unsigned seconds);
/* false with *error when the file exists but cannot be read; *exists says whether there is one. */
bool pending_read(struct state *st, struct pending *p, bool *exists, char **error);
bool pending_write(struct state *st, const struct pending *p, char **error);
/* Whether p was applied in this network namespace (or it cannot be told). */
bool pending_here(const struct pending *p);

#endif
