/* Just enough QUIC to ask whether a QUIC server is there (RFC 9000): an Initial packet whose version no server
 * speaks, which a QUIC server must answer with a Version Negotiation packet listing its versions. Nothing is
 * encrypted, and no connection is made. */
#ifndef TLSWALL_QUIC_H
#define TLSWALL_QUIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A QUIC client's first datagram is padded to at least 1200 bytes; servers ignore shorter ones. */
#define QUIC_INITIAL_SIZE 1200

/* Fills buf (QUIC_INITIAL_SIZE bytes) with an Initial packet; dcid and scid are 8 random bytes each. */
void quic_initial(uint8_t *buf, const uint8_t dcid[8], const uint8_t scid[8]);

enum quic_reply {
	QUIC_NOT_QUIC,           /* not a reply to our packet */
	QUIC_VERSION_NEGOTIATION,
	QUIC_INITIAL_BACK,       /* a long-header packet of a real version: the server took it as a first flight */
};

/* Reads a datagram from the server. For a Version Negotiation, *versions (to free) lists what the server speaks. */
enum quic_reply quic_parse(const uint8_t *buf, size_t len, const uint8_t scid[8], uint32_t **versions, size_t *n);

#endif
