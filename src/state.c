#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tlswall/mapping.h"
#include "tlswall/state.h"
#include "tlswall/test_hooks.h"
#include "tlswall/util.h"

struct state {
	char *dir;
	int dirfd;
	int lockfd;
	bool unsynced; /* names made, replaced or removed since the directory was last synced */
};

/* The directory holds what the firewall rolls back to, so it must be root's (or the caller's) alone. */
static bool check_dir(int fd, const char *dir, char **error)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		*error = x_asprintf("cannot stat state directory %s: %s", dir, strerror(errno));
		return false;
	}
	if (!S_ISDIR(st.st_mode)) {
		*error = x_asprintf("state directory %s is not a directory", dir);
		return false;
	}
	if (st.st_uid != geteuid()) {
		*error = x_asprintf("state directory %s is owned by uid %u, not by uid %u", dir, (unsigned)st.st_uid,
				    (unsigned)geteuid());
		return false;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		*error = x_asprintf("state directory %s is open to group or others (mode %04o); chmod 700 it", dir,
				    (unsigned)(st.st_mode & 07777));
		return false;
	}
	return true;
}

struct state *state_open(const char *dir, char **error)
{
	struct state *st = NULL;
	char *path = NULL;
	int fd;

	*error = NULL;
	if (!dir)
		dir = getenv("TLSWALL_STATE_DIR");
	if (!dir || !*dir)
		dir = TLSWALL_STATEDIR;
	/* absolute, so the rollback timer (which runs from /) finds it; without trailing slashes, which would make
	 * open() follow a symbolic link despite O_NOFOLLOW */
	if (dir[0] != '/') {
		char cwd[4096];

		if (!getcwd(cwd, sizeof(cwd))) {
			*error = x_asprintf("cannot resolve state directory %s: %s", dir, strerror(errno));
			goto out;
		}
		path = x_asprintf("%s/%s", cwd, dir);
	} else {
		path = x_strdup(dir);
	}
	for (size_t n = strlen(path); n > 1 && path[n - 1] == '/'; n--)
		path[n - 1] = '\0';
	dir = path;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		*error = x_asprintf("cannot create state directory %s: %s", dir, strerror(errno));
		goto out;
	}
	/* O_NOFOLLOW: a symlink planted in place of the directory is refused, not followed */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		*error = x_asprintf("cannot open state directory %s: %s", dir,
				    errno == ELOOP || errno == ENOTDIR ? "it is a symbolic link or not a directory" :
									   strerror(errno));
		goto out;
	}
	if (!check_dir(fd, dir, error)) {
		close(fd);
		goto out;
	}
	st = x_calloc(1, sizeof(*st));
	st->dir = x_strdup(dir);
	st->dirfd = fd;
	st->lockfd = -1;
out:
	free(path);
	return st;
}

void state_sync(struct state *st)
{
	if (st && st->unsynced && fsync(st->dirfd) == 0)
		st->unsynced = false;
}

void state_close(struct state *st)
{
	if (!st)
		return;
	state_sync(st);
	if (st->lockfd >= 0)
		close(st->lockfd); /* releases the lock */
	close(st->dirfd);
	free(st->dir);
	free(st);
}

const char *state_dir(const struct state *st)
{
	return st->dir;
}

bool state_lock(struct state *st, unsigned timeout_s, char **error)
{
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	bool said = false;

	st->lockfd = openat(st->dirfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (st->lockfd < 0) {
		*error = x_asprintf("cannot open %s/lock: %s", st->dir, strerror(errno));
		return false;
	}
	for (unsigned waited = 0; waited <= timeout_s * 10; waited++) {
		if (flock(st->lockfd, LOCK_EX | LOCK_NB) == 0)
			return true;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			*error = x_asprintf("cannot lock %s/lock: %s", st->dir, strerror(errno));
			return false;
		}
		if (!said) {
			fprintf(stderr, "tlswall: waiting for another tlswall run to finish...\n");
			said = true;
		}
		nanosleep(&pause, NULL);
	}
	*error = x_asprintf("another tlswall run has held %s/lock for %u seconds; giving up", st->dir, timeout_s);
	return false;
}

