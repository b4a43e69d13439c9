/* What tlswall status finds, gathered once and printed as text or as JSON (emit_json_status). */
#ifndef TLSWALL_STATUS_REPORT_H
#define TLSWALL_STATUS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlswall/table_hash.h"

struct pending;
struct trail_line;

enum status_live {
	STATUS_LIVE_UNKNOWN, /* netfilter could not be read: live_error says why */
	STATUS_LIVE_PRESENT,
	STATUS_LIVE_DORMANT, /* in the kernel, switched off: nothing is filtered */
	STATUS_LIVE_MISSING, /* not in the kernel: nothing is filtered */
};

/* last-known-good or previous */
struct status_saved {
	bool exists;           /* the file exists */
	char *error;           /* it cannot be read: why */
	char *origin;          /* where the ruleset came from (a policy path...); NULL when not recorded */
	char *table;
	bool absent;           /* a saved "no table" */
	char sha256[TABLE_HASH_LEN];
};

struct status_report {
	const char *table;
	enum status_live live;
	char *live_error;
	const struct pending *pending;  /* NULL: no change waits for confirmation */
	const char *pending_damaged;    /* the pending confirmation cannot be read: why */
	int64_t now;                    /* when status looked, seconds since the epoch */
	bool timer_alive, pending_here;
	struct status_saved lkg, previous;
	struct trail_line *events;      /* the last lines of the audit trail, oldest first */
	size_t nevents;
};

#endif
