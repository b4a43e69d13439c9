#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tlswall/netns.h"
#include "tlswall/pending.h"
#include "tlswall/state.h"
#include "tlswall/util.h"

static void random_token(char out[33])
{
	unsigned char raw[16] = { 0 };
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw)) {
		/* no urandom: time and pid still tell one confirmation from the next */
		uint64_t v = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

		memcpy(raw, &v, sizeof(v));
	}
	if (fd >= 0)
		close(fd);
	hex_encode(raw, sizeof(raw), out);
}

void pending_new(struct pending *p, const char *policy, const char *table, unsigned seconds)
{
	memset(p, 0, sizeof(*p));
	random_token(p->token);
	p->applied_at = (int64_t)time(NULL);
	p->deadline = p->applied_at + seconds;
	p->netns = netns_id();
	snprintf(p->policy, sizeof(p->policy), "%s", policy);
	snprintf(p->table, sizeof(p->table), "%s", table);
}

bool pending_write(struct state *st, const struct pending *p, char **error)
{
	json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:s}", "token", p->token, "applied_at",
			      (json_int_t)p->applied_at, "deadline", (json_int_t)p->deadline, "netns_id",
			      (json_int_t)p->netns, "timer_pid", (json_int_t)p->timer_pid, "timer_start",
			      (json_int_t)p->timer_start, "policy", p->policy, "table", p->table);
	char *text;
	bool ok;

	if (p->sha256[0])
		json_object_set_new(j, "sha256", json_string(p->sha256));
	if (p->restore_failures) {
		json_object_set_new(j, "restore_failures", json_integer(p->restore_failures));
		json_object_set_new(j, "restore_error", json_string(p->restore_error));
	}
	text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	ok = state_write(st, STATE_PENDING, text, strlen(text), error);

	free(text);
	json_decref(j);
	return ok;
}

bool pending_read(struct state *st, struct pending *p, bool *exists, char **error)
{
	char *text;
	size_t len;
	json_t *j;
	const char *token, *policy, *table;

	memset(p, 0, sizeof(*p));
	*exists = false;
	if (!state_read(st, STATE_PENDING, &text, &len, error))
		return false;
	if (!text)
		return true;
	j = json_loads(text, 0, NULL);
	free(text);
	token = json_string_value(json_object_get(j, "token"));
	policy = json_string_value(json_object_get(j, "policy"));
	table = json_string_value(json_object_get(j, "table"));
	if (!j || !token || strlen(token) != 32 || !policy || !table) {
		json_decref(j);
		*error = x_asprintf("the pending confirmation %s/%s is damaged (it is not a confirmation tlswall wrote)",
				    state_dir(st), STATE_PENDING);
		return false;
	}
	*exists = true;
	snprintf(p->token, sizeof(p->token), "%s", token);
	snprintf(p->policy, sizeof(p->policy), "%s", policy);
	snprintf(p->table, sizeof(p->table), "%s", table);
	p->applied_at = json_integer_value(json_object_get(j, "applied_at"));
	p->deadline = json_integer_value(json_object_get(j, "deadline"));
	p->netns = (uint64_t)json_integer_value(json_object_get(j, "netns_id"));
	p->timer_pid = (pid_t)json_integer_value(json_object_get(j, "timer_pid"));
	p->timer_start = (uint64_t)json_integer_value(json_object_get(j, "timer_start"));
	p->restore_failures = (unsigned)json_integer_value(json_object_get(j, "restore_failures"));
	if (json_is_string(json_object_get(j, "sha256")))
		snprintf(p->sha256, sizeof(p->sha256), "%s", json_string_value(json_object_get(j, "sha256")));
	if (json_is_string(json_object_get(j, "restore_error")))
		snprintf(p->restore_error, sizeof(p->restore_error), "%s",
			 json_string_value(json_object_get(j, "restore_error")));
	json_decref(j);
	return true;
}

bool pending_here(const struct pending *p)
{
	uint64_t here = netns_id();

	return !p->netns || !here || p->netns == here;
}
