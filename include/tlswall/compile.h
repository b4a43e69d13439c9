/* The compiler: a validated policy -> the ruleset model of table inet <table>. */
#ifndef TLSWALL_COMPILE_H
#define TLSWALL_COMPILE_H

struct policy;
struct rs_table;

/* Deterministic: the same policy always gives the same model. The policy must be free of errors. The sets of a list
 * read in place (addr.h: wire form) point into the policy's copy of it: the policy must outlive the table. */
struct rs_table *compile_policy(const struct policy *p);

/* Names tlswall gives the objects it creates (shared with read-back, which must recognize them). Chains named
 * PREFIX.NAME belong to the policy entry NAME. */
#define COMPILE_INPUT_CHAIN "input"
#define COMPILE_PREROUTING_CHAIN "prerouting"  /* marks new connections to this host's addresses */
#define COMPILE_FORWARD_CHAIN "forward"        /* judges those forwarded through a published port */
#define COMPILE_PUBLISHED_PREFIX "published"   /* the services map per protocol, keyed by the original port */
#define COMPILE_SERVICE_MAP "services"
#define COMPILE_PAYLOAD_MAP "payload"          /* ports whose payload is checked -> their check chain */
#define COMPILE_PENDING_CHAIN "pending"        /* connections whose check is pending: TLS passes, the rest to checks */
#define COMPILE_SERVICE_PREFIX "svc"           /* a service: its sources and counter */
#define COMPILE_EXEMPTION_PREFIX "exempt"      /* an exemption */
#define COMPILE_PLAINTEXT_PREFIX "plaintext"   /* what a payload check refused: counted, logged, dropped */

#include <stdbool.h>

/* Whether a chain of the table exists for the payload checks (a port's check, a service's plaintext chain, a pending
 * chain): what it counts belongs to the entries it checks, not beside them. */
bool compile_is_check_chain(const char *name);

#endif
