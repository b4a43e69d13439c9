/* The ruleset model -> libnftnl objects -> messages in a netlink batch, exactly as nft itself would encode the same
 * ruleset (so `nft list` shows the same text whichever of the two loaded it). */
#ifndef TLSWALL_NL_ENCODE_H
#define TLSWALL_NL_ENCODE_H

#include <stddef.h>
#include <stdint.h>

struct diff;
struct nl_batch;
struct rs_set;
struct rs_table;

/* What each message of a batch creates, so a kernel error names the object and the policy line behind it. */
struct nl_origin {
	uint32_t seq;
	char *what;          /* "rule 3 of chain svc.imaps", "set office.v4" */
	const char *file;    /* policy file and line, when known */
	unsigned line;
};

struct nl_origins {
	struct nl_origin *v;
	size_t n, cap;
};

const struct nl_origin *nl_origins_find(const struct nl_origins *o, uint32_t seq);
void nl_origins_release(struct nl_origins *o);

/* Replaces table inet t->name as a whole: create it if missing, delete it, create it with all its contents.
 * Returns 0, or -errno with *error set (an interface that does not exist, say). */
int nl_encode_replace(struct nl_batch *b, const struct rs_table *t, struct nl_origins *origins, char **error);
/* Only what changed in the elements of sets that stay (d must not be structural): removals, then additions. The
 * rules, chains and their counters are not touched. */
int nl_encode_delta(struct nl_batch *b, const struct rs_table *planned, const struct diff *d,
		    struct nl_origins *origins);
/* Deletes table inet name (and only it), whether or not it exists. */
void nl_encode_delete_table(struct nl_batch *b, const char *name, struct nl_origins *origins);

#endif
