/* Snapshots as files of the state directory: what rollback, last-known-good and the record are kept in. Each file
 * says which network namespace and boot it was saved in; one saved in another namespace of this boot (two
 * namespaces sharing a state directory) is never used. */
#ifndef TLSWALL_SNAPSHOT_FILE_H
#define TLSWALL_SNAPSHOT_FILE_H

#include <stdbool.h>

struct diag_list;
struct rs_table;
struct snapshot_info;
struct state;

/* Saves t (NULL: "no table") as file, crash-safe, stamped with this namespace and boot (and stamp, for the
 * record). Rules left out because they could not be re-created are a warning in diags (NULL: none). */
bool snapshot_save(struct state *st, const char *file, const struct rs_table *t, const char *table_name,
		   const char *origin, const char *stamp, struct diag_list *diags, char **error);
/* Loads file; false with *error if missing, damaged, or saved in another namespace of this boot. *t NULL means
 * "no table". */
bool snapshot_load(struct state *st, const char *file, struct rs_table **t, struct snapshot_info *info, char **error);

#endif
