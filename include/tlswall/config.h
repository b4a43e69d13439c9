/* The policy file reader: libconfig text -> policy model. The only module that includes <libconfig.h>. */
#ifndef TLSWALL_CONFIG_H
#define TLSWALL_CONFIG_H

#include "tlswall/trust.h"

struct diag_list;
struct policy;

/* Syntax errors, unknown keys, wrong types and malformed values go to diags with FILE:LINE. Returns the policy
 * read so far, or NULL when the file could not be read or parsed at all. */
struct policy *config_load_file(const char *path, enum trust_mode trust, struct diag_list *diags);
/* The same for text in memory (fuzzing, tests); name is what diagnostics call the file. */
struct policy *config_load_string(const char *text, const char *name, struct diag_list *diags);

#endif
