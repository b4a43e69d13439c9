/* Unit tests for guard.c's reading of a change: which changes can cut no connection, so that the lockout guard need
 * not look at the established ones (the kernel's walk of its whole established-socket table). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tlswall/diff.h"
#include "tlswall/guard.h"
#include "tlswall/util.h"
#include "built.h"

/* A deny list, an allow list (the sources of imaps), and a service; A and B differ in the lists' elements only. */
static char *policy(const char *deny, const char *office)
{
	return x_asprintf("version = 1;\n"
			  "sets = { bl = [ %s ]; office = [ %s ]; };\n"
			  "deny = [ \"@bl\" ];\n"
			  "services = ( { service = \"imaps\"; from = [ \"@office\" ]; }, { service = \"https\"; } );\n",
			  deny, office);
}

/* whether live -> planned (both written as policies) can only unblock; the change must be structural or not, as said */
static bool unblocks(const char *live_text, const char *planned_text, bool structural)
{
	struct built live = built_alloc(live_text), planned = built_alloc(planned_text);
	struct diff d;
	bool r;

	diff_tables(planned.t, live.t, &d);
	assert_false(diff_empty(&d));
	assert_int_equal(d.structural, structural);
	r = guard_change_only_unblocks(&d, live.t);
	diff_release(&d);
	built_free(&planned);
	built_free(&live);
	return r;
}

/* the same for the lists of policy() */
static bool only_unblocks(const char *live_deny, const char *live_office, const char *deny, const char *office)
{
	char *lt = policy(live_deny, live_office), *pt = policy(deny, office);
	bool r = unblocks(lt, pt, false);

	free(lt);
	free(pt);
	return r;
}

#define DENY2 "\"192.0.2.0/24\", \"198.51.100.7\""
#define OFFICE2 "\"203.0.113.0/24\", \"2001:db8::/32\""

static void test_deny_list_shrinks(void **state)
{
	(void)state;
	assert_true(only_unblocks(DENY2, OFFICE2, "\"192.0.2.0/24\"", OFFICE2));
	/* both families, several elements */
	assert_true(only_unblocks(DENY2 ", \"2001:db8:9::/48\"", OFFICE2, "\"198.51.100.7\"", OFFICE2));
}

static void test_deny_list_grows(void **state)
{
	(void)state;
	assert_false(only_unblocks("\"192.0.2.0/24\"", OFFICE2, DENY2, OFFICE2));
	/* one out, one in: the new one may be an admin's address */
	assert_false(only_unblocks(DENY2, OFFICE2, "\"192.0.2.0/24\", \"198.51.100.8\"", OFFICE2));
}

/* the sources a service accepts: taking one out can cut its clients */
static void test_allow_list_shrinks(void **state)
{
	(void)state;
	assert_false(only_unblocks(DENY2, OFFICE2, DENY2, "\"203.0.113.0/24\""));
}

/* a set looked up to drop in one rule and to accept in another is not a deny list */
static void test_set_used_both_ways(void **state)
{
	(void)state;
	assert_false(unblocks("version = 1; sets = { bl = [ \"192.0.2.0/24\", \"198.51.100.7\" ]; };\n"
			      "deny = [ \"@bl\" ]; services = ( { service = \"imaps\"; from = [ \"@bl\" ]; } );\n",
			      "version = 1; sets = { bl = [ \"192.0.2.0/24\" ]; };\n"
			      "deny = [ \"@bl\" ]; services = ( { service = \"imaps\"; from = [ \"@bl\" ]; } );\n",
			      false));
}

/* anything beyond elements, or no live table: the guard looks */
static void test_structural(void **state)
{
	char *lt = policy(DENY2, OFFICE2);
	const char *pt = "version = 1; sets = { bl = [ \"192.0.2.0/24\" ]; office = [ \"203.0.113.0/24\" ]; };\n"
			 "deny = [ \"@bl\" ]; services = ( { service = \"imaps\"; from = [ \"@office\" ]; } );\n";
	struct built planned = built_alloc(pt);
	struct diff d;

	(void)state;
	assert_false(unblocks(lt, pt, true));
	diff_tables(planned.t, NULL, &d);
	assert_false(guard_change_only_unblocks(&d, NULL));
	diff_release(&d);
	built_free(&planned);
	free(lt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deny_list_shrinks),
		cmocka_unit_test(test_deny_list_grows),
		cmocka_unit_test(test_allow_list_shrinks),
		cmocka_unit_test(test_set_used_both_ways),
		cmocka_unit_test(test_structural),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
