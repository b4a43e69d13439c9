#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tlswall/audit.h"
#include "tlswall/probe.h"
#include "tlswall/quic.h"
#include "tlswall/starttls.h"
#include "tlswall/tls_probe.h"
#include "tlswall/util.h"

enum role {
	ROLE_MAIN,   /* the handshake (after the dialogue, for STARTTLS) */
	ROLE_TLS10,  /* the same, offering only TLS 1.0 */
	ROLE_TLS11,  /* and only TLS 1.1 */
	ROLE_PLAIN,  /* waits for a banner, then sends an HTTP request: does a plaintext server answer? */
	ROLE_LOGIN,  /* FTP: is USER refused before AUTH TLS? */
	ROLE_QUIC,
};

/* The plaintext probe's wait for a banner before it speaks HTTP. */
#define BANNER_WAIT_MS 500
/* What a plaintext look keeps of the answer. */
#define ANSWER_MAX 512

struct conn {
	struct audit_row *row;
	enum role role;
	int fd;
	bool started, connecting, finished;
	int64_t start, deadline, banner_until;
	struct sbuf out;
	size_t sent;
	struct sbuf in;          /* plaintext received and not consumed yet */
	bool in_dialogue;
	struct dialogue dlg;
	struct tls_session *tls;
	char seen[ANSWER_MAX];   /* the first bytes received once TLS started: a plaintext answer shows here */
	size_t nseen;
	uint8_t scid[8];
	struct conn *plain;      /* ROLE_MAIN of a TLS port: the plaintext look, needless once the handshake is done */
};

