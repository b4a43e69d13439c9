#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tlswall/starttls.h"
#include "tlswall/util.h"

/* A server that sends this much without the reply we wait for is not speaking the protocol. */
#define MAX_PENDING (32 * 1024)

static const char ldap_starttls[] = {
	/* LDAPMessage { messageID 1, extendedReq { requestName "1.3.6.1.4.1.1466.20037" } } (RFC 4511 4.14.1) */
	0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, (char)0x80, 0x16, '1', '.', '3', '.', '6', '.', '1', '.', '4', '.',
	'1', '.', '1', '4', '6', '6', '.', '2', '0', '0', '3', '7',
};
/* Int32 length 8, Int32 80877103: PostgreSQL's SSLRequest */
static const char pg_sslrequest[] = { 0, 0, 0, 8, 0x04, (char)0xd2, 0x16, 0x2f };

/* Ends the dialogue with r, saying why: what went wrong, and the server's words (made printable and short). */
static enum dialogue_result fail(struct dialogue *d, enum dialogue_result r, const char *what, const char *line,
				 size_t n)
{
	struct sbuf sb = { 0 };

	sbuf_puts(&sb, what);
	if (n) {
		sbuf_puts(&sb, " \"");
		for (size_t i = 0; i < n && i < 160; i++)
			sbuf_putc(&sb, isprint((unsigned char)line[i]) ? line[i] : '.');
		sbuf_putc(&sb, '"');
	}
	free(d->detail);
	d->detail = sbuf_detach(&sb);
	return r;
}

/* A word of a capability line, case-insensitively, delimited by spaces, '=' or quotes. */
static bool has_word(const char *line, size_t n, const char *word)
{
	size_t w = strlen(word);

	for (size_t i = 0; i + w <= n; i++) {
		if (strncasecmp(line + i, word, w) != 0)
			continue;
		if (i > 0 && !strchr(" \"=(", line[i - 1]))
			continue;
		if (i + w < n && !strchr(" \"=)", line[i + w]))
			continue;
		return true;
	}
	return false;
}

static void note_login(struct dialogue *d, const char *what, const char *line, size_t n)
{
	if (d->login)
		return;
	d->login = n ? x_asprintf("%s %.*s", what, (int)(n > 120 ? 120 : n), line) : x_strdup(what);
}

/* The 3-digit code of an SMTP, FTP or NNTP reply line, or -1. */
static int code_of(const char *line, size_t n)
{
	if (n < 3 || !isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]))
		return -1;
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

/* The last line of a (possibly multi-line) SMTP or FTP reply: "250 ..." rather than "250-...". FTP's continuation
 * lines may also start with anything else. */
static bool final_line(const char *line, size_t n)
{
	return code_of(line, n) >= 0 && (n == 3 || line[3] == ' ');
}

/* ---- SMTP, submission (RFC 5321, RFC 3207) */
static enum dialogue_result smtp_line(struct dialogue *d, const char *line, size_t n, struct sbuf *out)
{
	int code = code_of(line, n);

	switch (d->step) {
	case 0: /* greeting */
		if (code < 0)
			return fail(d, DLG_UNEXPECTED, "not an SMTP greeting:", line, n);
		if (!final_line(line, n))
			return DLG_MORE;
		if (code != 220)
			return fail(d, DLG_UNEXPECTED, "greeting", line, n);
		sbuf_addf(out, "EHLO %s\r\n", d->name);
		d->step = 1;
		return DLG_MORE;
	case 1: /* EHLO reply: one extension per line */
		if (code < 0)
			return fail(d, DLG_UNEXPECTED, "not an SMTP reply:", line, n);
		if (n > 4 && has_word(line + 4, n - 4, "STARTTLS"))
			d->offered = true;
		if (n > 4 && (strncasecmp(line + 4, "AUTH", 4) == 0) &&
		    (has_word(line + 8, n - 8, "PLAIN") || has_word(line + 8, n - 8, "LOGIN")))
			note_login(d, "EHLO before STARTTLS offers", line + 4, n - 4);
		if (!final_line(line, n))
			return DLG_MORE;
		if (code != 250)
			return fail(d, DLG_UNEXPECTED, "EHLO answered", line, n);
		if (!d->offered)
			return fail(d, DLG_NOT_OFFERED, "EHLO does not list STARTTLS", "", 0);
		sbuf_puts(out, "STARTTLS\r\n");
		d->step = 2;
		return DLG_MORE;
	default:
		if (!final_line(line, n))
			return DLG_MORE;
		return code == 220 ? DLG_UPGRADE : fail(d, DLG_REFUSED, "STARTTLS answered", line, n);
	}
}

