/* The pipeline as one straight function: load the policy, read its lists, validate, compile. */
#ifndef TLSWALL_PIPELINE_H
#define TLSWALL_PIPELINE_H

#include <stdbool.h>

#include "tlswall/trust.h"

struct diag_list;
struct policy;
struct rs_table;

struct pipeline {
	struct policy *policy;
	struct rs_table *logical; /* as compiled: one set per address list; NULL when the policy has errors */
	struct rs_table *table;   /* as the kernel gets it: long lists in shards (the same table when none is long) */
	struct diag_list *diags;  /* everything found, to be printed once by the verb */
};

/* True when the policy compiled (there may be warnings). */
bool pipeline_build(struct pipeline *pl, const char *path, enum trust_mode trust);
void pipeline_release(struct pipeline *pl);
/* The same, without laying out the table (table is NULL until pipeline_layout()), and with the state directory
 * (NULL: the default) keeping what list files parsed to, so that an unchanged one is not parsed again. */
bool pipeline_build_logical(struct pipeline *pl, const char *path, enum trust_mode trust, const char *state_dir);
/* Lays table out (again) keeping the shard boundaries live (the table in the kernel, or NULL) has, so that a change
 * touches only the shards it changes; every set gets its digest, those with the very elements of live's from live
 * (table_hash.h). */
void pipeline_layout(struct pipeline *pl, const struct rs_table *live);

#endif
