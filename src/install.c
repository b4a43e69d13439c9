#include <errno.h>
#include <stdlib.h>

#include "tlswall/diag.h"
#include "tlswall/diff.h"
#include "tlswall/install.h"
#include "tlswall/ruleset.h"
#include "tlswall/session.h"
#include "tlswall/snapshot_file.h"

/* How often an install is tried when other programs keep committing in between. */
#define INSTALL_ATTEMPTS 5

int install_table(struct session *s, const struct rs_table *want, const char *name, const char *origin)
{
	size_t before = diag_count(s->diags);
	int ret = -EINVAL;

	for (int attempt = 0; attempt < INSTALL_ATTEMPTS; attempt++) {
		struct diff d;

		if (attempt)
			diag_forget_after(s->diags, before); /* what failed is being tried again */
		ret = session_read(s, name, true);
		if (ret)
			break;
		if (want) {
			diff_tables(want, s->live, &d);
			ret = diff_empty(&d) ? 0 : session_commit(s, want, &d, origin);
			diff_release(&d);
		} else {
			ret = s->live ? session_commit(s, NULL, NULL, origin) : 0;
		}
		if (ret != -ERESTART)
			break;
	}
	return ret;
}

int install_snapshot(struct session *s, const char *file)
{
	struct rs_table *want = NULL;
	char *name = NULL, *origin = NULL, *error = NULL;
	int ret;

	if (!snapshot_load(s->st, file, &want, &name, &origin, &error)) {
		diag_error(s->diags, NULL, 0, "%s", error);
		free(error);
		return -ENOENT;
	}
	/* the table keeps saying where it came from, whichever state file brought it back */
	ret = install_table(s, want, name, origin);
	rs_table_free(want);
	free(name);
	free(origin);
	return ret;
}
