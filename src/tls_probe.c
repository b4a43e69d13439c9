#include <arpa/inet.h>
#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/opensslv.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tlswall/audit.h"
#include "tlswall/tls_probe.h"
#include "tlswall/util.h"

/* libssl is loaded when the audit sets up its first handshake, not linked: linked, it and libcrypto cost every run of
 * every verb about 1.5 ms of loading and relocating (tens of thousands of relocations), for the one verb that makes
 * handshakes. The functions are looked up under the names the headers declare and kept with the headers' own types;
 * what the headers define as macros over SSL_ctrl, SSL_CTX_ctrl, BIO_ctrl and the OPENSSL_sk functions is spelt out
 * below, so that nothing in this file calls into libssl but through `ssl`. */
#define OPENSSL_FUNCTIONS(X)                                                                                          \
	X(TLS_client_method) X(SSL_CTX_new) X(SSL_CTX_free) X(SSL_CTX_ctrl) X(SSL_CTX_set_verify)                     \
	X(SSL_CTX_set_options) X(SSL_CTX_set_security_level) X(SSL_CTX_set_cipher_list) X(SSL_new) X(SSL_free)        \
	X(SSL_ctrl) X(SSL_set_bio) X(SSL_set_connect_state) X(SSL_do_handshake) X(SSL_get_error) X(SSL_get_version)  \
	X(SSL_get_current_cipher) X(SSL_CIPHER_get_name) X(SSL_get1_peer_certificate) X(BIO_new) X(BIO_s_mem)         \
	X(BIO_free) X(BIO_read) X(BIO_write) X(BIO_ctrl) X(ERR_get_error) X(ERR_peek_last_error) X(ERR_clear_error)    \
	X(ERR_reason_error_string) X(X509_NAME_print_ex) X(X509_get_subject_name) X(X509_get_issuer_name)             \
	X(X509_get_ext_d2i) X(X509_get0_notAfter) X(X509_check_host) X(X509_check_ip_asc) X(X509_free)                \
	X(GENERAL_NAMES_free) X(OPENSSL_sk_num) X(OPENSSL_sk_value) X(ASN1_STRING_length) X(ASN1_STRING_get0_data)    \
	X(ASN1_TIME_to_tm) X(ASN1_TIME_diff)

#define OPENSSL_FIELD(f) __typeof__(f) *f;
static struct {
	OPENSSL_FUNCTIONS(OPENSSL_FIELD)
} ssl;

#define SONAME_(v) "libssl.so." #v
#define SONAME(v) SONAME_(v)

/* libssl of the major version tlswall was built against, once; false (said on stderr) when it cannot be had */
static bool load_libssl(void)
{
	static int loaded; /* 0: not yet tried, 1: loaded, -1: failed */
	void *lib;

	if (loaded)
		return loaded > 0;
	loaded = -1;
	lib = dlopen(SONAME(OPENSSL_SHLIB_VERSION), RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "tlswall: cannot load OpenSSL for the TLS handshakes: %s\n", dlerror());
		return false;
	}
	/* POSIX's way of storing what dlsym returns into a function pointer */
#define OPENSSL_LOOKUP(f)                                                                                             \
	if (!(*(void **)&ssl.f = dlsym(lib, #f))) {                                                                   \
		fprintf(stderr, "tlswall: %s has no %s\n", SONAME(OPENSSL_SHLIB_VERSION), #f);                        \
		return false;                                                                                          \
	}
	OPENSSL_FUNCTIONS(OPENSSL_LOOKUP)
	loaded = 1;
	return true;
}

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
	unsigned long e = ssl.ERR_get_error();

	fprintf(stderr, "tlswall: %s: %s\n", what, e ? ssl.ERR_reason_error_string(e) : "unknown error");
	ssl.ERR_clear_error();
}

static SSL_CTX *context(enum tls_offer offer)
{
	int legacy = offer == TLS_OFFER_1_0 ? TLS1_VERSION : TLS1_1_VERSION;
	SSL_CTX *ctx = ssl.SSL_CTX_new(ssl.TLS_client_method());

	if (!ctx)
		return NULL;
	/* An audit looks at whatever certificate is there: it reports expiry and names itself, and a self-signed
	 * certificate must not stop the handshake that shows it. */
	ssl.SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* no session tickets to keep, no resumption between probes */
	ssl.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_SESS_CACHE_MODE, SSL_SESS_CACHE_OFF, NULL);
	ssl.SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if (offer != TLS_OFFER_CURRENT) {
		/* Debian's OpenSSL refuses TLS 1.0/1.1 above security level 0 (SHA-1 signatures); lowered for these
		 * contexts only, which do nothing but ask whether the server still accepts them. */
		ssl.SSL_CTX_set_security_level(ctx, 0);
		if (!ssl.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, legacy, NULL) ||
		    !ssl.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MAX_PROTO_VERSION, legacy, NULL) ||
		    !ssl.SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0")) {
			ssl.SSL_CTX_free(ctx);
			return NULL;
		}
	} else if (!ssl.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL)) {
		ssl.SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

struct tls_client *tls_client_new(void)
{
	struct tls_client *c;

	if (!load_libssl())
		return NULL;
	c = x_calloc(1, sizeof(*c));
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
		ssl.SSL_CTX_free(c->ctx[i]);
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

	s->ssl = x_nonnull(ssl.SSL_new(c->ctx[offer]));
	s->rbio = x_nonnull(ssl.BIO_new(ssl.BIO_s_mem()));
	s->wbio = x_nonnull(ssl.BIO_new(ssl.BIO_s_mem()));
	/* an empty read buffer means "wait for more", until the server closes */
	ssl.BIO_ctrl(s->rbio, BIO_C_SET_BUF_MEM_EOF_RETURN, -1, NULL);
	ssl.SSL_set_bio(s->ssl, s->rbio, s->wbio);
	ssl.SSL_set_connect_state(s->ssl);
	if (sni && *sni && !is_address(sni))
		ssl.SSL_ctrl(s->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, (void *)sni);
	return s;
}

void tls_session_free(struct tls_session *s)
{
	if (!s)
		return;
	ssl.SSL_free(s->ssl);
	free(s);
}

void tls_session_input(struct tls_session *s, const void *data, size_t len)
{
	if (len == 0)
		ssl.BIO_ctrl(s->rbio, BIO_C_SET_BUF_MEM_EOF_RETURN, 0, NULL);
	else
		ssl.BIO_write(s->rbio, data, (int)len);
}

static void drain(struct tls_session *s, struct sbuf *out)
{
	char buf[4096];
	int n;

	while ((n = ssl.BIO_read(s->wbio, buf, sizeof(buf))) > 0)
		sbuf_add(out, buf, (size_t)n);
}

enum tls_step tls_session_step(struct tls_session *s, struct sbuf *out)
{
	int ret, err;
	unsigned long e;

	ssl.ERR_clear_error();
	ret = ssl.SSL_do_handshake(s->ssl);
	drain(s, out);
	if (ret == 1)
		return TLS_DONE;
	err = ssl.SSL_get_error(s->ssl, ret);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
		return TLS_MORE;
	e = ssl.ERR_peek_last_error();
	if (e && ssl.ERR_reason_error_string(e))
		snprintf(s->error, sizeof(s->error), "%s", ssl.ERR_reason_error_string(e));
	else if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN)
		snprintf(s->error, sizeof(s->error), "the server closed the connection");
	else
		snprintf(s->error, sizeof(s->error), "handshake failed (SSL error %d)", err);
	ssl.ERR_clear_error();
	return TLS_FAILED;
}

