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
 *
 * Bounded: the client stops by itself after SECONDS (at most 60); the server runs until its parent kills it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
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

static void worker(const struct sockaddr_in *dst, const struct sockaddr_in *src, const char *payload, size_t len,
		   double until, int out)
{
	unsigned long long ok = 0, bad = 0;
	struct linger lg = { 1, 0 };
	struct timeval tmo = { 0, 500000 };

	while (now() < until) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0) {
			bad++;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
		if (src && bind(fd, (const struct sockaddr *)src, sizeof(*src)) != 0)
			bad++;
		else if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) != 0)
			bad++;
		else if (payload && send(fd, payload, len, MSG_NOSIGNAL) != (ssize_t)len)
			bad++;
		else
			ok++;
		close(fd);
	}
	unsigned long long v[2] = { ok, bad };
	if (write(out, v, sizeof(v)) != (ssize_t)sizeof(v))
		_exit(1);
	_exit(0);
}

static int client(const char *addr, int port, double seconds, int workers, const char *source, const char *send_what)
{
	const char *payload = NULL;
	size_t len = 0;

	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	struct sockaddr_in src = { .sin_family = AF_INET };
	unsigned long long ok = 0, bad = 0;
	int p[2];
	double t0, until;

	if (source && strcmp(source, "-") == 0)
		source = NULL;
	if (send_what && strcmp(send_what, "tls") == 0) {
		payload = tls_record;
		len = sizeof(tls_record) - 1;
	} else if (send_what && strcmp(send_what, "plain") == 0) {
		payload = plain_request;
		len = sizeof(plain_request) - 1;
	} else if (send_what) {
		fprintf(stderr, "connrate: PAYLOAD is tls or plain\n");
		return 2;
	}
	if (inet_pton(AF_INET, addr, &dst.sin_addr) != 1 || (source && inet_pton(AF_INET, source, &src.sin_addr) != 1)) {
		fprintf(stderr, "connrate: not an IPv4 address\n");
		return 2;
	}
	if (seconds <= 0 || seconds > 60 || workers < 1 || workers > 64) {
		fprintf(stderr, "connrate: SECONDS is 0-60, WORKERS 1-64\n");
		return 2;
	}
	if (pipe(p) != 0) {
		perror("pipe");
		return 1;
	}
	t0 = now();
	until = t0 + seconds;
	for (int i = 0; i < workers; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			close(p[0]);
			worker(&dst, source ? &src : NULL, payload, len, until, p[1]);
		}
	}
	close(p[1]);
	for (int i = 0; i < workers; i++) {
		unsigned long long v[2];

		if (read(p[0], v, sizeof(v)) == (ssize_t)sizeof(v)) {
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
	fprintf(stderr, "usage: connrate serve PORT | connrate connect ADDR PORT SECONDS [WORKERS [SOURCE [tls|plain]]]\n");
	return 2;
}
