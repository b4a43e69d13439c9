/* Address list files: one address, CIDR or range per line, '#' comments. Large lists are data, not config. */
#ifndef TLSWALL_LISTFILE_H
#define TLSWALL_LISTFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "tlswall/trust.h"

struct addr_list;
struct diag_list;
struct policy;
struct state;

/* Most diagnostics reported for one list file before it stops (a wrong file can have a million bad lines). */
#define LISTFILE_MAX_DIAGS 20

/* Reads path into out (normalized). Bad lines are reported with the list file's own FILE:LINE; a file that cannot
 * be read at all sets *io_error to why (the caller knows which policy line named it). False on any error. */
bool listfile_read(const char *path, struct addr_list *out, enum trust_mode trust, struct diag_list *diags,
		   const char **io_error);
/* Parses text already in memory; name labels diagnostics. */
bool listfile_parse(const char *text, size_t len, const char *name, struct addr_list *out, struct diag_list *diags);

/* Reads the list file of every named set that has one. */
void listfile_load_sets(struct policy *p, enum trust_mode trust, struct diag_list *diags);
/* The same, with the state directory cache (NULL: none) keeping what each list file parsed to: a file whose device,
 * inode, size, modification time and content hash are those cached is not parsed again. */
void listfile_load_sets_cached(struct policy *p, enum trust_mode trust, struct state *cache, struct diag_list *diags);

#endif
