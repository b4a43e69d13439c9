/* What the two halves of the decoder share: nl_decode.c reads a table, its chains and its sets from a dump;
 * nl_decode_rule.c reads one rule's expressions. Private to them. */
#ifndef TLSWALL_NL_DECODER_H
#define TLSWALL_NL_DECODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlswall/ruleset.h"

struct nftnl_rule;

/* An anonymous set of the table being read ("__set%d"): what a rule's lookup in it stands for. Keys are kept as the
 * kernel holds them; the rule that looks them up says what they are. */
struct anon_set {
	char *name;
	uint32_t keylen;
	struct anon_range {
		uint8_t first[RS_IFNAMSIZ], last[RS_IFNAMSIZ];
	} *ranges;
	size_t n, cap;
};

struct anon_sets {
	struct anon_set *v;
	size_t n, cap;
};

void anon_sets_release(struct anon_sets *a);
const struct anon_set *anon_set_find(const struct anon_sets *a, const char *name);

/* The string of user data attribute type (a comment, the owner mark), or NULL. */
char *udata_string(const void *data, uint32_t len, uint8_t type);

/* Fills r from nr: its statements, comment and owner mark. A rule holding anything the model cannot express is
 * kept whole as an unreadable rule, described in libnftnl's notation. family is the table's (an ip or ip6 table
 * implies its protocol). */
void nl_decode_rule(const struct nftnl_rule *nr, uint8_t family, const struct anon_sets *anons, struct rs_rule *r);
/* When nr (of another tool's table) translates destinations, r->dnat says what it publishes: nl_decode_dnat.c. */
void nl_decode_dnat(const struct nftnl_rule *nr, uint8_t family, const struct anon_sets *anons, struct rs_rule *r);

#endif
