/* pipe2, close_range: the child that takes the socket's last reference */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <libnftnl/gen.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/inet_diag.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "tlswall/nl.h"
#include "tlswall/test_hooks.h"
#include "tlswall/util.h"

/* Element messages are capped at 64 KiB by libnftnl; a page must hold the largest message whole. */
#define BATCH_PAGE_SIZE (512 * 1024)
#define BATCH_PAGE_OVERRUN (128 * 1024)
/* Dump replies come in skbs of up to 32 KiB; read with room to spare. */
#define RECV_CHUNK (64 * 1024)
/* Room for every error reply of a large batch that fails in many places. */
#define RECV_BUFFER (8 * 1024 * 1024)

struct nl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
	bool frees_pending; /* a committed batch deleted or replaced something: see nl_close */
};

struct batch_msg {
	uint32_t seq;
	const struct nlmsghdr *nlh; /* batch pages never move, so this stays valid until the batch is freed */
};

struct nl_batch {
	struct nl *nl;
	struct nftnl_batch *b;
	uint32_t begin_seq;
	struct nlmsghdr *pending;
	struct batch_msg *msgs;
	size_t nmsgs, capmsgs;
	size_t bytes;
	char *zeroed, *zeroed_end; /* a stretch of the current page already cleared */
	bool frees;                /* a message deletes or replaces something */
};

/* Pages come from malloc: clear ahead of each message so attribute padding never carries stale heap bytes to the
 * kernel. A message is at most 64 KiB plus headers, and every position in a page has BATCH_PAGE_OVERRUN bytes
 * after it. */
#define MSG_MAX (68 * 1024)

static void *clear_ahead(struct nl_batch *b)
{
	char *buf = nftnl_batch_buffer(b->b);

	if (buf < b->zeroed || buf + MSG_MAX > b->zeroed_end) {
		memset(buf, 0, BATCH_PAGE_OVERRUN);
		b->zeroed = buf;
		b->zeroed_end = buf + BATCH_PAGE_OVERRUN;
	}
	return buf;
}

int nl_open(struct nl **out)
{
	struct nl *nl = x_calloc(1, sizeof(*nl));
	int one = 1, rcvbuf = RECV_BUFFER;

	nl->sock = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl->sock) {
		int err = -errno;

		free(nl);
		return err;
	}
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;

		mnl_socket_close(nl->sock);
		free(nl);
		return err;
	}
	/* extended acks say what the kernel disliked; capped acks keep a failing 50 MB batch from being echoed back */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	if (setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0)
		setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	*out = nl;
	return 0;
}

/* nf_tables frees what a commit deleted or replaced only after an RCU grace period, and the release of a netfilter
 * socket waits for that to finish: 8-20 ms, longer than a whole small apply. Nothing is waiting for that memory, so
 * the socket's last reference goes to a child that drops it once ours is gone: the child waits for the kernel, the
 * caller does not. Returns the gate to close after our reference, or -1 if there is no child. */
static int hand_release_to_child(int sock)
{
	int gate[2];
	pid_t pid;

	if (pipe2(gate, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(gate[0]);
		close(gate[1]);
		return -1;
	}
	if (pid == 0) {
		int lo = sock < gate[0] ? sock : gate[0], hi = sock < gate[0] ? gate[0] : sock;
		char c;

		/* nothing else stays open in the child: a copy of stdout would keep the reader of a pipe waiting, and a
		 * copy of the state directory's lock would keep the next run waiting */
		if (lo > 0)
			close_range(0, (unsigned)lo - 1, 0);
		if (hi > lo + 1)
			close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
		close_range((unsigned)hi + 1, ~0U, 0);
		/* end of file once the parent has closed the gate, after its own reference */
		while (read(gate[0], &c, 1) < 0 && errno == EINTR)
			;
		test_hook_hold_release();
		close(sock);
		_exit(0);
	}
	close(gate[0]);
	return gate[1];
}

void nl_close(struct nl *nl)
{
	int gate = -1;

	if (!nl)
		return;
	if (nl->frees_pending)
		gate = hand_release_to_child(mnl_socket_get_fd(nl->sock));
	mnl_socket_close(nl->sock);
	if (gate >= 0)
		close(gate);
	free(nl);
}

/* Reads replies to the request with sequence number seq until it is done, passing data messages to cb. */
static int receive(struct nl *nl, uint32_t seq, mnl_cb_t cb, void *data)
{
	char *buf = x_malloc(RECV_CHUNK);
	int ret, intr = 0;

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, RECV_CHUNK);
		const struct nlmsghdr *nlh;
		int left;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		left = (int)n;
		for (nlh = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
			if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
				intr = 1;
		ret = mnl_cb_run(buf, (size_t)n, seq, nl->portid, cb, data);
		if (ret <= 0) {
			ret = ret < 0 ? -errno : 0;
			break;
		}
	}
	free(buf);
	if (ret == 0 && intr)
		return -EINTR;
	return ret;
}

