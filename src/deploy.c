#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tlswall/commit.h"
#include "tlswall/deploy.h"
#include "tlswall/diff.h"
#include "tlswall/nl.h"
#include "tlswall/ruleset.h"
#include "tlswall/snapshot.h"
#include "tlswall/state.h"
#include "tlswall/util.h"

#define RESTORED_FROM ", restored from "

/* How often a restore is tried when other programs keep committing in between. */
#define RESTORE_ATTEMPTS 5

uint64_t deploy_netns(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static void random_token(char out[33])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[16] = { 0 };
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw)) {
		/* no urandom: time and pid still tell one confirmation from the next */
		uint64_t v = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

		memcpy(raw, &v, sizeof(v));
	}
	if (fd >= 0)
		close(fd);
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[32] = '\0';
}

void pending_new(struct pending *p, const char *policy, const char *table, unsigned seconds)
{
	memset(p, 0, sizeof(*p));
	random_token(p->token);
	p->applied_at = (int64_t)time(NULL);
	p->deadline = p->applied_at + seconds;
	p->netns = deploy_netns();
	snprintf(p->policy, sizeof(p->policy), "%s", policy);
	snprintf(p->table, sizeof(p->table), "%s", table);
}

bool pending_write(struct state *st, const struct pending *p, char **error)
{
	json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:s}", "token", p->token, "applied_at",
			      (json_int_t)p->applied_at, "deadline", (json_int_t)p->deadline, "netns",
			      (json_int_t)p->netns, "timer_pid", (json_int_t)p->timer_pid, "timer_start",
			      (json_int_t)p->timer_start, "policy", p->policy, "table", p->table);
	char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	bool ok = state_write(st, STATE_PENDING, text, strlen(text), error);

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
		*error = x_asprintf("%s/%s is damaged", state_dir(st), STATE_PENDING);
		return false;
	}
	*exists = true;
	snprintf(p->token, sizeof(p->token), "%s", token);
	snprintf(p->policy, sizeof(p->policy), "%s", policy);
	snprintf(p->table, sizeof(p->table), "%s", table);
	p->applied_at = json_integer_value(json_object_get(j, "applied_at"));
	p->deadline = json_integer_value(json_object_get(j, "deadline"));
	p->netns = (uint64_t)json_integer_value(json_object_get(j, "netns"));
	p->timer_pid = (pid_t)json_integer_value(json_object_get(j, "timer_pid"));
	p->timer_start = (uint64_t)json_integer_value(json_object_get(j, "timer_start"));
	json_decref(j);
	return true;
}

/* Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot. */
static uint64_t start_time(pid_t pid)
{
	char path[64], buf[1024];
	const char *p;
	unsigned long long v = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* the command name may hold spaces: count fields after its closing parenthesis */
	p = strrchr(buf, ')');
	/* a killed process its parent has not reaped yet is not running */
	if (p && p[1] == ' ' && p[2] == 'Z')
		return 0;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &v) != 1)
		return 0;
	return v;
}

bool timer_alive(const struct pending *p)
{
	return p->timer_pid > 0 && p->timer_start && start_time(p->timer_pid) == p->timer_start;
}

void timer_stop(const struct pending *p)
{
	if (timer_alive(p))
		kill(p->timer_pid, SIGTERM);
}

