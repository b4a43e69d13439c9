#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tlswall/audit.h"
#include "tlswall/tls_probe.h"
#include "tlswall/util.h"

struct tls_client {
	SSL_CTX *ctx[3]; /* by enum tls_offer */
};

struct tls_session {
	SSL *ssl;
	BIO *rbio, *wbio; /* owned by ssl */
	char error[256];
};

static void report_openssl(const char *what)
{
	unsigned long e = ERR_get_error();

	fprintf(stderr, "tlswall: %s: %s\n", what, e ? ERR_reason_error_string(e) : "unknown error");
	ERR_clear_error();
}

static SSL_CTX *context(enum tls_offer offer)
{
	int legacy = offer == TLS_OFFER_1_0 ? TLS1_VERSION : TLS1_1_VERSION;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx)
		return NULL;
	/* An audit looks at whatever certificate is there: it reports expiry and names itself, and a self-signed
	 * certificate must not stop the handshake that shows it. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* no session tickets to keep, no resumption between probes */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if (offer != TLS_OFFER_CURRENT) {
		/* Debian's OpenSSL refuses TLS 1.0/1.1 above security level 0 (SHA-1 signatures); lowered for these
		 * contexts only, which do nothing but ask whether the server still accepts them. */
		SSL_CTX_set_security_level(ctx, 0);
		if (!SSL_CTX_set_min_proto_version(ctx, legacy) || !SSL_CTX_set_max_proto_version(ctx, legacy) ||
		    !SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0")) {
			SSL_CTX_free(ctx);
			return NULL;
		}
	} else if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

struct tls_client *tls_client_new(void)
{
	struct tls_client *c = x_calloc(1, sizeof(*c));

	for (int i = 0; i < 3; i++)
		c->ctx[i] = context((enum tls_offer)i);
	if (!c->ctx[0] || !c->ctx[1] || !c->ctx[2]) {
		report_openssl("cannot set up TLS");
		tls_client_free(c);
		return NULL;
	}
	return c;
}

void tls_client_free(struct tls_client *c)
{
	if (!c)
		return;
	for (int i = 0; i < 3; i++)
		SSL_CTX_free(c->ctx[i]);
	free(c);
}

static bool is_address(const char *name)
{
	uint8_t buf[16];

	return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

struct tls_session *tls_session_new(struct tls_client *c, enum tls_offer offer, const char *sni)
{
	struct tls_session *s = x_calloc(1, sizeof(*s));

	s->ssl = x_nonnull(SSL_new(c->ctx[offer]));
	s->rbio = x_nonnull(BIO_new(BIO_s_mem()));
	s->wbio = x_nonnull(BIO_new(BIO_s_mem()));
	/* an empty read buffer means "wait for more", until the server closes */
	BIO_set_mem_eof_return(s->rbio, -1);
	SSL_set_bio(s->ssl, s->rbio, s->wbio);
	SSL_set_connect_state(s->ssl);
	if (sni && *sni && !is_address(sni))
		SSL_set_tlsext_host_name(s->ssl, sni);
	return s;
}

void tls_session_free(struct tls_session *s)
{
	if (!s)
		return;
	SSL_free(s->ssl);
	free(s);
}

void tls_session_input(struct tls_session *s, const void *data, size_t len)
{
	if (len == 0)
		BIO_set_mem_eof_return(s->rbio, 0);
	else
		BIO_write(s->rbio, data, (int)len);
}

static void drain(struct tls_session *s, struct sbuf *out)
{
	char buf[4096];
	int n;

	while ((n = BIO_read(s->wbio, buf, sizeof(buf))) > 0)
		sbuf_add(out, buf, (size_t)n);
}

enum tls_step tls_session_step(struct tls_session *s, struct sbuf *out)
{
	int ret, err;
	unsigned long e;

	ERR_clear_error();
	ret = SSL_do_handshake(s->ssl);
	drain(s, out);
	if (ret == 1)
		return TLS_DONE;
	err = SSL_get_error(s->ssl, ret);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
		return TLS_MORE;
	e = ERR_peek_last_error();
	if (e && ERR_reason_error_string(e))
		snprintf(s->error, sizeof(s->error), "%s", ERR_reason_error_string(e));
	else if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN)
		snprintf(s->error, sizeof(s->error), "the server closed the connection");
	else
		snprintf(s->error, sizeof(s->error), "handshake failed (SSL error %d)", err);
	ERR_clear_error();
	return TLS_FAILED;
}

const char *tls_session_error(const struct tls_session *s)
{
	return s->error;
}

static char *name_text(const X509_NAME *name)
{
	BIO *b = x_nonnull(BIO_new(BIO_s_mem()));
	char *data, *text;
	long len;

	X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	len = BIO_get_mem_data(b, &data);
	text = x_strndup(data, len > 0 ? (size_t)len : 0);
	BIO_free(b);
	return text;
}

static void add_name(struct tls_info *info, char *name)
{
	info->names = x_reallocarray(info->names, info->nnames + 1, sizeof(*info->names));
	info->names[info->nnames++] = name;
}

static void alt_names(X509 *cert, struct tls_info *info)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);

	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char addr[INET6_ADDRSTRLEN];

		if (g->type == GEN_DNS) {
			const ASN1_IA5STRING *s = g->d.dNSName;

			add_name(info, x_asprintf("DNS:%.*s", ASN1_STRING_length(s), (const char *)ASN1_STRING_get0_data(s)));
		} else if (g->type == GEN_IPADD) {
			const ASN1_OCTET_STRING *s = g->d.iPAddress;
			int len = ASN1_STRING_length(s);

			if ((len == 4 || len == 16) &&
			    inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), addr, sizeof(addr)))
				add_name(info, x_asprintf("IP:%s", addr));
		}
	}
	GENERAL_NAMES_free(gens);
}

static void expiry(X509 *cert, struct tls_info *info)
{
	const ASN1_TIME *end = X509_get0_notAfter(cert);
	struct tm tm;
	char buf[32];
	int days = 0, secs = 0;

	if (!end || !ASN1_TIME_to_tm(end, &tm))
		return;
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	info->not_after = x_strdup(buf);
	/* from now to notAfter; both parts carry the sign */
	if (ASN1_TIME_diff(&days, &secs, NULL, end))
		info->seconds_left = (int64_t)days * 86400 + secs;
}

void tls_session_info(struct tls_session *s, const char *expected_name, struct tls_info *info)
{
	X509 *cert = SSL_get1_peer_certificate(s->ssl);

	memset(info, 0, sizeof(*info));
	info->version = x_strdup(SSL_get_version(s->ssl));
	info->cipher = x_strdup(SSL_CIPHER_get_name(SSL_get_current_cipher(s->ssl)));
	if (!cert)
		return;
	info->subject = name_text(X509_get_subject_name(cert));
	info->issuer = name_text(X509_get_issuer_name(cert));
	alt_names(cert, info);
	expiry(cert, info);
	if (expected_name && *expected_name) {
		info->name_checked = true;
		if (is_address(expected_name))
			info->name_ok = X509_check_ip_asc(cert, expected_name, 0) == 1;
		else
			info->name_ok = X509_check_host(cert, expected_name, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
							NULL) == 1;
	}
	X509_free(cert);
}

void tls_info_release(struct tls_info *info)
{
	free(info->version);
	free(info->cipher);
	free(info->subject);
	free(info->issuer);
	for (size_t i = 0; i < info->nnames; i++)
		free(info->names[i]);
	free(info->names);
	free(info->not_after);
	memset(info, 0, sizeof(*info));
}
