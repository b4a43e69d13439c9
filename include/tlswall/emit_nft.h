/* The ruleset model as nft text: a script `nft -f` loads as one transaction, or a listing for humans. */
#ifndef TLSWALL_EMIT_NFT_H
#define TLSWALL_EMIT_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct rs_rule;
struct rs_set;
struct rs_table;
struct sbuf;

/* A script that creates or replaces table inet <name> and nothing else: "table" (creates it if missing),
 * "delete table", then the new table, which nft commits as one transaction. */
void emit_nft_script(const struct rs_table *t, FILE *out);

enum emit_flags {
	EMIT_COUNTERS = 1,  /* "counter packets N bytes M" instead of "counter" */
	EMIT_HANDLES = 2,   /* "# handle N" after rules, as nft -a */
	EMIT_FOREIGN = 4,   /* "# not made by tlswall" after rules someone else added */
	EMIT_PRINTABLE = 8, /* for a terminal: names and strings from the kernel made printable (sbuf_put_printable) */
};

/* "table inet NAME { ... }" */
void emit_nft_table(const struct rs_table *t, unsigned flags, FILE *out);
/* One rule, without indentation or newline. */
void emit_nft_rule(const struct rs_rule *r, unsigned flags, struct sbuf *sb);
/* One element of a set ("192.0.2.0/24", "tcp . 443 : jump svc.https"). */
void emit_nft_elem(const struct rs_set *s, size_t i, unsigned flags, struct sbuf *sb);
/* The set's declaration lines without elements ("type ...", "flags ..."). */
void emit_nft_set_header(const struct rs_set *s, const char *indent, unsigned flags, struct sbuf *sb);

#endif