const char *tls_session_error(const struct tls_session *s)
{
	return s->error;
}

static char *name_text(const X509_NAME *name)
{
	BIO *b = x_nonnull(ssl.BIO_new(ssl.BIO_s_mem()));
	char *data, *text;
	long len;

	ssl.X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	len = ssl.BIO_ctrl(b, BIO_CTRL_INFO, 0, &data);
	text = x_strndup(data, len > 0 ? (size_t)len : 0);
	ssl.BIO_free(b);
	return text;
}

static void add_name(struct tls_info *info, char *name)
{
	info->names = x_reallocarray(info->names, info->nnames + 1, sizeof(*info->names));
	info->names[info->nnames++] = name;
}

static void alt_names(X509 *cert, struct tls_info *info)
{
	GENERAL_NAMES *gens = ssl.X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	const OPENSSL_STACK *stack = (const OPENSSL_STACK *)gens;

	for (int i = 0; gens && i < ssl.OPENSSL_sk_num(stack); i++) {
		const GENERAL_NAME *g = ssl.OPENSSL_sk_value(stack, i);
		char addr[INET6_ADDRSTRLEN];

		if (g->type == GEN_DNS) {
			const ASN1_IA5STRING *s = g->d.dNSName;

			add_name(info, x_asprintf("DNS:%.*s", ssl.ASN1_STRING_length(s),
						  (const char *)ssl.ASN1_STRING_get0_data(s)));
		} else if (g->type == GEN_IPADD) {
			const ASN1_OCTET_STRING *s = g->d.iPAddress;
			int len = ssl.ASN1_STRING_length(s);

			if ((len == 4 || len == 16) &&
			    inet_ntop(len == 4 ? AF_INET : AF_INET6, ssl.ASN1_STRING_get0_data(s), addr, sizeof(addr)))
				add_name(info, x_asprintf("IP:%s", addr));
		}
	}
	ssl.GENERAL_NAMES_free(gens);
}

static void expiry(X509 *cert, struct tls_info *info)
{
	const ASN1_TIME *end = ssl.X509_get0_notAfter(cert);
	struct tm tm;
	char buf[32];
	int days = 0, secs = 0;

	if (!end || !ssl.ASN1_TIME_to_tm(end, &tm))
		return;
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	info->not_after = x_strdup(buf);
	/* from now to notAfter; both parts carry the sign */
	if (ssl.ASN1_TIME_diff(&days, &secs, NULL, end))
		info->seconds_left = (int64_t)days * 86400 + secs;
}

void tls_session_info(struct tls_session *s, const char *expected_name, struct tls_info *info)
{
	X509 *cert = ssl.SSL_get1_peer_certificate(s->ssl);

	memset(info, 0, sizeof(*info));
	info->version = x_strdup(ssl.SSL_get_version(s->ssl));
	info->cipher = x_strdup(ssl.SSL_CIPHER_get_name(ssl.SSL_get_current_cipher(s->ssl)));
	if (!cert)
		return;
	info->subject = name_text(ssl.X509_get_subject_name(cert));
	info->issuer = name_text(ssl.X509_get_issuer_name(cert));
	alt_names(cert, info);
	expiry(cert, info);
	if (expected_name && *expected_name) {
		info->name_checked = true;
		if (is_address(expected_name))
			info->name_ok = ssl.X509_check_ip_asc(cert, expected_name, 0) == 1;
		else
			info->name_ok = ssl.X509_check_host(cert, expected_name, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
							    NULL) == 1;
	}
	ssl.X509_free(cert);
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
