#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tlswall/netns.h"
#include "tlswall/record.h"
#include "tlswall/ruleset.h"
#include "tlswall/snapshot.h"
#include "tlswall/state.h"
#include "tlswall/util.h"

/* Generations restart at every boot and in every new namespace: the stamp names all three. */
static char *stamp_for(const char *name, uint32_t genid)
{
	char boot[64] = "";
	uint64_t cookie = netns_id();
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		ssize_t n = read(fd, boot, sizeof(boot) - 1);

		boot[n > 0 ? n : 0] = '\0';
		boot[strcspn(boot, "\n")] = '\0';
		close(fd);
	}
	if (!boot[0] || !cookie)
		return NULL;
	return x_asprintf("generation=%u netns=%llu boot=%s table=%s", genid, (unsigned long long)cookie, boot, name);
}

void record_save(struct state *st, const struct rs_table *t, const char *name, const char *origin,
		 uint32_t genid)
{
	char *stamp = st ? stamp_for(name, genid) : NULL;
	char *text, *error = NULL;
	size_t unreadable;

	if (!stamp) {
		if (st)
			state_remove(st, STATE_RECORD);
		return;
	}
	text = snapshot_encode(t, name, origin ? origin : "the last commit", stamp, &unreadable);
	/* a record that could not be written must not outlive the state it described */
	if (!state_write(st, STATE_RECORD, text, strlen(text), &error)) {
		state_remove(st, STATE_RECORD);
		free(error);
	}
	free(text);
	free(stamp);
}

bool record_load(struct state *st, const char *name, uint32_t genid, struct rs_table **out)
{
	char *want = st ? stamp_for(name, genid) : NULL;
	char *text = NULL, *error = NULL, *table = NULL, *origin = NULL, *stamp = NULL;
	size_t len;
	bool ok = false;

	*out = NULL;
	if (!want || !state_read(st, STATE_RECORD, &text, &len, &error) || !text)
		goto out;
	/* the stamp is near the start: compare it before decoding a large record */
	if (!strstr(text, want))
		goto out;
	ok = snapshot_decode(text, out, &table, &origin, &stamp, &error) && stamp && strcmp(stamp, want) == 0;
	if (!ok) {
		rs_table_free(*out);
		*out = NULL;
	}
out:
	free(want);
	free(text);
	free(error);
	free(table);
	free(origin);
	free(stamp);
	return ok;
}