struct run {
	const struct probe_options *opt;
	bool have_source6;
	struct in6_addr source6; /* a non-loopback address of this host, to probe ::1 from */
	struct tls_client *client;
	struct conn *conns;
	size_t n, next, active, done;
	int64_t hard_deadline;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define MAX_ROLES 4

static size_t roles_of(const struct audit_row *r, enum role roles[MAX_ROLES])
{
	switch (r->kind) {
	case PROBE_TLS:
		roles[0] = ROLE_MAIN;
		roles[1] = ROLE_TLS10;
		roles[2] = ROLE_TLS11;
		roles[3] = ROLE_PLAIN;
		return 4;
	case PROBE_STARTTLS:
		roles[0] = ROLE_MAIN;
		roles[1] = ROLE_TLS10;
		roles[2] = ROLE_TLS11;
		if (!dialogue_needs_login_check(r->dialogue))
			return 3;
		roles[3] = ROLE_LOGIN;
		return 4;
	case PROBE_QUIC:
		roles[0] = ROLE_QUIC;
		return 1;
	case PROBE_NONE:
		break;
	}
	return 0;
}

size_t probe_connections(const struct audit *a)
{
	enum role roles[MAX_ROLES];
	size_t n = 0;

	for (size_t i = 0; i < a->nrows; i++)
		n += roles_of(&a->rows[i], roles);
	return n;
}

unsigned long probe_bound_ms(size_t connections, unsigned timeout_ms)
{
	size_t waves = (connections + PROBE_PARALLEL - 1) / PROBE_PARALLEL;

	return (unsigned long)waves * timeout_ms;
}

/* A TLS record starts with a content type 20-23 and major version 3; text is mostly printable. */
static bool looks_text(const char *p, size_t n)
{
	size_t printable = 0, m = n < 64 ? n : 64;

	if (n == 0 || (n >= 2 && p[0] >= 0x14 && p[0] <= 0x17 && p[1] == 3))
		return false;
	for (size_t i = 0; i < m; i++)
		printable += isprint((unsigned char)p[i]) || p[i] == '\r' || p[i] == '\n' || p[i] == '\t';
	return printable * 10 >= m * 9;
}

/* The first line, printable and short, for a report. */
static char *first_line(const char *p, size_t n)
{
	struct sbuf sb = { 0 };

	for (size_t i = 0; i < n && i < 120 && p[i] != '\r' && p[i] != '\n'; i++)
		sbuf_putc(&sb, isprint((unsigned char)p[i]) ? p[i] : '.');
	return sbuf_detach(&sb);
}

static void finish(struct run *run, struct conn *c, enum probe_status status, const char *detail)
{
	struct probe_result *pr = &c->row->probe;
	unsigned elapsed = (unsigned)(now_ms() - c->start);

	if (c->finished)
		return;
	c->finished = true;
	if (elapsed > pr->elapsed_ms)
		pr->elapsed_ms = elapsed;
	switch (c->role) {
	case ROLE_MAIN:
		pr->status = status;
		free(pr->detail);
		pr->detail = detail && *detail ? x_strdup(detail) : NULL;
		if (status == PS_OK && c->tls) {
			tls_session_info(c->tls, run->opt->name, &pr->tls);
			pr->have_tls = true;
		}
		if (c->row->kind == PROBE_STARTTLS) {
			pr->upgraded = c->tls != NULL;
			pr->offered = c->dlg.offered || pr->upgraded;
			if (!pr->login) {
				pr->login = c->dlg.login;
				c->dlg.login = NULL;
			}
		}
		if (status != PS_OK && c->nseen) {
			pr->answer = first_line(c->seen, c->nseen);
			pr->answer_text = looks_text(c->seen, c->nseen);
		}
		break;
	case ROLE_TLS10:
		pr->legacy_1_0 = status == PS_OK;
		break;
	case ROLE_TLS11:
		pr->legacy_1_1 = status == PS_OK;
		break;
	case ROLE_LOGIN:
		if (status == PS_OK && !pr->login) {
			pr->login = c->dlg.login;
			c->dlg.login = NULL;
		}
		break;
	case ROLE_PLAIN:
		pr->plain_status = status;
		if (c->in.len) {
			pr->plain_answer = first_line(c->in.buf, c->in.len);
			pr->plain_text = looks_text(c->in.buf, c->in.len);
		}
		break;
	case ROLE_QUIC:
		pr->status = status;
		free(pr->detail);
		pr->detail = detail && *detail ? x_strdup(detail) : NULL;
		break;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->plain && status == PS_OK)
		finish(run, c->plain, PS_NOT_RUN, NULL);
	tls_session_free(c->tls);
	c->tls = NULL;
	dialogue_release(&c->dlg);
	sbuf_release(&c->in);
	sbuf_release(&c->out);
	if (c->started)
		run->active--;
	run->done++;
}

static void tls_advance(struct run *run, struct conn *c)
{
	switch (tls_session_step(c->tls, &c->out)) {
	case TLS_MORE:
		break;
	case TLS_DONE:
		finish(run, c, PS_OK, NULL);
		break;
	case TLS_FAILED:
		finish(run, c, PS_FAILED, tls_session_error(c->tls));
		break;
	}
}

static void tls_start(struct run *run, struct conn *c)
{
	c->tls = tls_session_new(run->client,
				 c->role == ROLE_TLS10 ? TLS_OFFER_1_0 : c->role == ROLE_TLS11 ? TLS_OFFER_1_1 : TLS_OFFER_CURRENT,
				 run->opt->name);
	/* bytes that came with the upgrade's answer belong to TLS */
	if (c->in.len) {
		tls_session_input(c->tls, c->in.buf, c->in.len);
		c->in.len = 0;
	}
	tls_advance(run, c);
}

static void connected(struct run *run, struct conn *c)
{
	c->connecting = false;
	if (c->role == ROLE_PLAIN) {
		unsigned wait = run->opt->timeout_ms / 4;

		c->banner_until = now_ms() + (wait < BANNER_WAIT_MS ? wait : BANNER_WAIT_MS);
	} else if (c->row->kind == PROBE_STARTTLS) {
		c->in_dialogue = true;
		dialogue_begin(&c->dlg, c->row->dialogue, run->opt->name, c->role == ROLE_LOGIN, &c->out);
	} else {
		tls_start(run, c);
	}
}

static void dialogue_advance(struct run *run, struct conn *c)
{
	for (;;) {
		size_t used = 0;
		enum dialogue_result r = dialogue_input(&c->dlg, c->in.buf, c->in.len, &used, &c->out);

		memmove(c->in.buf, c->in.buf + used, c->in.len - used);
		c->in.len -= used;
		switch (r) {
		case DLG_MORE:
			return;
		case DLG_UPGRADE:
			c->in_dialogue = false;
			tls_start(run, c);
			return;
		case DLG_NOT_OFFERED:
			finish(run, c, PS_NOT_OFFERED, c->dlg.detail);
			return;
		case DLG_REFUSED:
			finish(run, c, PS_UPGRADE_REFUSED, c->dlg.detail);
			return;
		case DLG_UNEXPECTED:
			finish(run, c, PS_UNEXPECTED, c->dlg.detail);
			return;
		case DLG_DONE:
			finish(run, c, PS_OK, NULL);
			return;
		}
	}
}

static void quic_input(struct run *run, struct conn *c, const uint8_t *buf, size_t n)
{
	struct probe_result *pr = &c->row->probe;
	uint32_t *versions;
	size_t nv;

	switch (quic_parse(buf, n, c->scid, &versions, &nv)) {
	case QUIC_NOT_QUIC:
		return; /* not an answer to this probe: keep waiting */
	case QUIC_VERSION_NEGOTIATION:
		free(pr->quic_versions);
		pr->quic_versions = versions;
		pr->nquic_versions = nv;
		finish(run, c, PS_OK, "Version Negotiation");
		return;
	case QUIC_INITIAL_BACK:
		pr->quic_initial = true;
		finish(run, c, PS_OK, "Initial");
		return;
	}
}

static void closed(struct run *run, struct conn *c)
{
	if (c->role == ROLE_PLAIN) {
		finish(run, c, c->in.len ? PS_OK : PS_CLOSED, NULL);
	} else if (c->tls) {
		tls_session_input(c->tls, NULL, 0);
		if (tls_session_step(c->tls, &c->out) == TLS_DONE)
			finish(run, c, PS_OK, NULL);
		else
			finish(run, c, PS_CLOSED, "the server closed the connection during the handshake");
	} else {
		char *text = c->in.len ? first_line(c->in.buf, c->in.len) : NULL;
		char *why = text ? x_asprintf("the server closed the connection after \"%s\"", text) :
				   x_strdup("the server closed the connection");

		finish(run, c, PS_CLOSED, why);
		free(why);
		free(text);
	}
}

static void readable(struct run *run, struct conn *c)
{
	char buf[16384];
	ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		if (errno == ECONNREFUSED)
			finish(run, c, PS_REFUSED, strerror(errno));
		else if (c->role == ROLE_PLAIN && c->in.len)
			finish(run, c, PS_OK, NULL);
		else
			finish(run, c, PS_CLOSED, strerror(errno));
		return;
	}
	if (c->role == ROLE_QUIC) {
		quic_input(run, c, (const uint8_t *)buf, (size_t)n);
		return;
	}
	if (n == 0) {
		closed(run, c);
		return;
	}
	if (c->role == ROLE_PLAIN) {
		size_t room = ANSWER_MAX - c->in.len;

		sbuf_add(&c->in, buf, (size_t)n < room ? (size_t)n : room);
		if (c->in.len >= ANSWER_MAX || memchr(c->in.buf, '\n', c->in.len))
			finish(run, c, PS_OK, NULL);
		return;
	}
	if (c->in_dialogue) {
		sbuf_add(&c->in, buf, (size_t)n);
		dialogue_advance(run, c);
		return;
	}
	if (c->nseen < sizeof(c->seen)) {
		size_t k = sizeof(c->seen) - c->nseen < (size_t)n ? sizeof(c->seen) - c->nseen : (size_t)n;

		memcpy(c->seen + c->nseen, buf, k);
		c->nseen += k;
	}
	if (c->tls) {
		tls_session_input(c->tls, buf, (size_t)n);
		tls_advance(run, c);
	}
}

