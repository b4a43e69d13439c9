/* Safety guards run before a change reaches the kernel: do not cut off the admin (lockout), and say when another
 * table on the same hook will undo what tlswall allows (coexistence). */
#ifndef TLSWALL_GUARD_H
#define TLSWALL_GUARD_H

#include <stdbool.h>

struct diag_list;
struct rs_table;

/* Looks at this SSH session (SSH_CONNECTION) and at every established inbound TCP connection (sock_diag). Returns
 * nonzero, after naming in diags each connection and what in the policy cuts it, when the planned ruleset would drop
 * new connections that the live one allows; with force it only warns. Also warns about listening services the
 * planned ruleset leaves no way to reach. */
int guard_lockout(const struct rs_table *planned, const struct rs_table *live, bool force, struct diag_list *diags);
/* Reads the other tables' base chains on the input hook and warns, in diags, about those that will drop what
 * tlswall allows (in nftables an accept in one table is not final), and notes once that their accepts cannot undo
 * tlswall's drops. Returns the number of problems found. */
int guard_coexistence(const struct rs_table *planned, struct diag_list *diags);

#endif
