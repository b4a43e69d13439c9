/* Machine-readable output (--json) through jansson. The schema is documented in tlswall(8), JSON OUTPUT. */
#ifndef TLSWALL_EMIT_JSON_H
#define TLSWALL_EMIT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct diag_list;
struct diff;
struct policy;
struct rs_table;
struct status_report;

/* Bumped when a field changes meaning or disappears (new fields do not bump it). */
#define JSON_SCHEMA_VERSION 1

/* check: diagnostics, and what the policy opens when it is valid (p may be NULL), with the ruleset hash of the table
 * it compiles to (t; NULL when it does not compile). */
void emit_json_check(const char *path, const struct policy *p, const struct rs_table *t, struct diag_list *diags,
		     bool ok, FILE *out);
/* diff: every change; at most max_elems elements listed per set (0: all), counts always complete. */
void emit_json_diff(const struct diff *d, const struct rs_table *planned, const struct rs_table *live, size_t max_elems,
		    struct diag_list *diags, FILE *out);
/* show: the live table (NULL: absent), its counters summed per service chain, and drops. */
void emit_json_show(const char *name, const struct rs_table *live, uint32_t genid, struct diag_list *diags, FILE *out);
/* status: the pending confirmation, the live table, the saved rulesets, the audit trail's last lines. */
void emit_json_status(const struct status_report *r, struct diag_list *diags, FILE *out);
/* A JSON string of s, whatever its bytes (what is not UTF-8 becomes U+FFFD); null for NULL. */
typedef struct json_t json_t;
json_t *json_text(const char *s);
/* A verb that could not do its job: {"ok": false} and why, in "diagnostics". */
void emit_json_failure(const char *table, struct diag_list *diags, FILE *out);

#endif
