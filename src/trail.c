/* strptime */
#define _XOPEN_SOURCE 700

#include <arpa/inet.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "tlswall/diag.h"
#include "tlswall/session.h"
#include "tlswall/ssh_session.h"
#include "tlswall/state.h"
#include "tlswall/trail.h"
#include "tlswall/util.h"

/* A reason made of many errors stops here: syslog daemons cut long lines (rsyslog at 8 KiB), and the first errors
 * say enough. */
#define REASON_MAX 1500

struct trail {
	struct sbuf line;
};

struct trail *trail_alloc(const char *event, const char *via)
{
	struct trail *t = x_calloc(1, sizeof(*t));

	sbuf_puts(&t->line, event);
	trail_add(t, "via", "%s", via);
	return t;
}

void trail_free(struct trail *t)
{
	if (!t)
		return;
	sbuf_release(&t->line);
	free(t);
}

static bool plain(const char *v)
{
	if (!*v)
		return false;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      strchr("._/:@+,%-", *p)))
			return false;
	return true;
}

/* Quoted, with \" and \\, and whatever is not printable escaped as status prints it (\t, \xff): a value from a
 * file or the kernel can hold anything, and one line must stay one line. */
static void put_value(struct sbuf *sb, const char *v)
{
	const char *run = v;

	if (plain(v)) {
		sbuf_puts(sb, v);
		return;
	}
	sbuf_putc(sb, '"');
	for (const char *p = v;; p++) {
		if (*p && *p != '"' && *p != '\\')
			continue;
		sbuf_put_printable(sb, run, (size_t)(p - run));
		if (!*p)
			break;
		sbuf_putc(sb, '\\');
		sbuf_putc(sb, *p);
		run = p + 1;
	}
	sbuf_putc(sb, '"');
}

void trail_add(struct trail *t, const char *key, const char *fmt, ...)
{
	va_list ap;
	char *v;

	va_start(ap, fmt);
	v = x_vasprintf(fmt, ap);
	va_end(ap);
	if (*v) {
		sbuf_addf(&t->line, " %s=", key);
		put_value(&t->line, v);
	}
	free(v);
}

const char *trail_text(const struct trail *t)
{
	return t->line.buf;
}

void trail_add_path(struct trail *t, const char *key, const char *path)
{
	char *abs = absolute_path_dup(path);

	trail_add(t, key, "%s", abs);
	free(abs);
}

void trail_add_commit(struct trail *t, const struct session *s)
{
	if (s->table)
		trail_add(t, "table", "%s", s->table);
	if (s->sent.genid)
		trail_add(t, "generation", "%u", s->sent.genid);
	trail_add(t, "sha256", "%s", s->sent.sha256[0] ? s->sent.sha256 : "none");
	if (s->sent.change)
		trail_add(t, "change", "%s", s->sent.change);
}

void trail_add_errors(struct trail *t, struct diag_list *diags, size_t from)
{
	struct sbuf sb = { 0 };

	for (size_t i = 0; i < diag_count(diags) && sb.len < REASON_MAX; i++) {
		const struct diag *d = diag_at(diags, i);

		if (d->seq < from || d->severity != DIAG_ERROR)
			continue;
		if (sb.len)
			sbuf_puts(&sb, "; ");
		if (d->file && d->line)
			sbuf_addf(&sb, "%s:%u: ", d->file, d->line);
		else if (d->file)
			sbuf_addf(&sb, "%s: ", d->file);
		sbuf_puts(&sb, d->message);
	}
	if (sb.len > REASON_MAX) {
		sb.len = REASON_MAX;
		/* not in the middle of a UTF-8 sequence */
		while (sb.len && ((unsigned char)sb.buf[sb.len] & 0xc0) == 0x80)
			sb.len--;
		sbuf_puts(&sb, "...");
	}
	if (sb.len)
		trail_add(t, "reason", "%s", sb.buf);
	sbuf_release(&sb);
}

