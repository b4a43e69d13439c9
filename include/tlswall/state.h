/* tlswall's state directory: the run lock, and (for safe deployment) the rulesets it can roll back to.
 * Root-only: created 0700, files 0600, symlinks never followed. */
#ifndef TLSWALL_STATE_H
#define TLSWALL_STATE_H

#include <stdbool.h>
#include <stddef.h>

#ifndef TLSWALL_STATEDIR
#define TLSWALL_STATEDIR "/var/lib/tlswall"
#endif

struct state;

/* dir NULL: $TLSWALL_STATE_DIR, else TLSWALL_STATEDIR. Creates the directory if missing. On failure returns NULL and
 * says why in *error (to free). */
struct state *state_open(const char *dir, char **error);
void state_close(struct state *st);
const char *state_dir(const struct state *st);

/* Serializes tlswall runs: an exclusive lock held until state_close. Waits up to timeout_s for another run to
 * finish; returns false (with *error) if it does not. */
bool state_lock(struct state *st, unsigned timeout_s, char **error);

#endif
