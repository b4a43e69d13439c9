/* A kernel dump of tlswall's table -> the ruleset model (the reverse of nl_encode). */
#ifndef TLSWALL_NL_DECODE_H
#define TLSWALL_NL_DECODE_H

#include <stddef.h>
#include <stdint.h>

struct nl;
struct rs_table;

/* Reads table inet <name> into *out (NULL when the table does not exist) as one consistent snapshot: if anyone
 * commits while it is being read, it is read again. *genid is the generation the snapshot belongs to. What tlswall
 * did not make (a rule or set added by hand) is kept as foreign objects with a description. */
int nl_read_table(struct nl *nl, const char *name, struct rs_table **out, uint32_t *genid);
/* The same for a table of another family (ip, ip6, inet...): the coexistence guard reads other tools' tables.
 * Without named_elements, named sets are read without their elements (which can be millions) and are marked
 * foreign, so that a lookup in one counts as unknown. */
int nl_read_table_family(struct nl *nl, uint8_t family, const char *name, bool named_elements, struct rs_table **out,
			 uint32_t *genid);

struct nl_table_name {
	uint8_t family;
	char name[257];
	bool dormant;
};

/* Every table in the ruleset, of every family. */
int nl_list_tables(struct nl *nl, struct nl_table_name **out, size_t *n);

#endif