bool timer_start(struct state *st, struct pending *p, unsigned seconds, char **error)
{
	char secs[32], *argv[8];
	int fds[2];
	pid_t child, timer = 0;
	int status, err = 0;
	ssize_t n;

	snprintf(secs, sizeof(secs), "%u", seconds);
	argv[0] = (char *)"tlswall";
	argv[1] = (char *)"--state-dir";
	argv[2] = (char *)state_dir(st);
	argv[3] = (char *)"rollback-timer";
	argv[4] = p->token;
	argv[5] = secs;
	argv[6] = NULL;
	if (pipe(fds) != 0 || fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0 || fcntl(fds[1], F_SETFD, FD_CLOEXEC) != 0) {
		*error = x_asprintf("cannot start the rollback timer: %s", strerror(errno));
		return false;
	}
	child = fork();
	if (child < 0) {
		*error = x_asprintf("cannot start the rollback timer: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return false;
	}
	if (child == 0) {
		/* a new session: no terminal, so hanging up the SSH session that ran apply does not reach it */
		setsid();
		timer = fork();
		if (timer == 0) {
			int null = open("/dev/null", O_RDWR | O_CLOEXEC);

			signal(SIGHUP, SIG_IGN);
			signal(SIGINT, SIG_IGN);
			if (null >= 0) {
				dup2(null, 0);
				dup2(null, 1);
				dup2(null, 2);
			}
			if (chdir("/") != 0)
				_exit(126);
			/* a fresh image of tlswall: small, and visible in ps as what it is */
			execv("/proc/self/exe", argv);
			err = errno;
			if (write(fds[1], &err, sizeof(err)) < 0)
				_exit(127);
			_exit(127);
		}
		if (write(fds[1], &timer, sizeof(timer)) < 0)
			_exit(1);
		_exit(timer > 0 ? 0 : 1);
	}
	close(fds[1]);
	waitpid(child, &status, 0);
	n = read(fds[0], &timer, sizeof(timer));
	if (n == (ssize_t)sizeof(timer) && timer > 0 && read(fds[0], &err, sizeof(err)) == (ssize_t)sizeof(err))
		timer = -1; /* exec failed: the timer wrote its errno before dying */
	close(fds[0]);
	if (n != (ssize_t)sizeof(timer) || timer <= 0) {
		*error = x_asprintf("cannot start the rollback timer: %s", err ? strerror(err) : "fork failed");
		return false;
	}
	p->timer_pid = timer;
	p->timer_start = start_time(timer);
	return true;
}

bool snapshot_save(struct state *st, const char *file, const struct rs_table *t, const char *table_name,
		   const char *origin, char **error)
{
	size_t unreadable;
	char *text = snapshot_encode(t, table_name, origin, NULL, &unreadable);
	bool ok;

	if (unreadable)
		fprintf(stderr,
			"tlswall: warning: the table holds %zu rule%s tlswall cannot re-create; a rollback to it would "
			"leave %s out\n",
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

int deploy_install(struct state *st, const struct rs_table *want, const char *name, const char *origin, bool verbose)
{
	int ret = -EINVAL;

	for (int attempt = 0; attempt < RESTORE_ATTEMPTS; attempt++) {
		struct nl *nl = NULL;
		struct rs_table *live = NULL;
		struct diff d;
		uint32_t genid;

		ret = live_read(name, st, &nl, &live, &genid, NULL);
		if (ret)
			break;
		if (want) {
			diff_tables(want, live, &d);
			ret = diff_empty(&d) ? 0 : commit_table(nl, st, want, &d, name, genid, origin, verbose);
			diff_release(&d);
		} else {
			ret = live ? commit_table(nl, st, NULL, NULL, name, genid, origin, verbose) : 0;
		}
		rs_table_free(live);
		nl_close(nl);
		if (ret != -ERESTART)
			break;
	}
	return ret;
}

int deploy_restore(struct state *st, const char *file, bool verbose)
{
	struct rs_table *want = NULL;
	char *name = NULL, *origin = NULL, *error = NULL, *restored;
	int ret;

	if (!snapshot_load(st, file, &want, &name, &origin, &error)) {
		fprintf(stderr, "tlswall: %s\n", error);
		free(error);
		return -ENOENT;
	}
	/* what the snapshot holds, and that it came back from there (once: a table restored twice says it once) */
	if (origin && strstr(origin, RESTORED_FROM))
		*strstr(origin, RESTORED_FROM) = '\0';
	restored = x_asprintf("%s" RESTORED_FROM "%s", origin && *origin ? origin : "a saved ruleset", file);
	ret = deploy_install(st, want, name, restored, verbose);
	rs_table_free(want);
	free(name);
	free(origin);
	free(restored);
	return ret;
}

struct state *deploy_open(const char *dir, bool lock, struct pending *p, bool *exists)
{
	char *error = NULL;
	struct state *st = state_open(dir, &error);

	if (!st || (lock && !state_lock(st, 60, &error)) || !pending_read(st, p, exists, &error)) {
		fprintf(stderr, "tlswall: %s\n", error);
		free(error);
		state_close(st);
		return NULL;
	}
	return st;
}
