/* The sockets this host offers to the network: listening TCP and bound UDP sockets, IPv4 and IPv6, from sock_diag,
 * each with the processes that own it (found in /proc by socket inode). */
#ifndef TLSWALL_LISTENERS_H
#define TLSWALL_LISTENERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct listener_owner {
	int pid;
	char name[16]; /* /proc/PID/comm */
};

struct listener {
	int family;         /* 4 or 6 */
	uint8_t proto;      /* L4_TCP, L4_UDP */
	uint8_t addr[16];   /* the bound address, network order; IPv4 in the first 4 bytes */
	uint16_t port;
	struct listener_owner *owners; /* sorted by pid; none when /proc does not say (another user's process) */
	size_t nowners;
};

/* Every listener, sorted by protocol, port, family and address; sockets sharing one address and port (SO_REUSEPORT,
 * pre-forked workers) are one listener with several owners. 0 or -errno. */
int listeners_read(struct listener **out, size_t *n);
void listeners_free(struct listener *v, size_t n);

/* 127.0.0.0/8 or ::1 (or ::ffff:127.x): only this host can reach it. */
bool listener_is_loopback(const struct listener *l);
/* 0.0.0.0 or :: */
bool listener_is_wildcard(const struct listener *l);

#endif
