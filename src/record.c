#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlswall/netns.h"
#include "tlswall/record_bin.h"
#include "tlswall/record.h"
#include "tlswall/ruleset.h"
#include "tlswall/shard.h"
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

/* Base files no snapshot names any more (a base is named by the record, and by rollback's, last-known-good's and the
 * candidate's copies of it). Nothing is removed when any of those cannot be read. */
struct gc {
	uint64_t keep[4];
	struct state *st;
};

static void gc_one(const char *name, void *arg)
{
	struct gc *g = arg;
	unsigned long long sum;
	char *canonical;

	if (sscanf(name, "base-%16llx.bin", &sum) != 1)
		return;
	for (size_t i = 0; i < 4; i++)
		if (g->keep[i] == sum)
			return;
	/* only a name this program makes (no stray file that merely looks like one) */
	canonical = record_bin_base_name(sum);
	if (strcmp(canonical, name) == 0)
		state_remove(g->st, name);
	free(canonical);
}

static void collect_bases(struct state *st)
{
	static const char *const files[] = { STATE_RECORD, STATE_PREVIOUS, STATE_LKG, STATE_CANDIDATE };
	struct gc g = { { 0 }, st };

	for (size_t i = 0; i < 4; i++) {
		char head[64];
		size_t got;

		if (!state_read_head(st, files[i], head, sizeof(head), &got))
			return;
		g.keep[i] = record_bin_is(head, got) ? record_bin_base_sum(head, got) : 0;
	}
	state_list(st, "base-", gc_one, &g);
}

/* Bytes of elements of t: what a base saves writing again. */
static size_t element_bytes(const struct rs_table *t)
{
	size_t n = 0;

	for (size_t i = 0; i < t->nsets; i++)
		if (!t->sets[i]->vmap && !t->sets[i]->foreign)
			n += t->sets[i]->nelem * rs_set_stride(t->sets[i]);
	return n;
}

void record_base_release(struct record_base *b)
{
	for (size_t i = 0; i < b->nlisted; i++)
		free(b->listed[i]);
	free(b->listed);
	memset(b, 0, sizeof(*b));
}

/* The sets of live that hold the base's very elements (all but those the record listed), as a table to compare
 * with: it owns nothing but its array. */
static struct rs_table *base_view(const struct record_base *base, const struct rs_table *live, struct rs_table *view)
{
	memset(view, 0, sizeof(*view));
	view->sets = x_calloc(live->nsets ? live->nsets : 1, sizeof(*view->sets));
	for (size_t i = 0; i < live->nsets; i++) {
		bool listed = false;

		for (size_t k = 0; k < base->nlisted && !listed; k++)
			listed = strcmp(base->listed[k], live->sets[i]->name) == 0;
		if (!listed)
			view->sets[view->nsets++] = live->sets[i];
	}
	return view;
}

void record_save(struct state *st, const struct rs_table *t, const char *name, const char *origin, uint32_t genid,
		 struct record_base *base, const struct rs_table *live)
{
	char *stamp = st ? stamp_for(name, genid) : NULL;
	struct rs_table view = { 0 };
	char *error = NULL;
	bool ok;

	if (!st)
		goto out;
	if (!stamp) {
		state_remove(st, STATE_RECORD);
		goto out;
	}
	if (!t || !shard_any(t)) {
		ok = snapshot_save(st, STATE_RECORD, t, name, origin ? origin : "the last commit", stamp, NULL, &error);
	} else if (base->sum && live && record_bin_delta_bytes(t, base_view(base, live, &view)) <= element_bytes(t) / 8) {
		/* the shards that changed since the base, and nothing else */
		ok = snapshot_save_based(st, STATE_RECORD, t, name, origin ? origin : "the last commit", stamp, &view,
					 base->sum, &error);
	} else {
		uint64_t sum;

		/* a new base: t whole, once; this record and the next ones name it, so its name reaches the disk first */
		ok = snapshot_save_base(st, t, name, &sum, &error);
		if (ok) {
			state_sync(st);
			ok = snapshot_save_based(st, STATE_RECORD, t, name, origin ? origin : "the last commit", stamp, t,
						 sum, &error);
		}
		record_base_release(base);
	}
	/* a record that could not be written must not outlive the state it described */
	if (!ok)
		state_remove(st, STATE_RECORD);
	collect_bases(st);
out:
	free(view.sets);
	free(error);
	free(stamp);
}

void record_forget(struct state *st)
{
	if (st)
		state_remove(st, STATE_RECORD);
}

bool record_load(struct state *st, const char *name, uint32_t genid, struct rs_table **out, char **damaged,
		 struct record_base *base)
{
	char *want = st ? stamp_for(name, genid) : NULL;
	char *text = NULL, *error = NULL, *stamp = NULL;
	struct snapshot_info info = { 0 };
	size_t len;
	bool ok = false;

	*out = NULL;
	*damaged = NULL;
	record_base_release(base);
	if (!want || !state_read(st, STATE_RECORD, &text, &len, &error) || !text)
		goto out;
	if (record_bin_is(text, len)) {
		/* the stamp first: a record of another generation is not decoded at all */
		stamp = record_bin_stamp(text, len);
		if (stamp && strcmp(stamp, want) != 0)
			goto out;
		if (stamp)
			ok = snapshot_decode_any(st, text, len, out, &info, &base->sum, &base->listed, &base->nlisted,
						 &error);
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
		record_base_release(base);
	}
out:
	snapshot_info_release(&info);
	free(stamp);
	free(want);
	free(text);
	free(error);
	return ok;
}