/* ---- IMAP (RFC 9051, RFC 2595) */
static enum dialogue_result imap_line(struct dialogue *d, const char *line, size_t n, struct sbuf *out)
{
	switch (d->step) {
	case 0:
		if (n < 4 || strncasecmp(line, "* OK", 4) != 0)
			return fail(d, DLG_UNEXPECTED, "greeting", line, n);
		sbuf_puts(out, "a1 CAPABILITY\r\n");
		d->step = 1;
		return DLG_MORE;
	case 1:
		if (n > 12 && strncasecmp(line, "* CAPABILITY", 12) == 0) {
			d->offered = has_word(line, n, "STARTTLS");
			if (!has_word(line, n, "LOGINDISABLED"))
				note_login(d, "CAPABILITY before STARTTLS lacks LOGINDISABLED", "", 0);
			return DLG_MORE;
		}
		if (n < 3 || strncmp(line, "a1 ", 3) != 0)
			return DLG_MORE; /* other untagged data */
		if (n < 5 || strncasecmp(line + 3, "OK", 2) != 0)
			return fail(d, DLG_UNEXPECTED, "CAPABILITY answered", line, n);
		if (!d->offered)
			return fail(d, DLG_NOT_OFFERED, "CAPABILITY does not list STARTTLS", "", 0);
		sbuf_puts(out, "a2 STARTTLS\r\n");
		d->step = 2;
		return DLG_MORE;
	default:
		if (n < 3 || strncmp(line, "a2 ", 3) != 0)
			return DLG_MORE;
		return n >= 5 && strncasecmp(line + 3, "OK", 2) == 0 ?
			       DLG_UPGRADE :
			       fail(d, DLG_REFUSED, "STARTTLS answered", line, n);
	}
}

/* ---- POP3 (RFC 1939, RFC 2449, RFC 2595) */
static enum dialogue_result pop3_line(struct dialogue *d, const char *line, size_t n, struct sbuf *out)
{
	switch (d->step) {
	case 0:
		if (n < 3 || strncmp(line, "+OK", 3) != 0)
			return fail(d, DLG_UNEXPECTED, "greeting", line, n);
		sbuf_puts(out, "CAPA\r\n");
		d->step = 1;
		return DLG_MORE;
	case 1:
		if (n >= 3 && strncmp(line, "+OK", 3) == 0) {
			d->step = 2;
			return DLG_MORE;
		}
		return fail(d, DLG_NOT_OFFERED, "CAPA answered", line, n);
	case 2: /* capabilities, up to "." */
		if (n == 1 && line[0] == '.') {
			if (!d->offered)
				return fail(d, DLG_NOT_OFFERED, "CAPA does not list STLS", "", 0);
			sbuf_puts(out, "STLS\r\n");
			d->step = 3;
			return DLG_MORE;
		}
		if (has_word(line, n, "STLS"))
			d->offered = true;
		if (n >= 4 && strncasecmp(line, "USER", 4) == 0 && (n == 4 || line[4] == ' '))
			note_login(d, "CAPA before STLS lists USER", "", 0);
		return DLG_MORE;
	default:
		return n >= 3 && strncmp(line, "+OK", 3) == 0 ? DLG_UPGRADE :
								 fail(d, DLG_REFUSED, "STLS answered", line, n);
	}
}

/* ---- FTP (RFC 959, RFC 2389, RFC 4217) */
static enum dialogue_result ftp_line(struct dialogue *d, const char *line, size_t n, struct sbuf *out)
{
	int code = code_of(line, n);
	bool last = final_line(line, n);