static int gen_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_gen *gen = nftnl_gen_alloc();

	if (gen && nftnl_gen_nlmsg_parse(nlh, gen) == 0)
		*(uint32_t *)data = nftnl_gen_get_u32(gen, NFTNL_GEN_ID);
	nftnl_gen_free(gen);
	return MNL_CB_OK;
}

int nl_genid(struct nl *nl, uint32_t *genid)
{
	char buf[8192] = { 0 };
	struct nlmsghdr *nlh;
	uint32_t seq = ++nl->seq;

	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, NFPROTO_UNSPEC, NLM_F_ACK, seq);
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return receive(nl, seq, gen_cb, genid);
}

int nl_dump(struct nl *nl, struct nlmsghdr *req, int (*cb)(const struct nlmsghdr *nlh, void *data), void *data)
{
	req->nlmsg_seq = ++nl->seq;
	req->nlmsg_flags |= NLM_F_DUMP | NLM_F_REQUEST;
	if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0)
		return -errno;
	return receive(nl, req->nlmsg_seq, cb, data);
}

struct nl_batch *nl_batch_alloc(struct nl *nl, const uint32_t *genid)
{
	struct nl_batch *b = x_calloc(1, sizeof(*b));
	struct nlmsghdr *nlh;

	b->nl = nl;
	b->b = nftnl_batch_alloc(BATCH_PAGE_SIZE, BATCH_PAGE_OVERRUN);
	if (!b->b) {
		fputs("tlswall: out of memory\n", stderr);
		exit(1);
	}
	b->begin_seq = ++nl->seq;
	nlh = nftnl_batch_begin(clear_ahead(b), b->begin_seq);
	if (genid)
		mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(*genid));
	nftnl_batch_update(b->b);
	return b;
}

void nl_batch_free(struct nl_batch *b)
{
	if (!b)
		return;
	nftnl_batch_free(b->b);
	free(b->msgs);
	free(b);
}

struct nlmsghdr *nl_batch_msg(struct nl_batch *b, uint16_t type, uint16_t family, uint16_t flags, uint32_t *seq)
{
	uint32_t s = ++b->nl->seq;

	b->pending = nftnl_nlmsg_build_hdr(clear_ahead(b), type, family, flags, s);
	b->frees |= type == NFT_MSG_DELTABLE || type == NFT_MSG_DELCHAIN || type == NFT_MSG_DELRULE ||
		    type == NFT_MSG_DELSET || type == NFT_MSG_DELSETELEM || type == NFT_MSG_DELOBJ ||
		    type == NFT_MSG_DELFLOWTABLE || (flags & NLM_F_REPLACE);
	x_grow(&b->msgs, &b->capmsgs, b->nmsgs + 1, sizeof(*b->msgs));
	b->msgs[b->nmsgs].seq = s;
	b->msgs[b->nmsgs].nlh = b->pending;
	b->nmsgs++;
	if (seq)
		*seq = s;
	return b->pending;
}

void nl_batch_msg_done(struct nl_batch *b)
{
	b->bytes += b->pending->nlmsg_len;
	b->pending = NULL;
	if (nftnl_batch_update(b->b) < 0) {
		fputs("tlswall: out of memory\n", stderr);
		exit(1);
	}
}

size_t nl_batch_messages(const struct nl_batch *b)
{
	return b->nmsgs;
}

size_t nl_batch_bytes(const struct nl_batch *b)
{
	return b->bytes;
}

