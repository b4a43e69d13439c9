/* The built-in service catalogue: which ports speak TLS from the first byte, which can upgrade, which cannot. */
#ifndef TLSWALL_CATALOG_H
#define TLSWALL_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tls_kind {
	TLS_IMPLICIT,   /* TLS (or DTLS) from the first byte */
	TLS_UPGRADABLE, /* plaintext that can switch to TLS in-protocol (STARTTLS and friends) */
	TLS_PLAINTEXT,  /* no TLS at all; opened only by an exemption with a reason */
};

enum l4proto {
	L4_TCP = 6,
	L4_UDP = 17,
};

/* One protocol and an inclusive port range (first == last for a single port). */
struct port_range {
	uint8_t proto;
	uint16_t first, last;
};

#define CATALOG_MAX_PORTS 2

/* What an implicit-TLS service's UDP port carries from its first datagram. */
enum udp_wire {
	WIRE_NONE,
	WIRE_QUIC, /* QUIC (HTTP/3, DNS over QUIC) */
	WIRE_DTLS,
};

/* Where an upgradable protocol's client sends a plaintext login, at a fixed place in its line: the commands the
 * credential guard refuses before the upgrade. */
struct login_commands {
	bool tagged;                  /* after a tag and a space, as IMAP's "a1 LOGIN" */
	const char *const *commands;  /* upper case, NULL-terminated */
};

struct catalog_entry {
	const char *name;
	struct port_range ports[CATALOG_MAX_PORTS];
	size_t nports;
	enum tls_kind kind;
	const char *twin;      /* the plaintext counterpart of an implicit service, the TLS one of an upgradable */
	const char *upgrade;   /* how an upgradable service switches to TLS */
	const char *reference;
	const char *note;
	enum udp_wire udp_wire;                 /* implicit TLS with a UDP port */
	const struct login_commands *logins;    /* upgradable; NULL: no fixed place (LDAP's BER, XMPP's XML) */
};

const struct catalog_entry *catalog_find(const char *name);
/* The closest name within a small edit distance, or NULL. */
const struct catalog_entry *catalog_suggest(const char *name);
/* The entry whose ports include proto/port, or NULL. */
const struct catalog_entry *catalog_by_port(uint8_t proto, uint16_t port);
size_t catalog_size(void);
const struct catalog_entry *catalog_at(size_t i);

const char *tls_kind_name(enum tls_kind kind);
const char *l4proto_name(uint8_t proto);
/* "443/tcp", "50000-50100/tcp" */
void port_range_format(const struct port_range *p, char *buf, size_t len);

#endif
