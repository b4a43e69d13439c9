/* Unit tests for the STARTTLS dialogues (starttls.c) and the QUIC probe packet (quic.c): server transcripts in,
 * client lines and verdicts out, with replies split at awkward places. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tlswall/quic.h"
#include "tlswall/starttls.h"
#include "tlswall/util.h"

struct run {
	struct dialogue d;
	struct sbuf out;  /* everything the client sent */
	struct sbuf in;   /* received, not consumed */
	enum dialogue_result last;
};

static void start(struct run *r, const char *protocol, bool check_login)
{
	memset(r, 0, sizeof(*r));
	dialogue_begin(&r->d, protocol, "host.test", check_login, &r->out);
	r->last = DLG_MORE;
}

/* Feeds server bytes one at a time (the worst split there is), as the probe would, until the dialogue ends. */
static enum dialogue_result feed(struct run *r, const char *server)
{
	for (size_t i = 0; server[i] && r->last == DLG_MORE; i++) {
		size_t used;

		sbuf_add(&r->in, server + i, 1);
		r->last = dialogue_input(&r->d, r->in.buf, r->in.len, &used, &r->out);
		memmove(r->in.buf, r->in.buf + used, r->in.len - used);
		r->in.len -= used;
	}
	return r->last;
}

static const char *sent(struct run *r)
{
	sbuf_putc(&r->out, '\0');
	r->out.len--;
	return r->out.buf ? r->out.buf : "";
}

static void finish(struct run *r)
{
	dialogue_release(&r->d);
	sbuf_release(&r->out);
	sbuf_release(&r->in);
}

static void test_smtp(void **state)
{
	struct run r;

	(void)state;
	start(&r, "smtp", false);
	assert_int_equal(feed(&r, "220-mx.test ESMTP\r\n220 hello\r\n250-mx.test\r\n250-PIPELINING\r\n"
				  "250-STARTTLS\r\n250 8BITMIME\r\n220 2.0.0 Ready to start TLS\r\n"),
			 DLG_UPGRADE);
	assert_string_equal(sent(&r), "EHLO host.test\r\nSTARTTLS\r\n");
	assert_true(r.d.offered);
	assert_null(r.d.login);
	finish(&r);

	/* AUTH PLAIN before TLS, no STARTTLS */
	start(&r, "submission", false);
	assert_int_equal(feed(&r, "220 mx\r\n250-mx.test\r\n250-AUTH LOGIN PLAIN\r\n250 SIZE 1000\r\n"), DLG_NOT_OFFERED);
	assert_string_equal(r.d.login, "EHLO before STARTTLS offers AUTH LOGIN PLAIN");
	assert_string_equal(r.d.detail, "EHLO does not list STARTTLS");
	finish(&r);

	start(&r, "smtp", false);
	assert_int_equal(feed(&r, "220 mx\r\n250-mx\r\n250 STARTTLS\r\n454 4.7.0 TLS not available\r\n"), DLG_REFUSED);
	assert_string_equal(r.d.detail, "STARTTLS answered \"454 4.7.0 TLS not available\"");
	finish(&r);

	/* not SMTP at all */
	start(&r, "smtp", false);
	assert_int_equal(feed(&r, "SSH-2.0-OpenSSH_9.2\r\n"), DLG_UNEXPECTED);
	finish(&r);
}

static void test_imap(void **state)
{
	struct run r;

	(void)state;
	start(&r, "imap", false);
	assert_int_equal(feed(&r, "* OK ready\r\n* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED AUTH=PLAIN\r\n"
				  "a1 OK done\r\na2 OK Begin TLS\r\n"),
			 DLG_UPGRADE);
	assert_string_equal(sent(&r), "a1 CAPABILITY\r\na2 STARTTLS\r\n");
	assert_null(r.d.login);
	finish(&r);

	start(&r, "imap", false);
	assert_int_equal(feed(&r, "* OK ready\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\na1 OK done\r\n"), DLG_NOT_OFFERED);
	assert_non_null(r.d.login);
	finish(&r);

	/* STARTTLSX is not STARTTLS */
	start(&r, "imap", false);
	assert_int_equal(feed(&r, "* OK\r\n* CAPABILITY STARTTLSX LOGINDISABLED\r\na1 OK\r\n"), DLG_NOT_OFFERED);
	finish(&r);
}

