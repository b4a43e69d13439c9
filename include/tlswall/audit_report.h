/* The audit for people (a table, findings under their row) and for programs (--json, schema in tlswall(8)). */
#ifndef TLSWALL_AUDIT_REPORT_H
#define TLSWALL_AUDIT_REPORT_H

#include <stdio.h>

struct audit;

struct report_options {
	const char *policy_path;
	unsigned timeout_ms;
	unsigned expiry_days;
	const char *expected_name; /* NULL: none known */
	unsigned long elapsed_ms;  /* how long the audit took (JSON only: text output stays comparable) */
};

void audit_report_text(const struct audit *a, const struct report_options *o, FILE *out);
void audit_report_json(const struct audit *a, const struct report_options *o, FILE *out);

#endif
