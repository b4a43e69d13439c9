/* The kernel behind one small interface: a netfilter netlink socket, dumps, and one-transaction batches.
 * Every function returns 0 or -errno. This is the only module that includes libmnl. */
#ifndef TLSWALL_NL_H
#define TLSWALL_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nl;
struct nl_batch;
struct nlmsghdr;

int nl_open(struct nl **out);
void nl_close(struct nl *nl);

/* The ruleset generation: every commit by anyone increments it. */
int nl_genid(struct nl *nl, uint32_t *genid);

/* What a dump callback returns (the values libmnl's callbacks use). */
#define NL_CB_OK 1
#define NL_CB_STOP 0

/* Sends req (a GET request with NLM_F_DUMP; sequence number and port are filled in) and passes every reply message
 * to cb. Returns -EINTR when the kernel marks the dump interrupted by a concurrent change, or cb's negative value. */
int nl_dump(struct nl *nl, struct nlmsghdr *req, int (*cb)(const struct nlmsghdr *nlh, void *data), void *data);

/* A batch is one transaction: everything in it is committed, or nothing is. With genid, the kernel rejects the batch
 * (-ERESTART) if the ruleset changed after that generation was read. */
struct nl_batch *nl_batch_alloc(struct nl *nl, const uint32_t *genid);
void nl_batch_free(struct nl_batch *b);

/* Starts a message in the batch; the caller fills the payload (libnftnl) and then calls nl_batch_msg_done.
 * *seq identifies the message in the kernel's reply. */
struct nlmsghdr *nl_batch_msg(struct nl_batch *b, uint16_t type, uint16_t family, uint16_t flags, uint32_t *seq);
void nl_batch_msg_done(struct nl_batch *b);
/* Messages and bytes in the batch so far (without begin and end). */
size_t nl_batch_messages(const struct nl_batch *b);
size_t nl_batch_bytes(const struct nl_batch *b);

struct nl_failure {
	uint32_t seq;     /* which message; the batch's begin or end when the commit as a whole failed */
	int error;        /* -errno */
	char *message;    /* the kernel's extended ack text, or NULL */
	char *where;      /* "expression 3 (lookup)" when the kernel pointed at an attribute, or NULL */
};

struct nl_commit_result {
	struct nl_failure *failures;
	size_t nfailures;
	uint32_t begin_seq, end_seq;
};

/* Sends the batch in one sendmsg. Returns 0 once the kernel has committed it; otherwise -errno (the first failure)
 * with every failing message in res. Nothing is applied when this fails. */
int nl_batch_commit(struct nl *nl, struct nl_batch *b, struct nl_commit_result *res);
void nl_commit_result_release(struct nl_commit_result *res);

/* Sockets of this network namespace, from sock_diag: what the lockout guard looks at. */
struct nl_socket {
	uint8_t family;      /* AF_INET, AF_INET6 */
	uint8_t proto;       /* IPPROTO_TCP, IPPROTO_UDP */
	uint8_t state;       /* TCP_ESTABLISHED, TCP_LISTEN, ... (UDP: 7 unconnected, 1 connected) */
	uint8_t local[16], remote[16];
	uint16_t lport, rport;
	uint32_t inode;
};

/* Every socket of family and proto whose state bit (1 << state) is in states; family AF_UNSPEC (TCP only): both
 * families in one dump. */
int nl_sockets(int family, int proto, uint32_t states, struct nl_socket **out, size_t *n);
/* The interface this host uses to reach addr, so the one its packets arrive on ("lo" for local addresses). */
int nl_route_iface(int family, const uint8_t *addr, char name[16]);

#endif
