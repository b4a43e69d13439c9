/* What the compiler's passes share (compile.c runs them; compile_payload.c holds the payload checks). Private. */
#ifndef TLSWALL_COMPILER_H
#define TLSWALL_COMPILER_H

#include <stdbool.h>

#include "tlswall/policy.h"
#include "tlswall/ruleset.h"

struct compiler {
	const struct policy *p;
	struct rs_table *t;
	struct rs_set *map;     /* the services map: proto . port -> jump, NULL while no port is open */
	struct rs_set *payload; /* ports whose payload is checked -> jump to their check, NULL: none */
};

void compiler_set_origin(struct compiler *c, struct rs_rule *r, struct loc l);
/* A verdict map keyed by protocol and port (with ranges, when any port is one). */
struct rs_set *compiler_port_map(struct compiler *c, const char *name, bool ranges);
void compiler_map_port(struct rs_set *map, const struct port_range *port, const char *chain);
/* A chain named PREFIX.NAME for service s, with its policy line. */
struct rs_chain *compiler_service_chain(struct compiler *c, const char *prefix, const struct service *s);

/* One rule per address source of `from` (a named set, or inline addresses in sets named LITERAL_BASE.v4/.v6),
 * each with the interfaces, a counter if asked, and the verdict. */
void compiler_source_rules(struct compiler *c, struct rs_chain *chain, const char *literal_base,
			   const struct source_list *from, char *const *ifaces, size_t nifaces, struct loc origin,
			   enum rs_verdict_code verdict, bool counter);
/* What is left after every entry had its say: logged if the policy logs, counted, dropped or rejected. */
void compiler_refuse(struct compiler *c, struct rs_chain *chain);

/* Pass: what the kernel checks in what clients send to the ports that ask for it. */
void pass_payload_checks(struct compiler *c);
/* ct mark & mask == value: a connection whose check is still pending (rule r then jumps to its pending chain). */
void compiler_match_pending(struct rs_rule *r, uint32_t mask, uint32_t value);
/* A pending chain NAME (compile_payload.c): a segment that starts a TLS record clears the connection (when a TCP
 * port's payload is checked), with no lookup; the caller adds the rules that send what else carries a payload on to
 * its port's check, each begun with compiler_match_payload(). */
struct rs_chain *compiler_pending_chain(struct compiler *c, const char *name);
/* The packet carries a payload: the first byte after the transport header is there. */
void compiler_match_payload(struct rs_rule *r);
/* Pass: connections forwarded through ports published on this host's addresses. */
void pass_published(struct compiler *c);

#endif
