/* A policy's text as libconfig is given it: the policy file with every @include expanded in place, each file read
 * once (so the bytes that were trust-checked are the bytes parsed), and a map from the lines of the whole back to
 * each file's own lines. Reading it also catches what libconfig 1.5 would misread or report in misleading terms:
 * a byte order mark (skipped), integers it would truncate, nesting deep enough to exhaust its parser, an @include
 * loop, a NUL byte, a string or comment left open. */
#ifndef TLSWALL_POLICY_TEXT_H
#define TLSWALL_POLICY_TEXT_H

#include "tlswall/trust.h"

struct diag_list;
struct policy_text;

/* Includes nested deeper than this are an error (libconfig's own limit is 10). */
#define POLICY_TEXT_MAX_INCLUDES 10
/* Groups, lists and arrays nested deeper than this are an error; a policy needs three levels. */
#define POLICY_TEXT_MAX_NESTING 32

/* Reads path and the files it includes, trust-checked according to trust. NULL, with diagnostics, when the text
 * cannot be read or holds something that stops reading, like a syntax error would. */
struct policy_text *policy_text_read_file(const char *path, enum trust_mode trust, struct diag_list *diags);
/* The same for text in memory; name labels diagnostics and gives the directory relative includes are read from.
 * Included files are not trust-checked. */
struct policy_text *policy_text_from_string(const char *text, const char *name, struct diag_list *diags);
void policy_text_free(struct policy_text *t);

/* The whole text, includes expanded, NUL-terminated. */
const char *policy_text_get(const struct policy_text *t);
/* The file and line that line of the whole text came from. */
void policy_text_locate(const struct policy_text *t, unsigned line, const char **file, unsigned *file_line);

#endif
