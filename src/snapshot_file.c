#include <stdlib.h>
#include <string.h>

#include "tlswall/diag.h"
#include "tlswall/mapping.h"
#include "tlswall/netns.h"
#include "tlswall/record_bin.h"
#include "tlswall/ruleset.h"
#include "tlswall/shard.h"
#include "tlswall/snapshot.h"
#include "tlswall/snapshot_file.h"
#include "tlswall/state.h"
#include "tlswall/util.h"

/* Encodes t as file: JSON, or for a table with a long list the binary form (based on base when given), its
 * elements as arrays, copied, not as text. */
static bool save(struct state *st, const char *file, const struct rs_table *t, const char *table_name,
		 const char *origin, const char *stamp, const struct rs_table *base, uint64_t base_sum,
		 struct diag_list *diags, char **error)
{
	char boot[64];
	struct snapshot_info info = { (char *)table_name, (char *)origin, (char *)stamp, netns_id(), boot };
	size_t left_out, len = 0;
	char *text;
	bool ok;

	boot_id(boot);
	if (t && (base || shard_any(t)))
		text = record_bin_encode(t, &info, base, base_sum, &len, &left_out);
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

bool snapshot_save(struct state *st, const char *file, const struct rs_table *t, const char *table_name,
		   const char *origin, const char *stamp, struct diag_list *diags, char **error)
{
	return save(st, file, t, table_name, origin, stamp, NULL, 0, diags, error);
}

bool snapshot_save_based(struct state *st, const char *file, const struct rs_table *t, const char *table_name,
			 const char *origin, const char *stamp, const struct rs_table *base, uint64_t base_sum,
			 char **error)
{
	return save(st, file, t, table_name, origin, stamp, base, base_sum, NULL, error);
}

bool snapshot_save_base(struct state *st, const struct rs_table *t, const char *table_name, uint64_t *sum,
			char **error)
{
	char boot[64];
	struct snapshot_info info = { (char *)table_name, (char *)"the base of later snapshots", NULL, netns_id(), boot };
	size_t left_out, len;
	char *data, *name;
	bool ok;

	boot_id(boot);
	data = record_bin_encode(t, &info, NULL, 0, &len, &left_out);
	*sum = record_bin_sum(data, len);
	name = record_bin_base_name(*sum);
	/* named by its content: one that is there already is this one */
	ok = state_exists(st, name) || state_write(st, name, data, len, error);
	free(name);
	free(data);
	return ok;
}

/* The base of checksum sum, mapped; false with *error when it is missing or is not that file. */
static bool map_base(struct state *st, uint64_t sum, struct mapping *m, char **error)
{
	char *name = record_bin_base_name(sum), *why = NULL;
	bool ok = false;

	if (!state_map(st, name, m, &why)) {
		*error = why;
	} else if (!m->data) {
		*error = x_asprintf("its base %s/%s is missing", state_dir(st), name);
	} else if (!record_bin_is(m->data, m->len) || record_bin_sum(m->data, m->len) != sum ||
		   record_bin_base_sum(m->data, m->len)) {
		*error = x_asprintf("its base %s/%s is not the file it names", state_dir(st), name);
	} else {
		ok = true;
	}
	if (!ok)
		mapping_release(m);
	free(name);
	return ok;
}

bool snapshot_decode_any(struct state *st, const char *data, size_t len, struct rs_table **t,
			 struct snapshot_info *info, uint64_t *base_sum, char ***listed, size_t *nlisted, char **error)
{
	uint64_t sum = record_bin_is(data, len) ? record_bin_base_sum(data, len) : 0;
	struct mapping base = { 0 };
	bool ok;

	*t = NULL;
	memset(info, 0, sizeof(*info));
	if (base_sum)
		*base_sum = 0;
	if (!record_bin_is(data, len))
		return snapshot_decode(data, t, info, error);
	if (sum && !map_base(st, sum, &base, error))
		return false;
	ok = record_bin_decode(data, len, base.data, base.len, t, info, sum ? listed : NULL, nlisted, error);
	if (!ok && sum) {
		char *why = *error, *name = record_bin_base_name(sum);

		*error = x_asprintf("%s (based on %s/%s)", why, state_dir(st), name);
		free(name);
		free(why);
	}
	if (ok && base_sum)
		*base_sum = sum;
	/* the table's sets point into the base: it holds the mapping */
	if (ok && *t) {
		(*t)->held = base;
		memset(&base, 0, sizeof(base));
	}
	mapping_release(&base);
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
	ok = snapshot_decode_any(st, text, len, t, info, NULL, NULL, NULL, error);
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
