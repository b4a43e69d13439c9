/* Snapshots as files of the state directory: what rollback, last-known-good and the record are kept in. */
#ifndef TLSWALL_SNAPSHOT_FILE_H
#define TLSWALL_SNAPSHOT_FILE_H

#include <stdbool.h>

struct diag_list;
struct rs_table;
struct state;

/* Saves t (NULL: "no table") as file, crash-safe. Rules it cannot re-create are a warning in diags. */
bool snapshot_save(struct state *st, const char *file, const struct rs_table *t, const char *table_name,
		   const char *origin, struct diag_list *diags, char **error);
/* Loads file; false with *error if missing or damaged. *t NULL means "no table". */
bool snapshot_load(struct state *st, const char *file, struct rs_table **t, char **table_name, char **origin,
		   char **error);

#endif
