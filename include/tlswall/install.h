/* Making the kernel hold a given table whatever it holds now: what rollback, the rollback timer and boot do. */
#ifndef TLSWALL_INSTALL_H
#define TLSWALL_INSTALL_H

struct rs_table;
struct session;

/* Makes the kernel hold want (NULL: no table inet name) in one transaction, reading the live table again and
 * retrying when another program commits in between. origin says what want is. 0, or -errno (in the session's
 * diagnostics). */
int install_table(struct session *s, const struct rs_table *want, const char *name, const char *origin);
/* The same with the table saved in snapshot file of the state directory. */
int install_snapshot(struct session *s, const char *file);

#endif