static const struct nlmsghdr *find_msg(const struct nl_batch *b, uint32_t seq)
{
	/* sequence numbers are assigned in order */
	size_t lo = 0, hi = b->nmsgs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->msgs[mid].seq == seq)
			return b->msgs[mid].nlh;
		if (b->msgs[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Names the expression of a rule message that the kernel's extended ack points into. */
static char *describe_offset(const struct nlmsghdr *msg, uint32_t offset)
{
	const struct nlattr *attr;
	const char *base = (const char *)msg;

	mnl_attr_for_each(attr, msg, sizeof(struct nfgenmsg)) {
		const char *a = (const char *)attr;
		const struct nlattr *expr;
		unsigned index = 0;

		if (offset < (uint32_t)(a - base) || offset >= (uint32_t)(a - base) + attr->nla_len)
			continue;
		if ((attr->nla_type & NLA_TYPE_MASK) != NFTA_RULE_EXPRESSIONS ||
		    (msg->nlmsg_type & 0xff) != NFT_MSG_NEWRULE)
			return x_asprintf("attribute %u", attr->nla_type & NLA_TYPE_MASK);
		mnl_attr_for_each_nested(expr, attr) {
			const char *e = (const char *)expr;
			const struct nlattr *field;
			const char *name = "?";

			index++;
			if (offset < (uint32_t)(e - base) || offset >= (uint32_t)(e - base) + expr->nla_len)
				continue;
			mnl_attr_for_each_nested(field, expr)
				if ((field->nla_type & NLA_TYPE_MASK) == NFTA_EXPR_NAME)
					name = mnl_attr_get_str(field);
			return x_asprintf("expression %u (%s)", index, name);
		}
		return x_strdup("the rule's expressions");
	}
	return NULL;
}

static void add_failure(struct nl_commit_result *res, const struct nl_batch *b, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	struct nl_failure *f;
	const struct nlattr *attr;
	size_t off = sizeof(*e);

	res->failures = x_reallocarray(res->failures, res->nfailures + 1, sizeof(*res->failures));
	f = &res->failures[res->nfailures++];
	memset(f, 0, sizeof(*f));
	f->seq = nlh->nlmsg_seq;
	f->error = e->error;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	mnl_attr_for_each(attr, nlh, off) {
		switch (mnl_attr_get_type(attr)) {
		case NLMSGERR_ATTR_MSG:
			if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0 && !f->message)
				f->message = x_strdup(mnl_attr_get_str(attr));
			break;
		case NLMSGERR_ATTR_OFFS:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0 && !f->where) {
				const struct nlmsghdr *msg = find_msg(b, nlh->nlmsg_seq);

				if (msg)
					f->where = describe_offset(msg, mnl_attr_get_u32(attr));
			}
			break;
		}
	}
}

int nl_batch_commit(struct nl *nl, struct nl_batch *b, struct nl_commit_result *res)
{
	int fd = mnl_socket_get_fd(nl->sock);
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct msghdr msg = { 0 };
	struct nlmsghdr *end;
	struct iovec *iov;
	size_t total = 0;
	char *buf;
	bool acked = false;
	int niov, ret = 0, sndbuf;
	socklen_t len = sizeof(sndbuf);

	memset(res, 0, sizeof(*res));
	res->begin_seq = b->begin_seq;
	res->end_seq = ++nl->seq;
	/* only the end asks for an ack: it arrives once the kernel has committed, and one ack per message would
	 * overflow the receive buffer on large batches */
	end = nftnl_batch_end(clear_ahead(b), res->end_seq);
	end->nlmsg_flags |= NLM_F_ACK;
	nftnl_batch_update(b->b);

	niov = nftnl_batch_iovec_len(b->b);
	iov = x_calloc((size_t)niov, sizeof(*iov));
	nftnl_batch_iovec(b->b, iov, (uint32_t)niov);
	for (int i = 0; i < niov; i++)
		total += iov[i].iov_len;
	/* one sendmsg carries the whole batch (two would be two transactions), so the send buffer must hold it */
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) == 0 && (size_t)sndbuf < total + 4096) {
		int want = total + 4096 > (size_t)INT32_MAX / 2 ? INT32_MAX / 2 : (int)(total + 4096);

		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want)) != 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
	}
	msg.msg_name = &kernel;
	msg.msg_namelen = sizeof(kernel);
	msg.msg_iov = iov;
	msg.msg_iovlen = (size_t)niov;
	if (sendmsg(fd, &msg, 0) < 0) {
		free(iov);
		return -errno;
	}
	free(iov);

	/* the kernel handled the whole batch inside sendmsg: every reply is already queued */
	buf = x_malloc(RECV_CHUNK);
	for (;;) {
		ssize_t n = recv(fd, buf, RECV_CHUNK, MSG_DONTWAIT);
		const struct nlmsghdr *nlh;
		int left;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			/* ENOBUFS: replies were lost, so the outcome is unknown; the caller reads the table back */
			ret = -errno;
			break;
		}
		left = (int)n;
		for (nlh = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *e;

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			e = mnl_nlmsg_get_payload(nlh);
			if (e->error == 0) {
				if (nlh->nlmsg_seq == res->end_seq)
					acked = true;
				continue;
			}
			add_failure(res, b, nlh);
		}
	}
	free(buf);
	if (ret == 0 && res->nfailures)
		ret = res->failures[0].error;
	nl->frees_pending |= ret == 0 && b->frees;
	/* kernels before the end-of-batch ack send nothing on success: no failure then means committed */
	(void)acked;
	return ret;
}