static void put_user(struct sbuf *sb, const char *key, uid_t uid)
{
	struct passwd *pw = getpwuid(uid);

	sbuf_addf(sb, "%s%s=%u", sb->len ? " " : "", key, (unsigned)uid);
	if (pw && pw->pw_name)
		sbuf_addf(sb, "(%s)", pw->pw_name);
}

/* Who: the real uid; the login uid the kernel keeps for the login session (pam_loginuid), which sudo and su do not
 * change; sudo's SUDO_USER; the client of the SSH session (SSH_CONNECTION). */
static void add_by(struct trail *t)
{
	const char *sudo = getenv("SUDO_USER"), *why;
	struct sbuf sb = { 0 };
	struct ssh_session ssh;
	char buf[64];
	FILE *f;

	put_user(&sb, "uid", getuid());
	f = fopen("/proc/self/loginuid", "re");
	if (f) {
		unsigned long login;

		/* 4294967295: no login session (a daemon, boot) */
		if (fgets(buf, sizeof(buf), f) && sscanf(buf, "%lu", &login) == 1 && login != 4294967295UL)
			put_user(&sb, "login", (uid_t)login);
		fclose(f);
	}
	if (sudo && *sudo)
		sbuf_addf(&sb, " sudo=%s", sudo);
	switch (ssh_session_parse(getenv("SSH_CONNECTION"), &ssh, &why)) {
	case SSH_SESSION_FOUND:
		inet_ntop(ssh.family == 4 ? AF_INET : AF_INET6, ssh.client, buf, sizeof(buf));
		sbuf_addf(&sb, " ssh=%s%s%s", buf, ssh.iface[0] ? "%" : "", ssh.iface);
		break;
	case SSH_SESSION_MALFORMED:
		sbuf_puts(&sb, " ssh=?");
		break;
	case SSH_SESSION_NONE:
		break;
	}
	trail_add(t, "by", "%s", sb.buf);
	sbuf_release(&sb);
}

void trail_send(struct trail *t, struct state *st, enum trail_level level)
{
	static const int priority[] = { LOG_NOTICE, LOG_WARNING, LOG_ERR };

	add_by(t);
	if (st)
		state_event(st, "%s", t->line.buf);
	openlog("tlswall", LOG_PID, LOG_DAEMON);
	syslog(priority[level], "%s", t->line.buf);
	closelog();
	trail_free(t);
}

/* "2026-11-27T14:02:11+0100" as state_event writes it */
static int64_t stamp_time(const char *s)
{
	struct tm tm;
	const char *end;
	long offset;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S%z", &tm);
	if (!end || *end != ' ')
		return 0;
	offset = tm.tm_gmtoff; /* timegm() sets it to 0 */
	return (int64_t)timegm(&tm) - offset;
}

bool trail_read(struct state *st, size_t last, struct trail_line **out, size_t *n, char **error)
{
	char *text;
	size_t len, lines = 0, i = 0;
	const char *p;

	*out = NULL;
	*n = 0;
	if (!state_read(st, STATE_EVENTS, &text, &len, error))
		return false;
	if (!text)
		return true;
	/* lines that are not empty */
	for (p = text; *p; p++)
		lines += *p != '\n' && (p[1] == '\n' || !p[1]);
	*out = x_calloc(lines ? lines : 1, sizeof(**out));
	for (p = text; *p;) {
		const char *nl = strchr(p, '\n'), *end = nl ? nl : p + strlen(p);
		const char *ev, *ev_end;

		if (end > p && (!last || i++ + last >= lines)) {
			struct trail_line *l = &(*out)[(*n)++];

			l->text = x_strndup(p, (size_t)(end - p));
			l->time = stamp_time(l->text);
			ev = strchr(l->text, ' ');
			ev = ev ? ev + 1 : l->text + strlen(l->text);
			ev_end = ev + strcspn(ev, " ");
			l->event = x_strndup(ev, (size_t)(ev_end - ev));
		}
		p = nl ? nl + 1 : end;
	}
	free(text);
	return true;
}

void trail_lines_free(struct trail_line *lines, size_t n)
{
	for (size_t i = 0; lines && i < n; i++) {
		free(lines[i].text);
		free(lines[i].event);
	}
	free(lines);
}
