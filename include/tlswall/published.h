/* The ports this host publishes through other tools' destination NAT (Docker, Podman, libvirt, a hand-written
 * DNAT), and what a policy does with the connections forwarded to them. check --live and audit report them. */
#ifndef TLSWALL_PUBLISHED_H
#define TLSWALL_PUBLISHED_H

#include <stddef.h>
#include <stdint.h>

#include "tlswall/ruleset.h"

struct diag_list;

struct published {
	uint8_t table_family; /* FAMILY_IPV4, FAMILY_IPV6, FAMILY_INET */
	char *table, *chain;
	struct rs_dnat dnat;
};

struct published_list {
	struct published *v;
	size_t n;
};

/* Every DNAT rule in the kernel's tables, in table and rule order. 0 or -errno. */
int published_read(struct published_list *out);
void published_release(struct published_list *l);

enum published_verdict {
	PUBLISHED_ALLOWED,      /* every port of it, from any source */
	PUBLISHED_SOME,         /* some ports or some sources only */
	PUBLISHED_BLOCKED,      /* new connections forwarded to it are dropped or rejected */
	PUBLISHED_NOT_JUDGED,   /* the ruleset has no forward chain (published_ports = false) */
};

/* What ruleset t does with new connections to the published ports of p (through its input chain: the forward
 * chain sends them through the same service chains). */
enum published_verdict published_judge(const struct rs_table *t, const struct published *p);
const char *published_verdict_text(enum published_verdict v);
/* "tcp port 443", "tcp ports 8000-8010, 9000", "every port": what p publishes. Allocated. */
char *published_ports_text(const struct published *p);
/* "table ip nat, chain DOCKER (to 172.30.0.2 port 443)". Allocated. */
char *published_where_text(const struct published *p);

/* check --live: one diagnostic per published port, a warning where planned blocks it or leaves it unjudged. */
void published_report(const struct rs_table *planned, struct diag_list *diags);

#endif
