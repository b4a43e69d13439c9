/* The pipeline as one straight function: load the policy, read its lists, validate, compile. */
#ifndef TLSWALL_PIPELINE_H
#define TLSWALL_PIPELINE_H

#include <stdbool.h>

#include "tlswall/trust.h"

struct diag_list;
struct policy;
struct rs_table;

struct pipeline {
	struct policy *policy;
	struct rs_table *table;   /* NULL when the policy has errors */
	struct diag_list *diags;  /* everything found, to be printed once by the verb */
};

/* True when the policy compiled (there may be warnings). */
bool pipeline_build(struct pipeline *pl, const char *path, enum trust_mode trust);
void pipeline_release(struct pipeline *pl);

#endif
