#include <stdlib.h>
#include <string.h>

#include "tlswall/diag.h"
#include "tlswall/netns.h"
#include "tlswall/record_bin.h"
#include "tlswall/ruleset.h"
#include "tlswall/shard.h"
#include "tlswall/snapshot.h"
#include "tlswall/snapshot_file.h"
#include "tlswall/state.h"
#include "tlswall/util.h"

bool snapshot_save(struct state *st, const char *file, const struct rs_table *t, const char *table_name,
		   const char *origin, const char *stamp, struct diag_list *diags, char **error)
{
	char boot[64];
	struct snapshot_info info = { (char *)table_name, (char *)origin, (char *)stamp, netns_id(), boot };
	size_t left_out, len = 0;
	char *text;
	bool ok;

	boot_id(boot);
	/* a table with a long list: its elements as arrays, copied, not as text */
	if (t && shard_any(t))
		text = record_bin_encode(t, &info, &len, &left_out);
	else
		text = snapshot_encode(t, &info, &left_out);
	if (left_out && diags)
		diag_warning(diags, NULL, 0,
			     "the table holds %zu rule%s tlswall cannot re-create; a rollback to it would leave %s out",
			     left_out, left_out == 1 ? "" : "s", left_out == 1 ? "it" : "them");
	ok = state_write(st, file, text, len ? len : strlen(text), error);
	free(text);
	return ok;
}

/* A namespace of this boot other than this one: its rulesets are not this namespace's to restore. Across a reboot
 * every namespace of the last boot is gone, and the host's own takes over what it saved. */
static bool saved_elsewhere(const struct snapshot_info *info)
{
	char boot[64];
	uint64_t here = netns_id();

	boot_id(boot);
	return info->boot && boot[0] && strcmp(info->boot, boot) == 0 && info->netns && here && info->netns != here;
}

bool snapshot_load(struct state *st, const char *file, struct rs_table **t, struct snapshot_info *info, char **error)
{
	char *text;
	size_t len;
	bool ok;

	*t = NULL;
	memset(info, 0, sizeof(*info));
	if (!state_read(st, file, &text, &len, error))
		return false;
	if (!text) {
		*error = x_asprintf("%s/%s does not exist", state_dir(st), file);
		return false;
	}
	ok = record_bin_is(text, len) ? record_bin_decode(text, len, t, info, error) : snapshot_decode(text, t, info, error);
	free(text);
	if (!ok) {
		char *why = *error;

		*error = x_asprintf("%s/%s: %s", state_dir(st), file, why);
		free(why);
		return false;
	}
	if (saved_elsewhere(info)) {
		*error = x_asprintf("%s/%s was saved in another network namespace (the state directory is shared); it is "
				    "not used here",
				    state_dir(st), file);
		rs_table_free(*t);
		*t = NULL;
		snapshot_info_release(info);
		return false;
	}
	return true;
}
