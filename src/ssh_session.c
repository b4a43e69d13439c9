#include <arpa/inet.h>
#include <net/if.h>
#include <stdbool.h>
#include <string.h>

#include "tlswall/ssh_session.h"

/* One space-separated field of text, copied into buf; false when there is none or it does not fit. */
static bool field(const char **text, char *buf, size_t len)
{
	size_t n;

	while (**text == ' ')
		(*text)++;
	n = strcspn(*text, " ");
	if (n == 0 || n >= len)
		return false;
	memcpy(buf, *text, n);
	buf[n] = '\0';
	*text += n;
	return true;
}

static bool port(const char *text, uint16_t *out)
{
	unsigned long v = 0;

	if (!*text || strlen(text) > 5)
		return false;
	for (const char *c = text; *c; c++) {
		if (*c < '0' || *c > '9')
			return false;
		v = v * 10 + (unsigned long)(*c - '0');
	}
	if (v < 1 || v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

/* An address, with the zone a link-local IPv6 address carries ("fe80::1%eth0", or "%2" by index) split off into
 * iface; false with *why when it is not one. */
static bool address(char *text, int *family, uint8_t out[16], char iface[16], const char **why)
{
	char *zone = strchr(text, '%');

	iface[0] = '\0';
	if (zone) {
		unsigned long index = 0;
		char *end = zone + 1;

		*zone++ = '\0';
		while (*end >= '0' && *end <= '9')
			index = index * 10 + (unsigned long)(*end++ - '0');
		if (*zone && !*end && end - zone < 10) {
			if (!if_indextoname((unsigned)index, iface)) {
				*why = "its zone is not the index of an interface here";
				return false;
			}
		} else if (!*zone || strlen(zone) >= 16 || strchr(zone, '/')) {
			*why = "its zone is not an interface name";
			return false;
		} else {
			strcpy(iface, zone);
		}
	}
	memset(out, 0, 16);
	if (!zone && inet_pton(AF_INET, text, out) == 1) {
		*family = 4;
		return true;
	}
	if (inet_pton(AF_INET6, text, out) == 1) {
		*family = 6;
		return true;
	}
	*why = "an address is not an IPv4 or IPv6 address";
	return false;
}

enum ssh_session_found ssh_session_parse(const char *text, struct ssh_session *s, const char **why)
{
	char client[64], cport[16], server[64], sport[16], server_iface[16];
	uint8_t server_addr[16];
	int server_family;

	memset(s, 0, sizeof(*s));
	*why = NULL;
	if (!text || !*text)
		return SSH_SESSION_NONE;
	if (!field(&text, client, sizeof(client)) || !field(&text, cport, sizeof(cport)) ||
	    !field(&text, server, sizeof(server)) || !field(&text, sport, sizeof(sport)) || text[strspn(text, " ")]) {
		*why = "it does not hold four fields";
		return SSH_SESSION_MALFORMED;
	}
	if (!port(cport, &s->client_port) || !port(sport, &s->server_port)) {
		*why = "a port is not a number from 1 to 65535";
		return SSH_SESSION_MALFORMED;
	}
	if (!address(server, &server_family, server_addr, server_iface, why) ||
	    !address(client, &s->family, s->client, s->iface, why))
		return SSH_SESSION_MALFORMED;
	return SSH_SESSION_FOUND;
}
