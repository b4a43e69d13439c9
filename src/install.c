#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tlswall/diag.h"
#include "tlswall/diff.h"
#include "tlswall/install.h"
#include "tlswall/ruleset.h"
#include "tlswall/session.h"
#include "tlswall/snapshot.h"
#include "tlswall/snapshot_file.h"
#include "tlswall/util.h"

#define RESTORED_FROM ", restored from "

/* Guarded attempts (which send only what changed, and keep counters) before a whole, unguarded replace. */
#define GUARDED_ATTEMPTS 3

/* A guarded attempt: read, compare, commit what differs. */
static int install_guarded(struct session *s, const struct rs_table *want, const char *name, const char *origin)
{
	struct diff d;
	int ret = session_read(s, name, true);

	if (ret)
		return ret;
	if (!want && !s->live)
		session_unchanged(s, NULL, origin);
	if (!want)
		return s->live ? session_commit(s, NULL, NULL, origin) : 0;
	diff_tables(want, s->live, &d);
	if (diff_empty(&d))
		session_unchanged(s, want, origin);
	ret = diff_empty(&d) ? 0 : session_commit(s, want, &d, origin);
	diff_release(&d);
	return ret;
}

int install_table(struct session *s, const struct rs_table *want, const char *name, const char *origin)
{
	size_t before = diag_count(s->diags);
	int ret = -EINVAL;

	for (int attempt = 0; attempt < GUARDED_ATTEMPTS; attempt++) {
		if (attempt)
			diag_forget_after(s->diags, before); /* what failed is being tried again */
		ret = install_guarded(s, want, name, origin);
		if (ret != -ERESTART && ret != -EAGAIN)
			return ret;
	}
	/* other programs keep committing between our read and our commit: what the kernel holds does not change what
	 * has to be installed, so replace the table whole, without a guard */
	diag_forget_after(s->diags, before);
	return session_replace(s, want, name, origin);
}

int install_snapshot(struct session *s, const char *file)
{
	struct rs_table *want = NULL;
	struct snapshot_info info;
	char *error = NULL, *restored;
	int ret;

	if (!snapshot_load(s->st, file, &want, &info, &error)) {
		diag_error(s->diags, NULL, 0, "%s", error);
		free(error);
		return -ENOENT;
	}
	/* what the snapshot holds, and that it came back from there (once: a table restored twice says it once) */
	if (info.origin && strstr(info.origin, RESTORED_FROM))
		*strstr(info.origin, RESTORED_FROM) = '\0';
	restored = x_asprintf("%s" RESTORED_FROM "%s", info.origin && *info.origin ? info.origin : "a saved ruleset",
			      file);
	ret = install_table(s, want, info.table, restored);
	rs_table_free(want);
	snapshot_info_release(&info);
	free(restored);
	return ret;
}