	switch (d->step) {
	case 0:
		if (!last)
			return DLG_MORE; /* "220-" and the lines of a long greeting */
		if (code != 220)
			return fail(d, DLG_UNEXPECTED, "greeting", line, n);
		if (d->check_login) {
			/* a server that insists on TLS answers 530; one that asks for a password would take it in
			 * plaintext (and some, vsftpd among them, hang up after the 530: hence a connection of its own) */
			sbuf_puts(out, "USER tlswall-audit\r\n");
			d->step = 2;
		} else {
			sbuf_puts(out, "FEAT\r\n");
			d->step = 1;
		}
		return DLG_MORE;
	case 1: /* FEAT: "211-Features:", one feature per line, "211 End" */
		if (!last) {
			if (has_word(line, n, "AUTH") && has_word(line, n, "TLS"))
				d->offered = true;
			return DLG_MORE;
		}
		if (code != 211)
			return fail(d, DLG_NOT_OFFERED, "FEAT answered", line, n);
		if (!d->offered)
			return fail(d, DLG_NOT_OFFERED, "FEAT does not list AUTH TLS", "", 0);
		sbuf_puts(out, "AUTH TLS\r\n");
		d->step = 3;
		return DLG_MORE;
	case 2:
		if (!last)
			return DLG_MORE;
		if (code != 530)
			note_login(d, "USER before AUTH TLS answered", line, n);
		return DLG_DONE;
	default:
		if (!last)
			return DLG_MORE;
		return code == 234 ? DLG_UPGRADE : fail(d, DLG_REFUSED, "AUTH TLS answered", line, n);
	}
}

/* ---- NNTP (RFC 3977, RFC 4642, RFC 4643) */
static enum dialogue_result nntp_line(struct dialogue *d, const char *line, size_t n, struct sbuf *out)
{
	int code = code_of(line, n);

	switch (d->step) {
	case 0:
		if (code != 200 && code != 201)
			return fail(d, DLG_UNEXPECTED, "greeting", line, n);
		sbuf_puts(out, "CAPABILITIES\r\n");
		d->step = 1;
		return DLG_MORE;
	case 1:
		if (code != 101)
			return fail(d, DLG_NOT_OFFERED, "CAPABILITIES answered", line, n);
		d->step = 2;
		return DLG_MORE;
	case 2:
		if (n == 1 && line[0] == '.') {
			if (!d->offered)
				return fail(d, DLG_NOT_OFFERED, "CAPABILITIES does not list STARTTLS", "", 0);
			sbuf_puts(out, "STARTTLS\r\n");
			d->step = 3;
			return DLG_MORE;
		}
		if (has_word(line, n, "STARTTLS"))
			d->offered = true;
		if (n > 8 && strncasecmp(line, "AUTHINFO", 8) == 0 && has_word(line, n, "USER"))
			note_login(d, "CAPABILITIES before STARTTLS lists", line, n);
		return DLG_MORE;
	default:
		return code == 382 ? DLG_UPGRADE : fail(d, DLG_REFUSED, "STARTTLS answered", line, n);
	}
}

/* ---- ManageSieve (RFC 5804): the greeting is the capability list, ending in OK */
static enum dialogue_result sieve_line(struct dialogue *d, const char *line, size_t n, struct sbuf *out)
{
	bool ok = n >= 2 && strncasecmp(line, "OK", 2) == 0 && (n == 2 || line[2] == ' ');
	bool no = (n >= 2 && strncasecmp(line, "NO", 2) == 0) || (n >= 3 && strncasecmp(line, "BYE", 3) == 0);

