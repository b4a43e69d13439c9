/* Shared by the unit tests: policy text compiled to the ruleset model, as `tlswall generate` compiles a file.
 * Include after <cmocka.h>. The model points into the policy (FILE:LINE of each rule), so both go together. */
#ifndef TLSWALL_TEST_BUILT_H
#define TLSWALL_TEST_BUILT_H

#include "tlswall/compile.h"
#include "tlswall/config.h"
#include "tlswall/diag.h"
#include "tlswall/policy.h"
#include "tlswall/ruleset.h"
#include "tlswall/validate.h"

struct built {
	struct policy *p;
	struct rs_table *t;
};

static inline struct built built_alloc(const char *text)
{
	struct diag_list *d = diag_list_alloc();
	struct built b;

	b.p = config_load_string(text, "test.conf", d);
	assert_non_null(b.p);
	validate_policy(b.p, d);
	if (diag_errors(d)) {
		diag_print(d, stderr);
		fail_msg("the test policy has errors");
	}
	b.t = compile_policy(b.p);
	assert_non_null(b.t);
	diag_list_free(d);
	return b;
}

static inline void built_free(struct built *b)
{
	rs_table_free(b->t);
	policy_free(b->p);
	b->t = NULL;
	b->p = NULL;
}

#endif
