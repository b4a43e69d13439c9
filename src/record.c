#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlswall/netns.h"
#include "tlswall/record_bin.h"
#include "tlswall/record.h"
#include "tlswall/ruleset.h"
#include "tlswall/snapshot.h"
#include "tlswall/snapshot_file.h"
#include "tlswall/state.h"
#include "tlswall/util.h"

/* Generations restart at every boot and in every new namespace: the stamp names all three. */
static char *stamp_for(const char *name, uint32_t genid)
{
	char boot[64];
	uint64_t cookie = netns_id();

	boot_id(boot);
	if (!boot[0] || !cookie)
		return NULL;
	return x_asprintf("generation=%u netns=%llu boot=%s table=%s", genid, (unsigned long long)cookie, boot, name);
}

void record_save(struct state *st, const struct rs_table *t, const char *name, const char *origin, uint32_t genid)
{
	char *stamp = st ? stamp_for(name, genid) : NULL;
	char *error = NULL;

	/* a record that could not be written must not outlive the state it described */
	if (st && (!stamp || !snapshot_save(st, STATE_RECORD, t, name, origin ? origin : "the last commit", stamp, NULL,
					    &error)))
		state_remove(st, STATE_RECORD);
	free(error);
	free(stamp);
}

void record_forget(struct state *st)
{
	if (st)
		state_remove(st, STATE_RECORD);
}

bool record_load(struct state *st, const char *name, uint32_t genid, struct rs_table **out, char **damaged)
{
	char *want = st ? stamp_for(name, genid) : NULL;
	char *text = NULL, *error = NULL, *stamp = NULL;
	struct snapshot_info info = { 0 };
	size_t len;
	bool ok = false;

	*out = NULL;
	*damaged = NULL;
	if (!want || !state_read(st, STATE_RECORD, &text, &len, &error) || !text)
		goto out;
	if (record_bin_is(text, len)) {
		/* the stamp first: a record of another generation is not decoded at all */
		stamp = record_bin_stamp(text, len);
		if (stamp && strcmp(stamp, want) != 0)
			goto out;
		if (stamp)
			ok = record_bin_decode(text, len, out, &info, &error);
		else
			error = x_strdup("its header is damaged");
	} else {
		/* the stamp is near the start: compare it before decoding a large record */
		if (!strstr(text, want))
			goto out;
		ok = snapshot_decode(text, out, &info, &error);
	}
	if (ok && (!info.stamp || strcmp(info.stamp, want) != 0)) {
		ok = false;
		free(error);
		error = x_strdup("its stamp does not match its header");
	}
	if (!ok) {
		*damaged = x_asprintf("%s/%s: %s", state_dir(st), STATE_RECORD, error ? error : "damaged");
		rs_table_free(*out);
		*out = NULL;
	}
out:
	snapshot_info_release(&info);
	free(stamp);
	free(want);
	free(text);
	free(error);
	return ok;
}
