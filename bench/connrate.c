/* connrate: new TCP connections per second, for bench/measure/packet.py. Built by bench/run.sh with cc.
 *
 *   connrate serve PORT
 *       accepts connections on 0.0.0.0:PORT and closes each at once, until killed
 *   connrate connect ADDR PORT SECONDS [WORKERS [SOURCE [PAYLOAD]]]
 *       WORKERS processes (default 2) each connect to ADDR:PORT and close, one connection after another, for
 *       SECONDS; prints "connections N errors E seconds S rate R" (R = N / S, connections per second). A
 *       connection closes with an RST (SO_LINGER 0), so neither side keeps a TIME_WAIT socket and client ports are
 *       reused at once. SOURCE binds every connection to that local address ("-": none). PAYLOAD "tls" or "plain"
 *       sends one segment after the connect, before the close: the start of a TLS ClientHello record, or a
 *       plaintext HTTP request (what require_tls looks at). A connect that gets no answer gives up after 0.5 s and
 *       counts as an error, as does a send that fails.
 *   connrate alternate ADDR_A ADDR_B PORT SECONDS [WORKERS [PAYLOAD]]
 *       the same, each worker connecting to A and B in turn (the first worker starting with A, the second with B,
 *       and so on), and timing each connection: prints "a connections N errors E seconds S rate R" and the same
 *       line for b, S being the time the workers spent on that address's connections (summed, divided by WORKERS)
 *       and R = N / S. Whatever slows the machine down for a while slows both alike, which runs one after the
 *       other cannot promise: the two rates compare what differs between A and B, connection by connection.
 *
 * Bounded: the client stops by itself after SECONDS (at most 60); the server runs until its parent kills it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int serve(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 4096) != 0) {
		perror("connrate serve");
		return 1;
	}
	printf("listening on port %d\n", port);
	fflush(stdout);
	for (;;) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

		if (c >= 0)
			close(c);
		else if (errno != EINTR && errno != ECONNABORTED && errno != EMFILE && errno != ENFILE)
			perror("accept");
	}
}

/* the start of a ClientHello record (content type 22, version 3.1, then the handshake header), and a plaintext
 * request: one small segment each */
static const char tls_record[] = "\x16\x03\x01\x00\x2a\x01\x00\x00\x26\x03\x03";
static const char plain_request[] = "GET / HTTP/1.0\r\n\r\n";

static const struct timeval connect_timeout = { 0, 500000 };

/* One connection to dst (from src, if given): connect, send the payload if any, close. True when all of it worked. */
static bool connect_once(const struct sockaddr_in *dst, const struct sockaddr_in *src, const char *payload, size_t len)
{
	struct linger lg = { 1, 0 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &connect_timeout, sizeof(connect_timeout));
	ok = (!src || bind(fd, (const struct sockaddr *)src, sizeof(*src)) == 0) &&
	     connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) == 0 &&
	     (!payload || send(fd, payload, len, MSG_NOSIGNAL) == (ssize_t)len);
	close(fd);
	return ok;
}

static void send_and_exit(int out, const void *v, size_t size)
{
	if (write(out, v, size) != (ssize_t)size)
		_exit(1);
	_exit(0);
}

static void worker(const struct sockaddr_in *dst, const struct sockaddr_in *src, const char *payload, size_t len,
		   double until, int out)
{
	unsigned long long v[2] = { 0, 0 }; /* connections, errors */

	while (now() < until)
		v[connect_once(dst, src, payload, len) ? 0 : 1]++;
	send_and_exit(out, v, sizeof(v));
}

/* per address: connections, errors, seconds spent on them */
struct tally {
	double n[2], errors[2], seconds[2];
};

static void alternating_worker(const struct sockaddr_in dst[2], int first, const char *payload, size_t len,
			       double until, int out)
{
	struct tally t = { { 0, 0 }, { 0, 0 }, { 0, 0 } };
	double t0 = now();

	for (int k = first; t0 < until; k ^= 1) {
		bool ok = connect_once(&dst[k], NULL, payload, len);
		double t1 = now();

		if (ok)
			t.n[k]++;
		else
			t.errors[k]++;
		t.seconds[k] += t1 - t0;
		t0 = t1;
	}
	send_and_exit(out, &t, sizeof(t));
}

/* PAYLOAD's bytes: "tls", "plain", or none (NULL) */
static bool payload_bytes(const char *send_what, const char **payload, size_t *len)
{
	*payload = NULL;
	*len = 0;
	if (send_what && strcmp(send_what, "tls") == 0) {
		*payload = tls_record;
		*len = sizeof(tls_record) - 1;
	} else if (send_what && strcmp(send_what, "plain") == 0) {
		*payload = plain_request;
		*len = sizeof(plain_request) - 1;
	} else if (send_what) {
		fprintf(stderr, "connrate: PAYLOAD is tls or plain\n");
		return false;
	}
	return true;
}

static bool bounds_ok(double seconds, int workers)
{
	if (seconds <= 0 || seconds > 60 || workers < 1 || workers > 64) {
		fprintf(stderr, "connrate: SECONDS is 0-60, WORKERS 1-64\n");
		return false;
	}
	return true;
}