static void test_pop3(void **state)
{
	struct run r;

	(void)state;
	start(&r, "pop3", false);
	assert_int_equal(feed(&r, "+OK ready\r\n+OK caps\r\nTOP\r\nSTLS\r\nSASL PLAIN\r\n.\r\n+OK go\r\n"), DLG_UPGRADE);
	assert_string_equal(sent(&r), "CAPA\r\nSTLS\r\n");
	assert_null(r.d.login);
	finish(&r);

	start(&r, "pop3", false);
	assert_int_equal(feed(&r, "+OK ready\r\n+OK\r\nUSER\r\nSTLS\r\n.\r\n-ERR no\r\n"), DLG_REFUSED);
	assert_string_equal(r.d.login, "CAPA before STLS lists USER");
	finish(&r);
}

static void test_ftp(void **state)
{
	struct run r;

	(void)state;
	start(&r, "ftp", false);
	assert_int_equal(feed(&r, "220-welcome\r\n to the server\r\n220 ready\r\n211-Features:\r\n AUTH TLS\r\n PBSZ\r\n"
				  "211 End\r\n234 Proceed\r\n"),
			 DLG_UPGRADE);
	assert_string_equal(sent(&r), "FEAT\r\nAUTH TLS\r\n");
	finish(&r);

	start(&r, "ftp", true);
	assert_int_equal(feed(&r, "220 ready\r\n530 Non-anonymous sessions must use encryption.\r\n"), DLG_DONE);
	assert_string_equal(sent(&r), "USER tlswall-audit\r\n");
	assert_null(r.d.login);
	finish(&r);

	start(&r, "ftp", true);
	assert_int_equal(feed(&r, "220 ready\r\n331 Please specify the password.\r\n"), DLG_DONE);
	assert_string_equal(r.d.login, "USER before AUTH TLS answered 331 Please specify the password.");
	finish(&r);

	start(&r, "ftp", false);
	assert_int_equal(feed(&r, "220 ready\r\n500 FEAT not understood\r\n"), DLG_NOT_OFFERED);
	finish(&r);
}