void nl_commit_result_release(struct nl_commit_result *res)
{
	for (size_t i = 0; i < res->nfailures; i++) {
		free(res->failures[i].message);
		free(res->failures[i].where);
	}
	free(res->failures);
	memset(res, 0, sizeof(*res));
}

/* A one-shot request on another netlink family (sock_diag, route), answered through cb. */
static int query(int bus, struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
	struct mnl_socket *sock = mnl_socket_open(bus);
	char *buf;
	int ret = 0;
	uint32_t portid;

	if (!sock)
		return -errno;
	if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		mnl_socket_close(sock);
		return ret;
	}
	portid = mnl_socket_get_portid(sock);
	req->nlmsg_seq = (uint32_t)time(NULL);
	if (mnl_socket_sendto(sock, req, req->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	buf = x_malloc(RECV_CHUNK);
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(sock, buf, RECV_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		ret = mnl_cb_run(buf, (size_t)n, req->nlmsg_seq, portid, cb, data);
		if (ret <= 0) {
			ret = ret < 0 ? -errno : 0;
			break;
		}
	}
	free(buf);
out:
	mnl_socket_close(sock);
	return ret;
}

struct socket_list {
	struct nl_socket *v;
	size_t n, cap;
	uint8_t proto;
};

static int socket_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	struct socket_list *l = data;
	struct nl_socket *s;

	if ((nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY && nlh->nlmsg_type != TCPDIAG_GETSOCK) ||
	    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return MNL_CB_OK;
	x_grow(&l->v, &l->cap, l->n + 1, sizeof(*l->v));
	s = &l->v[l->n++];
	memset(s, 0, sizeof(*s));
	s->family = m->idiag_family;
	s->proto = l->proto;
	s->state = m->idiag_state;
	memcpy(s->local, m->id.idiag_src, m->idiag_family == AF_INET ? 4 : 16);
	memcpy(s->remote, m->id.idiag_dst, m->idiag_family == AF_INET ? 4 : 16);
	s->lport = ntohs(m->id.idiag_sport);
	s->rport = ntohs(m->id.idiag_dport);
	s->inode = m->idiag_inode;
	return MNL_CB_OK;
}

int nl_sockets(int family, int proto, uint32_t states, struct nl_socket **out, size_t *n)
{
	char buf[256] = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct socket_list l = { NULL, 0, 0, (uint8_t)proto };
	int ret;

	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	if (family == AF_UNSPEC) {
		/* The older request asks for both families in one dump. The kernel walks its whole table of
		 * established sockets (shared by every namespace, sized by the host's memory) at every dump, however
		 * few sockets there are: one walk instead of one per family. */
		struct inet_diag_req *req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));

		if (proto != IPPROTO_TCP)
			return -EAFNOSUPPORT;
		nlh->nlmsg_type = TCPDIAG_GETSOCK;
		req->idiag_states = states;
	} else {
		struct inet_diag_req_v2 *req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));

		nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
		req->sdiag_family = (uint8_t)family;
		req->sdiag_protocol = (uint8_t)proto;
		req->idiag_states = states;
	}
	ret = query(NETLINK_SOCK_DIAG, nlh, socket_cb, &l);
	if (ret) {
		free(l.v);
		return ret;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rt = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	uint32_t *oif = data;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	if (rt->rtm_type == RTN_LOCAL) {
		*oif = 1; /* loopback: local addresses arrive on lo */
		return MNL_CB_OK;
	}
	mnl_attr_for_each(attr, nlh, sizeof(*rt))
		if (mnl_attr_get_type(attr) == RTA_OIF && mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			*oif = mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

int nl_route_iface(int family, const uint8_t *addr, char name[16])
{
	char buf[256] = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rt;
	uint32_t oif = 0;
	int ret;

	nlh->nlmsg_type = RTM_GETROUTE;
	/* the ack after the one reply ends the exchange */
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtm_family = (uint8_t)family;
	rt->rtm_dst_len = family == AF_INET ? 32 : 128;
	mnl_attr_put(nlh, RTA_DST, family == AF_INET ? 4 : 16, addr);
	ret = query(NETLINK_ROUTE, nlh, route_cb, &oif);
	if (ret)
		return ret;
	if (!oif || !if_indextoname(oif, name))
		return -ENODEV;
	return 0;
}