	switch (d->step) {
	case 0:
		if (no)
			return fail(d, DLG_UNEXPECTED, "greeting", line, n);
		if (!ok) {
			if (n == 0 || line[0] != '"')
				return fail(d, DLG_UNEXPECTED, "not a ManageSieve capability:", line, n);
			if (n >= 10 && strncasecmp(line, "\"STARTTLS\"", 10) == 0)
				d->offered = true;
			if (n > 6 && strncasecmp(line, "\"SASL\"", 6) == 0 &&
			    (has_word(line + 6, n - 6, "PLAIN") || has_word(line + 6, n - 6, "LOGIN")))
				note_login(d, "capabilities before STARTTLS offer", line, n);
			return DLG_MORE;
		}
		if (!d->offered)
			return fail(d, DLG_NOT_OFFERED, "capabilities do not list STARTTLS", "", 0);
		sbuf_puts(out, "STARTTLS\r\n");
		d->step = 1;
		return DLG_MORE;
	default:
		return ok ? DLG_UPGRADE : fail(d, DLG_REFUSED, "STARTTLS answered", line, n);
	}
}

/* ---- XMPP (RFC 6120 5.4): stream features, then <starttls/> and <proceed/> */
static enum dialogue_result xmpp_data(struct dialogue *d, const char *in, size_t len, size_t *used, struct sbuf *out)
{
	char *text = x_strndup(in, len);
	enum dialogue_result r = DLG_MORE;

	if (strstr(text, "<stream:error") || strstr(text, "</stream:stream>")) {
		r = fail(d, DLG_UNEXPECTED, "stream error:", in, len);
		*used = len;
	} else if (d->step == 0 && (strstr(text, "</stream:features>") || strstr(text, "<stream:features/>"))) {
		char *tls = strstr(text, "<starttls");
		const char *mech = strstr(text, "<mechanism>PLAIN</mechanism>") ? "PLAIN" : NULL;

		*used = len;
		d->offered = tls && strstr(tls, "urn:ietf:params:xml:ns:xmpp-tls");
		if (!mech && strstr(text, "<mechanism>LOGIN</mechanism>"))
			mech = "LOGIN";
		if (mech)
			note_login(d, "stream features before STARTTLS offer SASL", mech, strlen(mech));
		if (!d->offered) {
			r = fail(d, DLG_NOT_OFFERED, "stream features do not offer STARTTLS", "", 0);
		} else {
			sbuf_puts(out, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
			d->step = 1;
		}
	} else if (d->step == 1 && strstr(text, "<proceed")) {
		*used = len;
		r = DLG_UPGRADE;
	} else if (d->step == 1 && strstr(text, "<failure")) {
		*used = len;
		r = fail(d, DLG_REFUSED, "STARTTLS answered", in, len);
	} else if (len > MAX_PENDING) {
		r = fail(d, DLG_UNEXPECTED, "no stream features:", in, len);
	}
	free(text);
	return r;
}

/* ---- LDAP (RFC 4511 4.14): the StartTLS extended operation; its result code says whether TLS is offered */
static size_t ber_length(const uint8_t *p, size_t len, size_t *hdr)
{
	size_t n = 0;

	if (len < 2)
		return (size_t)-1;
	if (!(p[1] & 0x80)) {
		*hdr = 2;
		return p[1];
	}
	if ((p[1] & 0x7f) > 4 || len < 2u + (p[1] & 0x7f))
		return (size_t)-1;
	for (int i = 0; i < (p[1] & 0x7f); i++)
		n = n << 8 | p[2 + i];
	*hdr = 2u + (p[1] & 0x7f);
	return n;
}

static enum dialogue_result ldap_data(struct dialogue *d, const char *in, size_t len, size_t *used)
{
	const uint8_t *p = (const uint8_t *)in;
	size_t hdr = 0, body = ber_length(p, len, &hdr);