static void writable(struct run *run, struct conn *c)
{
	if (c->connecting) {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			finish(run, c, PS_REFUSED, strerror(err));
			return;
		}
		connected(run, c);
		if (c->finished)
			return;
	}
	while (c->sent < c->out.len) {
		ssize_t n = send(c->fd, c->out.buf + c->sent, c->out.len - c->sent, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				finish(run, c, PS_CLOSED, strerror(errno));
			return;
		}
		c->sent += (size_t)n;
	}
	c->out.len = c->sent = 0;
}

/* Many servers take a client whose address is the server's own as a secure, local one (Dovecot, for one, then
 * offers plaintext logins that it refuses everyone else): so the probe never connects from the address it connects
 * to. IPv4 has all of 127.0.0.0/8 on loopback; IPv6 has only ::1, so a probe of ::1 comes from another address of
 * this host (when there is one) and a probe of any other address comes from ::1. */
static void find_source6(struct run *run)
{
	struct ifaddrs *ifs, *i;

	if (getifaddrs(&ifs) != 0)
		return;
	for (i = ifs; i && !run->have_source6; i = i->ifa_next) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)i->ifa_addr;

		if (!a || a->sin6_family != AF_INET6 || IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) ||
		    IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr) || IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
			continue;
		run->source6 = a->sin6_addr;
		run->have_source6 = true;
	}
	freeifaddrs(ifs);
}

