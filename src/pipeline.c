#include <string.h>

#include "tlswall/compile.h"
#include "tlswall/config.h"
#include "tlswall/diag.h"
#include "tlswall/listfile.h"
#include "tlswall/pipeline.h"
#include "tlswall/policy.h"
#include "tlswall/ruleset.h"
#include "tlswall/validate.h"

bool pipeline_build(struct pipeline *pl, const char *path, enum trust_mode trust)
{
	memset(pl, 0, sizeof(*pl));
	pl->diags = diag_list_alloc();
	diag_note_file(pl->diags, path); /* the policy's own diagnostics first, then those of its list files */
	pl->policy = config_load_file(path, trust, pl->diags);
	if (!pl->policy)
		return false;
	listfile_load_sets(pl->policy, trust, pl->diags);
	validate_policy(pl->policy, pl->diags);
	if (diag_errors(pl->diags))
		return false;
	pl->table = compile_policy(pl->policy);
	return true;
}

void pipeline_release(struct pipeline *pl)
{
	rs_table_free(pl->table);
	policy_free(pl->policy);
	diag_list_free(pl->diags);
	memset(pl, 0, sizeof(*pl));
}
