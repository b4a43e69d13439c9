/* commit1 TABLE SET NETWORK ROUNDS: the kernel's cost of a one-element commit to interval set SET of table inet
 * TABLE, without any tool around it: ROUNDS times, one batch deleting NETWORK (an IPv4 CIDR that is an element of the
 * set) and one adding it back, each timed from its sendmsg to its acknowledgement. Prints "delete MS add MS", the
 * medians in milliseconds. The set's other elements must not touch NETWORK (as in the benchmark's lists). */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* one batch: the element's start and its end marker, deleted or added; the time from sendmsg to the ack */
static double commit(struct mnl_socket *nl, const char *table, const char *set, uint32_t first, uint32_t end, int add,
		     uint32_t *seq)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_nlmsg_batch *batch = mnl_nlmsg_batch_start(buf, sizeof(buf));
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elem *e;
	struct nlmsghdr *nlh;
	double t0, t;
	int ret;

	nftnl_batch_begin(mnl_nlmsg_batch_current(batch), (*seq)++);
	mnl_nlmsg_batch_next(batch);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	e = nftnl_set_elem_alloc();
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &first, 4);
	nftnl_set_elem_add(s, e);
	e = nftnl_set_elem_alloc();
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &end, 4);
	nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
	nftnl_set_elem_add(s, e);
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(batch), add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
				    NFPROTO_INET, add ? NLM_F_CREATE | NLM_F_ACK : NLM_F_ACK, (*seq)++);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	mnl_nlmsg_batch_next(batch);
	nftnl_batch_end(mnl_nlmsg_batch_current(batch), (*seq)++);
	mnl_nlmsg_batch_next(batch);
	nftnl_set_free(s);
	t0 = now_ms();
	if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(batch), mnl_nlmsg_batch_size(batch)) < 0) {
		perror("sendmsg");
		exit(1);
	}
	ret = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf));
	t = now_ms() - t0;
	if (ret > 0 && mnl_cb_run(buf, (size_t)ret, 0, mnl_socket_get_portid(nl), NULL, NULL) < 0) {
		fprintf(stderr, "commit1: the kernel refused the %s: %s\n", add ? "addition" : "deletion", strerror(errno));
		exit(1);
	}
	mnl_nlmsg_batch_stop(batch);
	return t;
}

int main(int argc, char **argv)
{
	struct mnl_socket *nl;
	struct in_addr a;
	char net[64], *slash;
	unsigned plen;
	uint32_t first, end, seq = (uint32_t)time(NULL);
	int rounds;
	double *del, *add;

	if (argc != 5 || strlen(argv[3]) >= sizeof(net)) {
		fprintf(stderr, "usage: commit1 TABLE SET IPV4/LEN ROUNDS\n");
		return 2;
	}
	strcpy(net, argv[3]);
	slash = strchr(net, '/');
	plen = slash ? (unsigned)atoi(slash + 1) : 32;
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, net, &a) != 1 || plen == 0 || plen > 32) {
		fprintf(stderr, "commit1: %s is not an IPv4 network\n", argv[3]);
		return 2;
	}
	rounds = atoi(argv[4]) > 0 ? atoi(argv[4]) : 1;
	first = a.s_addr;
	end = htonl(ntohl(a.s_addr) + (plen == 32 ? 1u : 1u << (32 - plen)));
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("netlink");
		return 1;
	}
	del = calloc((size_t)rounds, sizeof(*del));
	add = calloc((size_t)rounds, sizeof(*add));
	for (int i = 0; i < rounds; i++) {
		del[i] = commit(nl, argv[1], argv[2], first, end, 0, &seq);
		add[i] = commit(nl, argv[1], argv[2], first, end, 1, &seq);
	}
	qsort(del, (size_t)rounds, sizeof(*del), cmp);
	qsort(add, (size_t)rounds, sizeof(*add), cmp);
	printf("delete %.3f add %.3f\n", del[rounds / 2], add[rounds / 2]);
	mnl_socket_close(nl);
	free(del);
	free(add);
	return 0;
}