static void bind_source(const struct run *run, const struct conn *c)
{
	const struct audit_row *r = c->row;

	/* a UDP server answers from the address it chooses, and a connected socket takes replies from the target only;
	 * a published port's new destination is a container or VM, which no loopback address can reach */
	if (c->role == ROLE_QUIC || r->published)
		return;

	if (r->target_family == 4) {
		struct sockaddr_in sin = { .sin_family = AF_INET };

		sin.sin_addr.s_addr = htonl(r->target[0] == 127 && r->target[3] == 2 ? 0x7f000003 : 0x7f000002);
		bind(c->fd, (struct sockaddr *)&sin, sizeof(sin));
	} else {
		struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };

		if (!IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)r->target))
			sin6.sin6_addr = in6addr_loopback;
		else if (run->have_source6)
			sin6.sin6_addr = run->source6;
		else
			return; /* nothing else to come from */
		bind(c->fd, (struct sockaddr *)&sin6, sizeof(sin6));
	}
}

static void start(struct run *run, struct conn *c)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int type = c->role == ROLE_QUIC ? SOCK_DGRAM : SOCK_STREAM;
	const struct audit_row *r = c->row;

	run->active++;
	c->started = true;
	c->start = now_ms();
	c->deadline = c->start + run->opt->timeout_ms;
	c->fd = socket(r->target_family == 4 ? AF_INET : AF_INET6, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		finish(run, c, PS_REFUSED, strerror(errno));
		return;
	}
	/* best effort: without it the probe still runs, from the address the kernel picks */
	bind_source(run, c);
	if (r->target_family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(r->target_port);
		memcpy(&sin->sin_addr, r->target, 4);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(r->target_port);
		memcpy(&sin6->sin6_addr, r->target, 16);
		len = sizeof(*sin6);
	}
	if (connect(c->fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS) {
		finish(run, c, PS_REFUSED, strerror(errno));
		return;
	}
	if (c->role == ROLE_QUIC) {
		uint8_t dcid[8], pkt[QUIC_INITIAL_SIZE];

		/* identifiers need not be secret, only unlikely to repeat */
		if (getentropy(dcid, sizeof(dcid)) != 0 || getentropy(c->scid, sizeof(c->scid)) != 0) {
			uint64_t t = (uint64_t)c->start ^ (uint64_t)(uintptr_t)c;

			memcpy(dcid, &t, 8);
			memcpy(c->scid, &t, 8);
			c->scid[0] ^= 0xff;
		}
		quic_initial(pkt, dcid, c->scid);
		if (send(c->fd, pkt, sizeof(pkt), 0) < 0)
			finish(run, c, PS_REFUSED, strerror(errno));
		return;
	}
	c->connecting = true;
}

/* Where a connection was when its time ran out. */
static const char *timeout_detail(const struct conn *c)
{
	if (c->connecting)
		return "the connection was not accepted";
	if (c->in_dialogue)
		return c->dlg.step == 0 && c->in.len == 0 ? "no greeting" : "no answer in the dialogue";
	if (c->tls)
		return c->nseen ? "the handshake did not complete" : "no answer to the TLS ClientHello";
	return NULL;
}

static void progress(const struct run *run, bool last)
{
	if (!run->opt->progress)
		return;
	if (last)
		fputs("\r\033[K", stdout);
	else
		printf("\rtlswall: probing: %zu of %zu connections done", run->done, run->n);
	fflush(stdout);
}