/* WORKERS children, each run(i, pipe's write end); returns the pipe's read end, or -1 */
static int start_workers(int workers, void (*run)(int i, int out, void *arg), void *arg)
{
	int p[2];

	if (pipe(p) != 0) {
		perror("pipe");
		return -1;
	}
	for (int i = 0; i < workers; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			return -1;
		}
		if (pid == 0) {
			close(p[0]);
			run(i, p[1], arg);
		}
	}
	close(p[1]);
	return p[0];
}

struct plain_job {
	const struct sockaddr_in *dst, *src;
	const char *payload;
	size_t len;
	double until;
};

static void run_plain(int i, int out, void *arg)
{
	const struct plain_job *j = arg;

	(void)i;
	worker(j->dst, j->src, j->payload, j->len, j->until, out);
}

struct alternate_job {
	struct sockaddr_in dst[2];
	const char *payload;
	size_t len;
	double until;
};

static void run_alternating(int i, int out, void *arg)
{
	const struct alternate_job *j = arg;

	alternating_worker(j->dst, i & 1, j->payload, j->len, j->until, out);
}

static int alternate(const char *addr_a, const char *addr_b, int port, double seconds, int workers,
		     const char *send_what)
{
	struct alternate_job j = { .dst = { { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) },
					    { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) } } };
	struct tally sum = { { 0, 0 }, { 0, 0 }, { 0, 0 } };
	int in;

	if (!payload_bytes(send_what, &j.payload, &j.len) || !bounds_ok(seconds, workers))
		return 2;
	if (inet_pton(AF_INET, addr_a, &j.dst[0].sin_addr) != 1 || inet_pton(AF_INET, addr_b, &j.dst[1].sin_addr) != 1) {
		fprintf(stderr, "connrate: not an IPv4 address\n");
		return 2;
	}
	j.until = now() + seconds;
	in = start_workers(workers, run_alternating, &j);
	if (in < 0)
		return 1;
	for (int i = 0; i < workers; i++) {
		struct tally t;

		if (read(in, &t, sizeof(t)) != (ssize_t)sizeof(t))
			continue;
		for (int k = 0; k < 2; k++) {
			sum.n[k] += t.n[k];
			sum.errors[k] += t.errors[k];
			sum.seconds[k] += t.seconds[k];
		}
	}
	while (wait(NULL) > 0)
		;
	for (int k = 0; k < 2; k++) {
		double s = sum.seconds[k] / workers;

		printf("%c connections %.0f errors %.0f seconds %.3f rate %.1f\n", "ab"[k], sum.n[k], sum.errors[k], s,
		       s > 0 ? sum.n[k] / s : 0.0);
	}
	return 0;
}

static int client(const char *addr, int port, double seconds, int workers, const char *source, const char *send_what)
{
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct plain_job j = { .dst = &dst };
	unsigned long long ok = 0, bad = 0;
	double t0;
	int in;

	if (source && strcmp(source, "-") == 0)
		source = NULL;
	if (!payload_bytes(send_what, &j.payload, &j.len) || !bounds_ok(seconds, workers))
		return 2;
	if (inet_pton(AF_INET, addr, &dst.sin_addr) != 1 || (source && inet_pton(AF_INET, source, &src.sin_addr) != 1)) {
		fprintf(stderr, "connrate: not an IPv4 address\n");
		return 2;
	}
	j.src = source ? &src : NULL;
	t0 = now();
	j.until = t0 + seconds;
	in = start_workers(workers, run_plain, &j);
	if (in < 0)
		return 1;
	for (int i = 0; i < workers; i++) {
		unsigned long long v[2];

		if (read(in, v, sizeof(v)) == (ssize_t)sizeof(v)) {
			ok += v[0];
			bad += v[1];
		}
	}
	while (wait(NULL) > 0)
		;
	double t = now() - t0;
	printf("connections %llu errors %llu seconds %.3f rate %.1f\n", ok, bad, t, (double)ok / t);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "serve") == 0)
		return serve(atoi(argv[2]));
	if (argc >= 5 && argc <= 8 && strcmp(argv[1], "connect") == 0)
		return client(argv[2], atoi(argv[3]), atof(argv[4]), argc > 5 ? atoi(argv[5]) : 2,
			      argc > 6 ? argv[6] : NULL, argc > 7 ? argv[7] : NULL);
	if (argc >= 6 && argc <= 8 && strcmp(argv[1], "alternate") == 0)
		return alternate(argv[2], argv[3], atoi(argv[4]), atof(argv[5]), argc > 6 ? atoi(argv[6]) : 2,
				 argc > 7 ? argv[7] : NULL);
	fprintf(stderr, "usage: connrate serve PORT | connrate connect ADDR PORT SECONDS [WORKERS [SOURCE [tls|plain]]]"
			" | connrate alternate ADDR_A ADDR_B PORT SECONDS [WORKERS [tls|plain]]\n");
	return 2;
}
