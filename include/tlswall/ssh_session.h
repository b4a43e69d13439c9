/* The SSH session this process runs over, from SSH_CONNECTION, for the lockout guard. */
#ifndef TLSWALL_SSH_SESSION_H
#define TLSWALL_SSH_SESSION_H

#include <stdint.h>

struct ssh_session {
	int family;              /* 4 or 6 */
	uint8_t client[16];      /* network order; IPv4 in the first 4 bytes */
	uint16_t client_port;
	uint16_t server_port;
	char iface[16];          /* a link-local client's zone (fe80::1%eth0): the interface it comes in on; or "" */
};

enum ssh_session_found {
	SSH_SESSION_NONE,      /* SSH_CONNECTION is unset or empty: not an SSH session */
	SSH_SESSION_FOUND,
	SSH_SESSION_MALFORMED, /* set, but not "CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT": *why says what is wrong */
};

/* Parses text, the value of SSH_CONNECTION (NULL when it is unset). */
enum ssh_session_found ssh_session_parse(const char *text, struct ssh_session *s, const char **why);

#endif