static void build(struct run *run, struct audit *a)
{
	run->n = probe_connections(a);
	run->conns = x_calloc(run->n ? run->n : 1, sizeof(*run->conns));
	for (size_t i = 0, k = 0; i < a->nrows; i++) {
		enum role roles[MAX_ROLES];
		size_t nr = roles_of(&a->rows[i], roles);

		for (size_t j = 0; j < nr; j++, k++) {
			run->conns[k].row = &a->rows[i];
			run->conns[k].role = roles[j];
			run->conns[k].fd = -1;
			if (roles[j] == ROLE_PLAIN)
				run->conns[k - j].plain = &run->conns[k];
		}
		a->rows[i].probe.status = PS_NOT_RUN;
		a->rows[i].probe.plain_status = PS_NOT_RUN;
	}
}

bool probe_all(struct audit *a, const struct probe_options *o)
{
	struct run run = { .opt = o };
	struct pollfd *pfd;
	size_t *who;

	build(&run, a);
	a->probed = true;
	if (!run.n) {
		free(run.conns);
		return true;
	}
	find_source6(&run);
	run.client = tls_client_new();
	if (!run.client) {
		free(run.conns);
		return false;
	}
	/* each connection has its own timeout; this only guards the documented bound against a bug in the loop */
	run.hard_deadline = now_ms() + (int64_t)probe_bound_ms(run.n, o->timeout_ms) + PROBE_SLACK_MS / 2;
	pfd = x_calloc(PROBE_PARALLEL, sizeof(*pfd));
	who = x_calloc(PROBE_PARALLEL, sizeof(*who));
	progress(&run, false);
	while (run.done < run.n) {
		int64_t now, wake;
		size_t np = 0, before = run.done;
		int ready;

		now = now_ms();
		if (now >= run.hard_deadline)
			break;
		while (run.active < PROBE_PARALLEL && run.next < run.n)
			start(&run, &run.conns[run.next++]);
		wake = run.hard_deadline;
		for (size_t i = 0; i < run.next; i++) {
			struct conn *c = &run.conns[i];

			if (c->finished)
				continue;
			if (now >= c->deadline || now >= run.hard_deadline) {
				finish(&run, c, PS_TIMEOUT, timeout_detail(c));
				continue;
			}
			if (c->role == ROLE_PLAIN && !c->connecting && c->banner_until && now >= c->banner_until) {
				/* nothing said first: ask as a web client would */
				if (c->in.len == 0)
					sbuf_puts(&c->out, "HEAD / HTTP/1.0\r\n\r\n");
				c->banner_until = 0;
			}
			if (c->deadline < wake)
				wake = c->deadline;
			if (c->role == ROLE_PLAIN && c->banner_until && c->banner_until < wake)
				wake = c->banner_until;
			pfd[np].fd = c->fd;
			pfd[np].events = POLLIN;
			if (c->connecting || c->out.len > c->sent)
				pfd[np].events |= POLLOUT;
			pfd[np].revents = 0;
			who[np++] = i;
		}
		if (run.done != before)
			progress(&run, false);
		if (!np)
			continue;
		ready = poll(pfd, (nfds_t)np, wake > now ? (int)(wake - now) : 0);
		if (ready < 0 && errno != EINTR)
			break;
		for (size_t k = 0; ready > 0 && k < np; k++) {
			struct conn *c = &run.conns[who[k]];

			if (!pfd[k].revents || c->finished)
				continue;
			if (pfd[k].revents & (POLLOUT | POLLERR | POLLHUP) && c->connecting)
				writable(&run, c);
			if (!c->finished && pfd[k].revents & (POLLIN | POLLERR | POLLHUP))
				readable(&run, c);
			if (!c->finished && c->out.len > c->sent)
				writable(&run, c);
		}
	}
	for (size_t i = 0; i < run.n; i++)
		if (!run.conns[i].finished)
			finish(&run, &run.conns[i], PS_TIMEOUT,
			       run.conns[i].started ? timeout_detail(&run.conns[i]) : "not started: the audit's time ran out");
	progress(&run, true);
	free(pfd);
	free(who);
	free(run.conns);
	tls_client_free(run.client);
	return true;
}
