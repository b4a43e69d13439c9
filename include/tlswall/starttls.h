/* The plaintext dialogues that lead to STARTTLS, one per upgradable service of the catalogue: far enough to see
 * the upgrade offered (and whether a plaintext login is offered before it), then the upgrade command itself. No I/O
 * here: the caller feeds the server's bytes in and sends what the dialogue queues. */
#ifndef TLSWALL_STARTTLS_H
#define TLSWALL_STARTTLS_H

#include <stdbool.h>
#include <stddef.h>

struct sbuf;

enum dialogue_result {
	DLG_MORE,        /* send what was queued, wait for more */
	DLG_UPGRADE,     /* the server agreed: TLS starts with the next byte */
	DLG_NOT_OFFERED, /* the server does not offer the upgrade */
	DLG_REFUSED,     /* offered, but the upgrade command was refused */
	DLG_UNEXPECTED,  /* not the protocol expected */
	DLG_DONE,        /* a login check (check_login) has its answer */
};

struct dialogue {
	const char *protocol; /* the catalogue name */
	const char *name;     /* this host's name, for EHLO and the XMPP stream header */
	bool check_login;     /* FTP: only send USER, and see whether it is refused without TLS */
	int step;
	bool offered;
	char *login;          /* what advertises a plaintext login before the upgrade */
	char *detail;         /* the server's words, for a result other than DLG_UPGRADE */
};

/* Whether the catalogue service of that name has a dialogue here. */
bool dialogue_known(const char *protocol);
/* Whether it needs a connection of its own to check for a plaintext login (FTP: USER before AUTH TLS). */
bool dialogue_needs_login_check(const char *protocol);
/* Starts a dialogue; protocols where the client speaks first queue their opening on out. */
void dialogue_begin(struct dialogue *d, const char *protocol, const char *name, bool check_login, struct sbuf *out);
/* Consumes the server's bytes (in: all received and not yet consumed; *used says how many were), queuing replies. */
enum dialogue_result dialogue_input(struct dialogue *d, const char *in, size_t len, size_t *used, struct sbuf *out);
void dialogue_release(struct dialogue *d);

#endif
