/* The probes: every allowed listener gets its connections (a TLS port four: a handshake, one offering only TLS 1.0,
 * one only TLS 1.1, and a look for a plaintext answer; a STARTTLS port three, FTP a fourth for USER; 443/udp one QUIC
 * datagram), all driven by one poll() loop with a state machine per connection, so they run side by side and none
 * can hold up the others. */
#ifndef TLSWALL_PROBE_H
#define TLSWALL_PROBE_H

#include <stdbool.h>
#include <stddef.h>

struct audit;

/* Connections open at once: 32 TLS ports in one timeout, well within the usual limit of 1024 descriptors. */
#define PROBE_PARALLEL 128
/* Time the whole audit may take beyond its probes (reading sockets and /proc, printing). */
#define PROBE_SLACK_MS 1000

struct probe_options {
	unsigned timeout_ms;  /* each connection's limit, from connect to the end of the handshake */
	const char *name;     /* this host's expected name: SNI, EHLO, the XMPP stream's "to" */
	bool progress;        /* a progress line on standard output, which is a terminal */
};

/* How many connections probing a will make. */
size_t probe_connections(const struct audit *a);
/* The longest the probes can take: each connection is given timeout_ms, PROBE_PARALLEL at a time. */
unsigned long probe_bound_ms(size_t connections, unsigned timeout_ms);

/* Fills every row's probe result. False, after saying why, when TLS cannot be set up at all. */
bool probe_all(struct audit *a, const struct probe_options *o);

#endif
