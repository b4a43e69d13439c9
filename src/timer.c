#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tlswall/pending.h"
#include "tlswall/state.h"
#include "tlswall/timer.h"
#include "tlswall/util.h"

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

