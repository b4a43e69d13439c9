/* Safety guards run before a change reaches the kernel: do not cut off the admin (lockout), and say when another
 * table on the same hook will undo what tlswall allows (coexistence). */
#ifndef TLSWALL_GUARD_H
#define TLSWALL_GUARD_H

#include <stdbool.h>

struct diag_list;
struct diff;
struct rs_table;

/* Looks at this SSH session (SSH_CONNECTION) and at every established inbound TCP connection (sock_diag). Returns
 * nonzero, after naming in diags each connection and what in the policy cuts it, when the planned ruleset would drop
 * new connections that the live one allows; with force it only warns. Also warns about listening services the
 * planned ruleset leaves no way to reach. d, the change from live to planned (NULL: not known), spares the look at
 * connections when it can cut none (guard_change_only_unblocks). */
int guard_lockout(const struct rs_table *planned, const struct rs_table *live, const struct diff *d, bool force,
		  struct diag_list *diags);
/* Whether the change d only makes live drop less: it takes elements out of sets and adds none, and every set it
 * changes is looked up only by rules that drop or reject what they match (a deny list, or a shard of one). What the
 * changed table drops, the live one drops already: no connection can be cut. */
bool guard_change_only_unblocks(const struct diff *d, const struct rs_table *live);
/* Reads the other tables' base chains on the input hook and warns, in diags, about those that will drop what
 * tlswall allows (in nftables an accept in one table is not final), and notes once that their accepts cannot undo
 * tlswall's drops. Returns the number of problems found. */
int guard_coexistence(const struct rs_table *planned, struct diag_list *diags);

#endif
