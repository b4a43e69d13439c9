/* What a ruleset model would do with the first packet of a new connection: the lockout and coexistence guards ask
 * "would this be dropped?" without sending anything. */
#ifndef TLSWALL_EVALUATE_H
#define TLSWALL_EVALUATE_H

#include <stdbool.h>
#include <stdint.h>

struct rs_chain;
struct rs_rule;
struct rs_table;

struct packet {
	int family;          /* 4 or 6 */
	uint8_t saddr[16];   /* network order; IPv4 in the first 4 bytes */
	uint8_t l4proto;     /* 6 tcp, 17 udp */
	uint16_t dport;
	char iifname[16];    /* "" when unknown */
	bool not_loopback;   /* iifname unknown, but not "lo": it came from the network */
	bool any_source;     /* the source is not known: address matches cannot be decided */
};

enum verdict {
	EVAL_ACCEPT,
	EVAL_DROP,
	EVAL_UNKNOWN, /* a rule tlswall cannot read decided, or might have */
};

/* The rule that decided (NULL: the chain's policy) and the chain it is in. */
struct eval_trace {
	const struct rs_chain *chain;
	const struct rs_rule *rule;
};

/* Runs p through base chain `base` of t as a new connection (ct state new). */
enum verdict evaluate(const struct rs_table *t, const struct rs_chain *base, const struct packet *p,
		      struct eval_trace *why);

#endif
