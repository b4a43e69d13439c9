/* Snapshots as files of the state directory: what rollback, last-known-good and the record are kept in. Each file
 * says which network namespace and boot it was saved in; one saved in another namespace of this boot (two
 * namespaces sharing a state directory) is never used. */
#ifndef TLSWALL_SNAPSHOT_FILE_H
#define TLSWALL_SNAPSHOT_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct diag_list;
struct rs_table;
struct snapshot_info;
struct state;

/* Saves t (NULL: "no table") as file, crash-safe, stamped with this namespace and boot (and stamp, for the
 * record). Rules left out because they could not be re-created are a warning in diags (NULL: none). */
bool snapshot_save(struct state *st, const char *file, const struct rs_table *t, const char *table_name,
		   const char *origin, const char *stamp, struct diag_list *diags, char **error);
/* The same, in the binary form based on base (its file's checksum base_sum): only the sets that differ from it are
 * written. */
bool snapshot_save_based(struct state *st, const char *file, const struct rs_table *t, const char *table_name,
			 const char *origin, const char *stamp, const struct rs_table *base, uint64_t base_sum,
			 char **error);
/* Saves t whole as a base (a file named by its checksum, *sum, never rewritten). */
bool snapshot_save_base(struct state *st, const struct rs_table *t, const char *table_name, uint64_t *sum,
			char **error);
/* Decodes a snapshot file's content, whatever its form (JSON, binary, binary based on a base file of st). For a based
 * one, *base_sum (NULL: not wanted) is its base's checksum (0: none) and *listed the names of the sets it holds
 * itself rather than takes from the base (*nlisted of them, to free). */
bool snapshot_decode_any(struct state *st, const char *data, size_t len, struct rs_table **t,
			 struct snapshot_info *info, uint64_t *base_sum, char ***listed, size_t *nlisted, char **error);
/* Loads file; false with *error if missing, damaged, or saved in another namespace of this boot. *t NULL means
 * "no table". */
bool snapshot_load(struct state *st, const char *file, struct rs_table **t, struct snapshot_info *info, char **error);

#endif