	if (len && p[0] != 0x30)
		return fail(d, DLG_UNEXPECTED, "not an LDAP message:", in, len);
	if (body == (size_t)-1 || len < hdr + body)
		return len > MAX_PENDING ? fail(d, DLG_UNEXPECTED, "no LDAP reply:", in, len) : DLG_MORE;
	*used = hdr + body;
	/* messageID, then extendedResp [APPLICATION 24], whose first element is the resultCode ENUMERATED */
	for (size_t i = hdr; i + 2 < hdr + body; i++) {
		size_t h2, l2;

		if (p[i] != 0x78)
			continue;
		l2 = ber_length(p + i, hdr + body - i, &h2);
		if (l2 == (size_t)-1 || i + h2 + 3 > hdr + body || p[i + h2] != 0x0a || p[i + h2 + 1] != 1)
			break;
		if (p[i + h2 + 2] == 0)
			return DLG_UPGRADE;
		free(d->detail);
		d->detail = x_asprintf("the StartTLS extended operation answered result code %u", p[i + h2 + 2]);
		return DLG_NOT_OFFERED;
	}
	return fail(d, DLG_UNEXPECTED, "not an extended response:", in, hdr + body);
}

/* ---- PostgreSQL: SSLRequest is answered with one byte */
static enum dialogue_result pg_data(struct dialogue *d, const char *in, size_t len, size_t *used)
{
	if (len == 0)
		return DLG_MORE;
	*used = 1;
	if (in[0] == 'S')
		return DLG_UPGRADE;
	if (in[0] == 'N')
		return fail(d, DLG_NOT_OFFERED, "SSLRequest answered N (no SSL)", "", 0);
	return fail(d, DLG_UNEXPECTED, "SSLRequest answered", in, len);
}

static const struct protocol {
	const char *name;
	enum dialogue_result (*line)(struct dialogue *d, const char *line, size_t n, struct sbuf *out);
} protocols[] = {
	{ "smtp", smtp_line },	   { "submission", smtp_line }, { "imap", imap_line },	     { "pop3", pop3_line },
	{ "ftp", ftp_line },	   { "nntp", nntp_line },	{ "sieve", sieve_line },     { "xmpp-client", NULL },
	{ "xmpp-server", NULL },  { "ldap", NULL },		{ "postgresql", NULL },
};

static const struct protocol *find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(protocols); i++)
		if (strcmp(protocols[i].name, name) == 0)
			return &protocols[i];
	return NULL;
}

bool dialogue_known(const char *protocol)
{
	return find(protocol) != NULL;
}

bool dialogue_needs_login_check(const char *protocol)
{
	return strcmp(protocol, "ftp") == 0;
}

void dialogue_begin(struct dialogue *d, const char *protocol, const char *name, bool check_login, struct sbuf *out)
{
	memset(d, 0, sizeof(*d));
	d->protocol = protocol;
	d->name = name && *name ? name : "localhost";
	d->check_login = check_login;
	if (strncmp(protocol, "xmpp-", 5) == 0)
		sbuf_addf(out,
			  "<?xml version='1.0'?><stream:stream to='%s' xmlns='jabber:%s' "
			  "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
			  d->name, strcmp(protocol, "xmpp-server") == 0 ? "server" : "client");
	else if (strcmp(protocol, "ldap") == 0)
		sbuf_add(out, ldap_starttls, sizeof(ldap_starttls));
	else if (strcmp(protocol, "postgresql") == 0)
		sbuf_add(out, pg_sslrequest, sizeof(pg_sslrequest));
}

enum dialogue_result dialogue_input(struct dialogue *d, const char *in, size_t len, size_t *used, struct sbuf *out)
{
	const struct protocol *p = find(d->protocol);
	enum dialogue_result r = DLG_MORE;
	size_t pos = 0;

	*used = 0;
	if (!p->line) {
		if (strcmp(d->protocol, "ldap") == 0)
			return ldap_data(d, in, len, used);
		if (strcmp(d->protocol, "postgresql") == 0)
			return pg_data(d, in, len, used);
		return xmpp_data(d, in, len, used, out);
	}
	while (r == DLG_MORE) {
		const char *nl = memchr(in + pos, '\n', len - pos);
		size_t n;

		if (!nl) {
			if (len - pos > MAX_PENDING)
				r = fail(d, DLG_UNEXPECTED, "a line without end:", in + pos, len - pos);
			break;
		}
		n = (size_t)(nl - (in + pos));
		if (n && in[pos + n - 1] == '\r')
			n--;
		r = p->line(d, in + pos, n, out);
		pos = (size_t)(nl - in) + 1;
	}
	*used = pos;
	return r;
}

void dialogue_release(struct dialogue *d)
{
	free(d->login);
	free(d->detail);
	d->login = d->detail = NULL;
}