/* Writes name whole or not at all: a temporary file (tmp, which must not exist), renamed over it. durable: the data
 * synced before the rename, so that a crash brings back either the old file or the new one, never less, and the
 * rename itself at the next state_sync. */
static bool write_whole(struct state *st, const char *name, const char *tmp, const char *data, size_t len,
			bool durable, char **error)
{
	size_t done = 0;
	bool ok = false;
	int fd = openat(st->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0) {
		*error = x_asprintf("cannot create %s/%s: %s", st->dir, tmp, strerror(errno));
		return false;
	}
	while (done < len) {
		size_t chunk = len - done > 65536 ? 65536 : len - done;
		ssize_t n = write(fd, data + done, chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error = x_asprintf("cannot write %s/%s: %s", st->dir, tmp, strerror(errno));
			goto out;
		}
		done += (size_t)n;
		test_hook_write_delay();
	}
	if (durable && fsync(fd) != 0) {
		*error = x_asprintf("cannot sync %s/%s: %s", st->dir, tmp, strerror(errno));
		goto out;
	}
	if (renameat(st->dirfd, tmp, st->dirfd, name) != 0) {
		*error = x_asprintf("cannot rename %s/%s: %s", st->dir, tmp, strerror(errno));
		goto out;
	}
	st->unsynced |= durable;
	ok = true;
out:
	close(fd);
	if (!ok)
		unlinkat(st->dirfd, tmp, 0);
	return ok;
}

bool state_write(struct state *st, const char *name, const char *data, size_t len, char **error)
{
	char *tmp = x_asprintf("%s.tmp", name);
	bool ok;

	unlinkat(st->dirfd, tmp, 0);
	ok = write_whole(st, name, tmp, data, len, true, error);
	free(tmp);
	return ok;
}

bool state_write_cache(struct state *st, const char *name, const char *data, size_t len)
{
	/* a cache is only worth the time it saves: no sync, and a file per writer, so that two never meet */
	char *tmp = x_asprintf("%s.tmp.%ld", name, (long)getpid()), *error = NULL;
	bool ok = write_whole(st, name, tmp, data, len, false, &error);

	free(error);
	free(tmp);
	return ok;
}

bool state_read(struct state *st, const char *name, char **data, size_t *len, char **error)
{
	struct stat sb;
	char *buf;
	size_t got = 0;
	int fd;

	*data = NULL;
	*len = 0;
	fd = openat(st->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return true;
		*error = x_asprintf("cannot open %s/%s: %s", st->dir, name,
				    errno == ELOOP ? "it is a symbolic link" : strerror(errno));
		return false;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid() ||
	    (sb.st_mode & (S_IRWXG | S_IRWXO))) {
		*error = x_asprintf("refusing %s/%s: not a regular file of uid %u with mode 0600", st->dir, name,
				    (unsigned)geteuid());
		close(fd);
		return false;
	}
	buf = x_malloc((size_t)sb.st_size + 1);
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*data = buf;
	*len = got;
	return true;
}

int state_open_file(struct state *st, const char *name)
{
	int fd = openat(st->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	struct stat sb;

	if (fd < 0)
		return errno == ENOENT ? -1 : -2;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & (S_IRWXG | S_IRWXO))) {
		close(fd);
		return -2;
	}
	return fd;
}

bool state_map(struct state *st, const char *name, struct mapping *m, char **error)
{
	int fd = state_open_file(st, name);
	struct stat sb;
	bool ok;

	m->data = NULL;
	m->len = 0;
	if (fd == -1)
		return true;
	if (fd < 0) {
		*error = x_asprintf("refusing %s/%s: not a regular file of uid %u with mode 0600", st->dir, name,
				    (unsigned)geteuid());
		return false;
	}
	ok = fstat(fd, &sb) == 0 && mapping_open(m, fd, (size_t)sb.st_size);
	if (!ok)
		*error = x_asprintf("cannot read %s/%s: %s", st->dir, name, strerror(errno));
	close(fd);
	return ok;
}

