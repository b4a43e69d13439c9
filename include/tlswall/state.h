/* tlswall's state directory: the run lock, and (for safe deployment) the rulesets it can roll back to.
 * Root-only: created 0700, files 0600, symlinks never followed. */
#ifndef TLSWALL_STATE_H
#define TLSWALL_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "tlswall/util.h"

#ifndef TLSWALL_STATEDIR
#define TLSWALL_STATEDIR "/var/lib/tlswall"
#endif

struct mapping;
struct state;

/* dir NULL: $TLSWALL_STATE_DIR, else TLSWALL_STATEDIR. Creates the directory if missing. On failure returns NULL and
 * says why in *error (to free). */
struct state *state_open(const char *dir, char **error);
void state_close(struct state *st);
const char *state_dir(const struct state *st);

/* Serializes tlswall runs: an exclusive lock held until state_close. Waits up to timeout_s for another run to
 * finish; returns false (with *error) if it does not. */
bool state_lock(struct state *st, unsigned timeout_s, char **error);

/* Crash-safe write of a file in the state directory: a temporary file, fsync, rename over the old one. A write
 * killed half-way, or a crash, leaves the previous file whole or the new one. */
bool state_write(struct state *st, const char *name, const char *data, size_t len, char **error);
/* Writes a file that only saves work (a cache): replaced atomically, but not synced, and by a name of its own per
 * process, so that runs that do not hold the lock can write it. Its reader must check what it reads. */
bool state_write_cache(struct state *st, const char *name, const char *data, size_t len);
/* Reads a state file into *data (NUL-terminated). *data is NULL when the file does not exist. Refuses symbolic links,
 * non-regular files, and files owned by someone else or open to group or others. */
bool state_read(struct state *st, const char *name, char **data, size_t *len, char **error);
bool state_exists(struct state *st, const char *name);
/* A state file opened for reading, with state_read's checks: the descriptor, -1 when it does not exist, -2 when it
 * is refused. */
int state_open_file(struct state *st, const char *name);
/* A state file mapped read-only (mapping.h), with state_read's checks: State files are only ever replaced by rename,
 * never rewritten in place, so a mapping of one never shrinks. m->data is NULL when the file does not exist. */
bool state_map(struct state *st, const char *name, struct mapping *m, char **error);
/* The first n bytes (or fewer) of a state file, with state_read's checks; *got 0 and true when it does not exist. */
bool state_read_head(struct state *st, const char *name, char *buf, size_t n, size_t *got);
/* Calls each with the name of every file of the directory whose name starts with prefix. */
bool state_list(struct state *st, const char *prefix, void (*each)(const char *name, void *arg), void *arg);
void state_remove(struct state *st, const char *name);
/* Makes `to` a second name of `from` (atomic replace). State files are only ever replaced by rename, never
 * rewritten in place, so both names keep their content when either is replaced later. */
bool state_link(struct state *st, const char *from, const char *to, char **error);
/* Moves one state file over another (atomic). */
bool state_rename(struct state *st, const char *from, const char *to, char **error);
/* Names made, replaced or removed (by the calls above) reach the disk together, at the next state_sync: one sync of
 * the directory for all the files of a run rather than one per file. state_close syncs before it unlocks; a caller
 * syncs before anything outside the directory relies on a name surviving a crash (a commit that boot must know
 * to be unconfirmed). */
void state_sync(struct state *st);

/* The names of the state files. */
#define STATE_PREVIOUS "previous.json"   /* the table before the last apply: what rollback restores */
#define STATE_LKG "last-known-good.json" /* the last table applied and confirmed: what boot falls back to */
#define STATE_CANDIDATE "candidate.json" /* applied, waiting for confirmation: becomes last-known-good */
#define STATE_PENDING "pending.json"     /* a confirmation deadline and the timer that enforces it */
#define STATE_EVENTS "events.log"        /* the audit trail's lines (trail.h), for status and the metrics */

/* Appends one line, stamped with the local time, to the events log (best effort, and not synced: the log is what
 * status and the metrics read back, and syslog is where the audit trail is kept). trail_send() is its one caller:
 * every line also goes to syslog. */
void state_event(struct state *st, const char *fmt, ...) TW_PRINTF(2, 3);

#endif
