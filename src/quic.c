#include <stdlib.h>
#include <string.h>

#include "tlswall/quic.h"
#include "tlswall/util.h"

/* Versions of the form 0x?a?a?a?a are reserved to force version negotiation (RFC 9000 15). */
#define FORCE_NEGOTIATION 0x1a2a3a4au

void quic_initial(uint8_t *buf, const uint8_t dcid[8], const uint8_t scid[8])
{
	size_t i = 0, rest;

	memset(buf, 0, QUIC_INITIAL_SIZE);
	buf[i++] = 0xc0; /* long header, fixed bit, type Initial, 1-byte packet number */
	buf[i++] = (uint8_t)(FORCE_NEGOTIATION >> 24);
	buf[i++] = (uint8_t)(FORCE_NEGOTIATION >> 16);
	buf[i++] = (uint8_t)(FORCE_NEGOTIATION >> 8);
	buf[i++] = (uint8_t)FORCE_NEGOTIATION;
	buf[i++] = 8;
	memcpy(buf + i, dcid, 8);
	i += 8;
	buf[i++] = 8;
	memcpy(buf + i, scid, 8);
	i += 8;
	buf[i++] = 0; /* token length */
	/* the rest of the datagram: a 2-byte varint length, a packet number, and padding (zero bytes are PADDING
	 * frames) */
	rest = QUIC_INITIAL_SIZE - i - 2;
	buf[i++] = (uint8_t)(0x40 | (rest >> 8));
	buf[i++] = (uint8_t)rest;
}

enum quic_reply quic_parse(const uint8_t *buf, size_t len, const uint8_t scid[8], uint32_t **versions, size_t *n)
{
	uint32_t version;
	size_t i, dlen, slen;

	*versions = NULL;
	*n = 0;
	if (len < 7 || !(buf[0] & 0x80))
		return QUIC_NOT_QUIC;
	version = (uint32_t)buf[1] << 24 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 8 | buf[4];
	dlen = buf[5];
	if (6 + dlen + 1 > len)
		return QUIC_NOT_QUIC;
	slen = buf[6 + dlen];
	i = 7 + dlen + slen;
	if (i > len)
		return QUIC_NOT_QUIC;
	/* the server puts our source connection ID in its destination field */
	if (dlen != 8 || memcmp(buf + 6, scid, 8) != 0)
		return QUIC_NOT_QUIC;
	if (version != 0)
		return QUIC_INITIAL_BACK;
	for (; i + 4 <= len; i += 4) {
		*versions = x_reallocarray(*versions, *n + 1, sizeof(**versions));
		(*versions)[(*n)++] = (uint32_t)buf[i] << 24 | (uint32_t)buf[i + 1] << 16 | (uint32_t)buf[i + 2] << 8 |
				      buf[i + 3];
	}
	return QUIC_VERSION_NEGOTIATION;
}