bool state_read_head(struct state *st, const char *name, char *buf, size_t n, size_t *got)
{
	int fd = state_open_file(st, name);
	ssize_t r;

	*got = 0;
	if (fd < 0)
		return fd == -1;
	do
		r = read(fd, buf, n);
	while (r < 0 && errno == EINTR);
	close(fd);
	if (r < 0)
		return false;
	*got = (size_t)r;
	return true;
}

bool state_list(struct state *st, const char *prefix, void (*each)(const char *name, void *arg), void *arg)
{
	int fd = openat(st->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	while ((e = readdir(d)))
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
			each(e->d_name, arg);
	closedir(d);
	return true;
}

bool state_exists(struct state *st, const char *name)
{
	struct stat sb;

	return fstatat(st->dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0;
}

void state_remove(struct state *st, const char *name)
{
	unlinkat(st->dirfd, name, 0);
	st->unsynced = true;
}

bool state_rename(struct state *st, const char *from, const char *to, char **error)
{
	if (renameat(st->dirfd, from, st->dirfd, to) != 0) {
		*error = x_asprintf("cannot rename %s/%s: %s", st->dir, from, strerror(errno));
		return false;
	}
	st->unsynced = true;
	return true;
}

/* The events log is read back by status and the metrics, and every change is a line of it: it keeps its last
 * EVENTS_KEEP bytes or so (whole lines) once it grows past EVENTS_MAX. */
#define EVENTS_MAX (512 * 1024)
#define EVENTS_KEEP (256 * 1024)

static void trim_events(struct state *st)
{
	char *text = NULL, *error = NULL;
	size_t len;

	if (state_read(st, STATE_EVENTS, &text, &len, &error) && text && len > EVENTS_KEEP) {
		const char *from = strchr(text + len - EVENTS_KEEP, '\n');

		if (from && !state_write(st, STATE_EVENTS, from + 1, len - (size_t)(from + 1 - text), &error))
			fprintf(stderr, "tlswall: warning: %s\n", error);
	}
	free(text);
	free(error);
}

void state_event(struct state *st, const char *fmt, ...)
{
	char when[64];
	time_t now = time(NULL);
	struct stat sb;
	struct tm tm;
	va_list ap;
	char *msg;
	int fd;

	va_start(ap, fmt);
	msg = x_vasprintf(fmt, ap);
	va_end(ap);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S%z", localtime_r(&now, &tm));
	fd = openat(st->dirfd, STATE_EVENTS, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dprintf(fd, "%s %s\n", when, msg);
		if (fstat(fd, &sb) == 0 && sb.st_size > EVENTS_MAX) {
			close(fd);
			fd = -1;
			trim_events(st);
		}
		if (fd >= 0)
			close(fd);
	}
	free(msg);
}

bool state_link(struct state *st, const char *from, const char *to, char **error)
{
	char *tmp = x_asprintf("%s.tmp", to);
	bool ok;

	unlinkat(st->dirfd, tmp, 0);
	ok = linkat(st->dirfd, from, st->dirfd, tmp, 0) == 0 && renameat(st->dirfd, tmp, st->dirfd, to) == 0;
	/* renaming onto a name for the same file succeeds and does nothing: the temporary name would stay */
	unlinkat(st->dirfd, tmp, 0);
	if (!ok) {
		*error = x_asprintf("cannot link %s/%s to %s: %s", st->dir, from, to, strerror(errno));
		unlinkat(st->dirfd, tmp, 0);
	} else {
		st->unsynced = true;
	}
	free(tmp);
	return ok;
}
