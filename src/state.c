#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tlswall/state.h"
#include "tlswall/util.h"

struct state {
	char *dir;
	int dirfd;
	int lockfd;
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
	struct state *st;
	int fd;

	*error = NULL;
	if (!dir)
		dir = getenv("TLSWALL_STATE_DIR");
	if (!dir || !*dir)
		dir = TLSWALL_STATEDIR;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		*error = x_asprintf("cannot create state directory %s: %s", dir, strerror(errno));
		return NULL;
	}
	/* O_NOFOLLOW: a symlink planted in place of the directory is refused, not followed */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		*error = x_asprintf("cannot open state directory %s: %s", dir,
				    errno == ELOOP || errno == ENOTDIR ? "it is a symbolic link or not a directory" :
									   strerror(errno));
		return NULL;
	}
	if (!check_dir(fd, dir, error)) {
		close(fd);
		return NULL;
	}
	st = x_calloc(1, sizeof(*st));
	st->dir = x_strdup(dir);
	st->dirfd = fd;
	st->lockfd = -1;
	return st;
}

void state_close(struct state *st)
{
	if (!st)
		return;
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
