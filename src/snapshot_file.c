#include <stdlib.h>
#include <string.h>

#include "tlswall/diag.h"
#include "tlswall/snapshot.h"
#include "tlswall/snapshot_file.h"
#include "tlswall/state.h"
#include "tlswall/util.h"

bool snapshot_save(struct state *st, const char *file, const struct rs_table *t, const char *table_name,
		   const char *origin, struct diag_list *diags, char **error)
{
	size_t unreadable;
	char *text = snapshot_encode(t, table_name, origin, NULL, &unreadable);
	bool ok;

	if (unreadable)
		diag_warning(diags, NULL, 0,
			     "the table holds %zu rule%s tlswall cannot re-create; a rollback to it would leave %s out",
			     unreadable, unreadable == 1 ? "" : "s", unreadable == 1 ? "it" : "them");
	ok = state_write(st, file, text, strlen(text), error);
	free(text);
	return ok;
}

bool snapshot_load(struct state *st, const char *file, struct rs_table **t, char **table_name, char **origin,
		   char **error)
{
	char *text;
	size_t len;
	bool ok;

	*t = NULL;
	*table_name = *origin = NULL;
	if (!state_read(st, file, &text, &len, error))
		return false;
	if (!text) {
		*error = x_asprintf("%s/%s does not exist", state_dir(st), file);
		return false;
	}
	ok = snapshot_decode(text, t, table_name, origin, NULL, error);
	if (!ok) {
		char *why = *error;

		*error = x_asprintf("%s/%s: %s", state_dir(st), file, why);
		free(why);
	}
	free(text);
	return ok;
}

