/* The rollback timer: a detached process, started by apply --confirm before its commit, that restores the previous
 * ruleset at the deadline unless the change was confirmed. Killing tlswall, losing the SSH session that ran it, or a
 * crash cannot stop it; it stays in the network namespace apply ran in. */
#ifndef TLSWALL_TIMER_H
#define TLSWALL_TIMER_H

#include <stdbool.h>

struct pending;
struct state;

/* Starts the timer for p (fills timer_pid and timer_start). */
bool timer_start(struct state *st, struct pending *p, unsigned seconds, char **error);
/* Stops it, if it is still the process that was started. */
void timer_stop(const struct pending *p);
bool timer_alive(const struct pending *p);

#endif
