#include <stdlib.h>
#include <string.h>

#include "tlswall/compile.h"
#include "tlswall/config.h"
#include "tlswall/diag.h"
#include "tlswall/listfile.h"
#include "tlswall/pipeline.h"
#include "tlswall/policy.h"
#include "tlswall/ruleset.h"
#include "tlswall/shard.h"
#include "tlswall/state.h"
#include "tlswall/table_hash.h"
#include "tlswall/validate.h"

static bool build(struct pipeline *pl, const char *path, enum trust_mode trust, struct state *cache)
{
	memset(pl, 0, sizeof(*pl));
	pl->diags = diag_list_alloc();
	diag_note_file(pl->diags, path); /* the policy's own diagnostics first, then those of its list files */
	pl->policy = config_load_file(path, trust, pl->diags);
	if (!pl->policy)
		return false;
	listfile_load_sets_cached(pl->policy, trust, cache, pl->diags);
	validate_policy(pl->policy, pl->diags);
	if (diag_errors(pl->diags))
		return false;
	pl->logical = compile_policy(pl->policy);
	return true;
}

bool pipeline_build(struct pipeline *pl, const char *path, enum trust_mode trust)
{
	if (!build(pl, path, trust, NULL))
		return false;
	pipeline_layout(pl, NULL);
	return true;
}

bool pipeline_build_logical(struct pipeline *pl, const char *path, enum trust_mode trust, const char *state_dir)
{
	char *error = NULL;
	/* the cache of parsed list files is a saving, never a requirement: without a usable directory, parse */
	struct state *cache = state_open(state_dir, &error);
	bool ok = build(pl, path, trust, cache);

	state_close(cache);
	free(error);
	return ok;
}

void pipeline_layout(struct pipeline *pl, const struct rs_table *live)
{
	if (!pl->logical || pl->table == pl->logical)
		return; /* nothing long: one layout */
	if (pl->table)
		rs_table_free(pl->table);
	pl->table = shard_layout_needed(pl->logical) ? shard_layout(pl->logical, live) : pl->logical;
	/* what did not change is not hashed again (table_hash.h) */
	table_hash_sets(pl->table, live);
}

void pipeline_release(struct pipeline *pl)
{
	if (pl->table != pl->logical)
		rs_table_free(pl->table);
	rs_table_free(pl->logical);
	policy_free(pl->policy);
	diag_list_free(pl->diags);
	memset(pl, 0, sizeof(*pl));
}