static void test_others(void **state)
{
	static const char ldap_ok[] = { 0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00 };
	static const char ldap_no[] = { 0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x02, 0x04, 0x00, 0x04, 0x00 };
	struct run r;
	size_t used;

	(void)state;
	start(&r, "nntp", false);
	assert_int_equal(feed(&r, "200 news\r\n101 caps\r\nVERSION 2\r\nSTARTTLS\r\n.\r\n382 go\r\n"), DLG_UPGRADE);
	assert_string_equal(sent(&r), "CAPABILITIES\r\nSTARTTLS\r\n");
	finish(&r);

	start(&r, "sieve", false);
	assert_int_equal(feed(&r, "\"IMPLEMENTATION\" \"x\"\r\n\"SASL\" \"\"\r\n\"STARTTLS\"\r\nOK \"ready\"\r\n"
				  "OK \"Begin TLS negotiation now.\"\r\n"),
			 DLG_UPGRADE);
	assert_null(r.d.login);
	finish(&r);

	start(&r, "xmpp-client", false);
	assert_non_null(strstr(sent(&r), "to='host.test' xmlns='jabber:client'"));
	assert_int_equal(feed(&r, "<stream:stream><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
				  "<mechanisms><mechanism>PLAIN</mechanism></mechanisms></stream:features>"
				  "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
			 DLG_UPGRADE);
	assert_string_equal(r.d.login, "stream features before STARTTLS offer SASL PLAIN");
	finish(&r);

	/* LDAP and PostgreSQL: the client speaks first; the reply is binary */
	start(&r, "ldap", false);
	assert_int_equal(r.out.len, 31);
	assert_int_equal(dialogue_input(&r.d, ldap_ok, sizeof(ldap_ok), &used, &r.out), DLG_UPGRADE);
	assert_int_equal(used, sizeof(ldap_ok));
	finish(&r);
	start(&r, "ldap", false);
	assert_int_equal(dialogue_input(&r.d, ldap_no, sizeof(ldap_no) - 1, &used, &r.out), DLG_MORE);
	assert_int_equal(dialogue_input(&r.d, ldap_no, sizeof(ldap_no), &used, &r.out), DLG_NOT_OFFERED);
	assert_string_equal(r.d.detail, "the StartTLS extended operation answered result code 2");
	finish(&r);

	start(&r, "postgresql", false);
	assert_memory_equal(r.out.buf, "\0\0\0\x08\x04\xd2\x16\x2f", 8);
	assert_int_equal(dialogue_input(&r.d, "N", 1, &used, &r.out), DLG_NOT_OFFERED);
	finish(&r);

	assert_true(dialogue_known("xmpp-server"));
	assert_false(dialogue_known("https"));
}

/* A server that never ends its line is cut off, not buffered forever. */
static void test_runaway(void **state)
{
	struct run r;
	char *junk = x_malloc(40000);

	(void)state;
	memset(junk, 'a', 39999);
	junk[39999] = '\0';
	start(&r, "smtp", false);
	assert_int_equal(feed(&r, junk), DLG_UNEXPECTED);
	finish(&r);
	free(junk);
}

static void test_quic(void **state)
{
	uint8_t pkt[QUIC_INITIAL_SIZE], reply[64];
	const uint8_t dcid[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, scid[8] = { 9, 10, 11, 12, 13, 14, 15, 16 };
	uint32_t *v;
	size_t n, len = 0;

	(void)state;
	quic_initial(pkt, dcid, scid);
	assert_int_equal(pkt[0] & 0xf0, 0xc0); /* long header, Initial */
	assert_memory_equal(pkt + 1, "\x1a\x2a\x3a\x4a", 4);
	assert_int_equal(pkt[5], 8);
	assert_memory_equal(pkt + 6, dcid, 8);
	assert_memory_equal(pkt + 15, scid, 8);
	/* the length field covers the rest of the datagram exactly */
	assert_int_equal(((pkt[24] & 0x3f) << 8 | pkt[25]) + 26, QUIC_INITIAL_SIZE);

	/* a Version Negotiation: version 0, our scid as its dcid, then versions */
	reply[len++] = 0x80;
	memset(reply + len, 0, 4);
	len += 4;
	reply[len++] = 8;
	memcpy(reply + len, scid, 8);
	len += 8;
	reply[len++] = 8;
	memcpy(reply + len, dcid, 8);
	len += 8;
	memcpy(reply + len, "\x00\x00\x00\x01\x6b\x33\x43\xcf", 8);
	len += 8;
	assert_int_equal(quic_parse(reply, len, scid, &v, &n), QUIC_VERSION_NEGOTIATION);
	assert_int_equal(n, 2);
	assert_int_equal(v[0], 1);
	assert_int_equal(v[1], 0x6b3343cfu);
	free(v);
	/* for someone else */
	assert_int_equal(quic_parse(reply, len, dcid, &v, &n), QUIC_NOT_QUIC);
	/* an Initial back */
	reply[4] = 1;
	assert_int_equal(quic_parse(reply, len, scid, &v, &n), QUIC_INITIAL_BACK);
	/* truncated, or a short header */
	assert_int_equal(quic_parse(reply, 10, scid, &v, &n), QUIC_NOT_QUIC);
	reply[0] = 0x40;
	assert_int_equal(quic_parse(reply, len, scid, &v, &n), QUIC_NOT_QUIC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smtp),	cmocka_unit_test(test_imap),	cmocka_unit_test(test_pop3),
		cmocka_unit_test(test_ftp),	cmocka_unit_test(test_others),	cmocka_unit_test(test_runaway),
		cmocka_unit_test(test_quic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
