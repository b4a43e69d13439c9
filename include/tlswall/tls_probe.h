/* TLS handshakes through OpenSSL's libssl, driven without blocking: the caller moves the bytes (a poll() loop owns
 * the socket) and the session only ever sees memory buffers. The only module that includes OpenSSL. */
#ifndef TLSWALL_TLS_PROBE_H
#define TLSWALL_TLS_PROBE_H

#include <stdbool.h>
#include <stddef.h>

struct sbuf;
struct tls_info;
struct tls_client;
struct tls_session;

/* The client configurations: current (TLS 1.2 and 1.3), and one for each legacy version (TLS 1.0, TLS 1.1) at
 * security level 0 so that OpenSSL still offers it. One version per legacy handshake: a client offering 1.0-1.1
 * to a server that has 1.0 and 1.2 but not 1.1 would take the server's answer for a downgrade attack and stop.
 * NULL, after saying why, when libssl cannot be set up. */
struct tls_client *tls_client_new(void);
void tls_client_free(struct tls_client *c);

enum tls_step {
	TLS_MORE,   /* send what was queued, wait for bytes from the server */
	TLS_DONE,   /* handshake complete */
	TLS_FAILED, /* see tls_session_error */
};

enum tls_offer {
	TLS_OFFER_CURRENT, /* TLS 1.2 and 1.3 */
	TLS_OFFER_1_0,
	TLS_OFFER_1_1,
};

/* sni: the name to ask for (not sent when NULL or an address). */
struct tls_session *tls_session_new(struct tls_client *c, enum tls_offer offer, const char *sni);
void tls_session_free(struct tls_session *s);

/* Bytes from the server; len 0 means the server closed the connection. */
void tls_session_input(struct tls_session *s, const void *data, size_t len);
/* Advances the handshake; bytes to send to the server are appended to out. */
enum tls_step tls_session_step(struct tls_session *s, struct sbuf *out);
/* Why the handshake failed, as OpenSSL words it. */
const char *tls_session_error(const struct tls_session *s);
/* After TLS_DONE: the negotiated protocol and cipher, and the server's certificate. With expected_name, whether the
 * certificate's names cover it. */
void tls_session_info(struct tls_session *s, const char *expected_name, struct tls_info *info);
void tls_info_release(struct tls_info *info);

#endif
