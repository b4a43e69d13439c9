/* Unit tests for config.c and validate.c: policies read from memory, checked, and their diagnostics. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tlswall/config.h"
#include "tlswall/diag.h"
#include "tlswall/policy.h"
#include "tlswall/validate.h"

#define NAME "test.conf"

struct loaded {
	struct policy *p;
	struct diag_list *d;
};

/* text may leave out the "version = 1;" every policy starts with (it goes on the first line, so that the lines of
 * the diagnostics stay those of text) */
static struct loaded load(const char *text)
{
	char *full = strstr(text, "version") ? x_strdup(text) : x_asprintf("version = 1; %s", text);
	struct loaded l;

	l.d = diag_list_alloc();
	l.p = config_load_string(full, NAME, l.d);
	if (l.p)
		validate_policy(l.p, l.d);
	free(full);
	return l;
}

static void release(struct loaded *l)
{
	policy_free(l->p);
	diag_list_free(l->d);
}

/* Every error and warning, as `check` prints them. */
static char *printed(struct diag_list *d)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	diag_print(d, out);
	fclose(out);
	return text;
}

static void assert_printed(struct diag_list *d, const char *want)
{
	char *got = printed(d);

	assert_string_equal(got, want);
	free(got);
}

/* The policy gives exactly one error, at line, saying message (warnings may come with it). */
static void assert_one_error(const char *text, unsigned line, const char *message)
{
	struct loaded l = load(text);
	const struct diag *e = NULL;

	for (size_t i = 0; i < diag_count(l.d); i++)
		if (diag_at(l.d, i)->severity == DIAG_ERROR) {
			if (e) {
				char *all = printed(l.d);

				fail_msg("more than one error:\n%s", all);
			}
			e = diag_at(l.d, i);
		}
	if (!e)
		fail_msg("no error, want %s:%u: %s", NAME, line, message);
	assert_string_equal(e->file, NAME);
	assert_int_equal(e->line, line);
	assert_string_equal(e->message, message);
	release(&l);
}

static const char valid_policy[] =
	"# a policy that uses every feature\n"
	"version = 1;\n"
	"table = \"fw\";\n"
	"policy = \"reject\";\n"
	"icmp = \"all\";\n"
	"log = { rate = \"10/hour\"; prefix = \"fw: \"; };\n"
	"sets = {\n"
	"  office = [ \"192.0.2.0/25\", \"192.0.2.128/25\", \"2001:db8:1::/48\" ];\n"
	"  denied = { file = \"lists/deny.txt\"; };\n"
	"};\n"
	"deny = [ \"@denied\", \"203.0.113.9\" ];\n"
	"services = (\n"
	"  { service = \"https\"; },\n"
	"  { service = \"imap\"; starttls = true; from = [ \"@office\", \"198.51.100.0/24\" ]; },\n"
	"  { service = \"ftps\"; passive_ports = \"50000-50100\"; interfaces = [ \"eth1\", \"eth0\", \"eth1\" ]; },\n"
	"  { name = \"admin-ui\"; port = 8443; proto = \"tcp\"; tls = true; },\n"
	"  { name = \"dtls-vpn\"; port = \"4000-4010\"; proto = \"udp\"; tls = true; }\n"
	");\n"
	"exemptions = (\n"
	"  { name = \"ssh\"; port = 22; proto = \"tcp\"; from = [ \"@office\" ]; reason = \"management\"; }\n"
	");\n";

static void assert_port(const struct port_range *r, uint8_t proto, uint16_t first, uint16_t last)
{
	assert_int_equal(r->proto, proto);
	assert_int_equal(r->first, first);
	assert_int_equal(r->last, last);
}

static void test_valid_policy(void **state)
{
	struct loaded l = load(valid_policy);
	struct policy *p = l.p;
	const struct service *s;

	(void)state;
	assert_non_null(p);
	assert_printed(l.d, "");
	assert_string_equal(p->table, "fw");
	assert_int_equal(p->verdict, VERDICT_REJECT);
	assert_int_equal(p->icmp, ICMP_ALL);
	assert_true(p->log.enabled);
	assert_int_equal(p->log.rate, 10);
	assert_int_equal(p->log.unit, RATE_HOUR);
	assert_string_equal(p->log.prefix, "fw: ");

	assert_int_equal(p->nsets, 2);
	assert_string_equal(p->sets[0].name, "office");
	assert_int_equal(p->sets[0].loc.line, 8);
	assert_int_equal(p->sets[0].addrs.n4, 1); /* the two /25 merged */
	assert_int_equal(p->sets[0].addrs.v4[0].first, 0xc0000200);
	assert_int_equal(p->sets[0].addrs.v4[0].last, 0xc00002ff);
	assert_int_equal(p->sets[0].addrs.n6, 1);
	assert_true(p->sets[0].used);
	assert_string_equal(p->sets[1].file, "lists/deny.txt");
	assert_string_equal(p->sets[1].path, "lists/deny.txt");
	assert_true(p->sets[1].used);
	assert_true(p->deny.present);
	assert_int_equal(p->deny.nrefs, 1);
	assert_int_equal(p->deny.refs[0].index, 1);
	assert_int_equal(p->deny.literals.n4, 1);

	assert_int_equal(p->nservices, 6);
	s = &p->services[0];
	assert_string_equal(s->name, "https");
	assert_int_equal(s->loc.line, 13);
	assert_false(s->exemption);
	assert_int_equal(s->nports, 2);
	assert_port(&s->ports[0], L4_TCP, 443, 443);
	assert_port(&s->ports[1], L4_UDP, 443, 443);
	assert_false(s->from.present);

	s = &p->services[1];
	assert_string_equal(s->name, "imap");
	assert_true(s->starttls);
	assert_int_equal(s->nports, 1);
	assert_port(&s->ports[0], L4_TCP, 143, 143);
	assert_true(s->from.present);
	assert_int_equal(s->from.nrefs, 1);
	assert_string_equal(s->from.refs[0].name, "office");
	assert_int_equal(s->from.refs[0].index, 0);
	assert_int_equal(s->from.literals.n4, 1);

	s = &p->services[2];
	assert_string_equal(s->name, "ftps");
	assert_int_equal(s->nports, 2);
	assert_port(&s->ports[0], L4_TCP, 990, 990);
	assert_port(&s->ports[1], L4_TCP, 50000, 50100);
	/* sorted, duplicates dropped */
	assert_int_equal(s->nifaces, 2);
	assert_string_equal(s->ifaces[0], "eth0");
	assert_string_equal(s->ifaces[1], "eth1");

	s = &p->services[3];
	assert_string_equal(s->name, "admin-ui");
	assert_null(s->cat);
	assert_int_equal(s->nports, 1);
	assert_port(&s->ports[0], L4_TCP, 8443, 8443);

	s = &p->services[4];
	assert_int_equal(s->nports, 1);
	assert_port(&s->ports[0], L4_UDP, 4000, 4010);

	s = &p->services[5];
	assert_true(s->exemption);
	assert_string_equal(s->name, "ssh");
	assert_string_equal(s->reason, "management");
	assert_int_equal(s->loc.line, 20);
	assert_port(&s->ports[0], L4_TCP, 22, 22);
	release(&l);
}

static void test_defaults(void **state)
{
	struct loaded l = load("services = ( { service = \"imaps\"; } );\n");

	(void)state;
	assert_non_null(l.p);
	assert_printed(l.d, "");
	assert_string_equal(l.p->table, "tlswall");
	assert_int_equal(l.p->verdict, VERDICT_DROP);
	assert_int_equal(l.p->icmp, ICMP_ESSENTIAL);
	assert_false(l.p->log.enabled);
	assert_false(l.p->deny.present);
	release(&l);

	/* log with no settings logs at the documented default rate and prefix */
	l = load("log = { };\nservices = ( { service = \"imaps\"; } );\n");
	assert_printed(l.d, "");
	assert_true(l.p->log.enabled);
	assert_int_equal(l.p->log.rate, 5);
	assert_int_equal(l.p->log.unit, RATE_MINUTE);
	assert_string_equal(l.p->log.prefix, "tlswall: ");
	release(&l);
}

/* List files are found next to the policy that names them. */
static void test_list_file_path(void **state)
{
	struct diag_list *d = diag_list_alloc();
	struct policy *p = config_load_string("version = 1; sets = { a = { file = \"lists/a.txt\"; };\n"
					      "  b = { file = \"/abs/b.txt\"; }; };\n",
					      "/etc/tlswall/tlswall.conf", d);

	(void)state;
	assert_non_null(p);
	assert_int_equal(diag_count(d), 0);
	assert_string_equal(p->sets[0].path, "/etc/tlswall/lists/a.txt");
	assert_string_equal(p->sets[1].path, "/abs/b.txt");
	policy_free(p);
	diag_list_free(d);
}

static void test_syntax_error(void **state)
{
	struct diag_list *d = diag_list_alloc();
	struct policy *p = config_load_string("version = 1;\n\npolicy = = \"drop\";\nicmp = \"all\";\n", NAME, d);

	(void)state;
	assert_null(p);
	assert_int_equal(diag_errors(d), 1);
	assert_string_equal(diag_at(d, 0)->file, NAME);
	assert_int_equal(diag_at(d, 0)->line, 3);
	assert_string_equal(diag_at(d, 0)->message, "syntax error");
	diag_list_free(d);
}

static void test_mistakes(void **state)
{
	(void)state;
	assert_one_error("version = 1;\npolcy = \"drop\";\n", 2,
			 "unknown setting \"polcy\" at top level; did you mean \"policy\"?");
	assert_one_error("version = 1;\n\nservices = (\n  { service = \"https\"; form = [ \"192.0.2.1\" ]; }\n);\n", 4,
			 "unknown setting \"form\" in a services entry; did you mean \"from\"?");
	assert_one_error("services = ( { service = \"https\"; zzzzzz = 1; } );\n", 1,
			 "unknown setting \"zzzzzz\" in a services entry");
	assert_one_error("version = 2;\n", 1, "policy version 2 is not supported; this tlswall reads version 1");
	assert_one_error("policy = 1;\n", 1, "\"policy\" must be a string in double quotes");
	assert_one_error("policy = \"deny\";\n", 1, "\"policy\" must be \"drop\" or \"reject\", not \"deny\"");
	assert_one_error("services = (\n  { service = \"http\"; }\n);\n", 2,
			 "service \"http\" (80/tcp) is plaintext and cannot upgrade to TLS; use \"https\", or add an "
			 "exemption with a reason");
	assert_one_error("services = (\n  { service = \"imap\"; }\n);\n", 2,
			 "service \"imap\" (143/tcp) is plaintext until it upgrades with STARTTLS; add starttls = true "
			 "to allow it, or use \"imaps\"");
	assert_one_error("services = ( { service = \"htps\"; } );\n", 1,
			 "unknown service \"htps\"; did you mean \"https\"?");
	assert_one_error("services = (\n  { name = \"x\";\n    port = 0; tls = true; }\n);\n", 3,
			 "port 0 is out of range (1-65535)");
	assert_one_error("services = ( { name = \"x\"; port = 70000; tls = true; } );\n", 1,
			 "port 70000 is out of range (1-65535)");
	assert_one_error("services = ( { name = \"x\"; port = \"2000-1000\"; tls = true; } );\n", 1,
			 "port range \"2000-1000\" ends before it starts");
	assert_one_error("services = ( { name = \"admin\"; port = 8443; } );\n", 1,
			 "custom port 8443/tcp (\"admin\") must say tls = true (it speaks TLS from its first byte), "
			 "or be opened by an exemption with a reason");
	assert_one_error("services = (\n"
			 "  { service = \"imaps\";\n"
			 "    from = [ \"192.0.2.0/33\", \"198.51.100.1\" ]; }\n"
			 ");\n",
			 3, "\"192.0.2.0/33\": IPv4 prefix length must be 0-32");
	assert_one_error("sets = { office = [ \"192.0.2.0/24\" ]; };\n"
			 "services = (\n"
			 "  { service = \"imaps\"; from = [ \"@office\" ]; },\n"
			 "  { service = \"pop3s\"; from = [ \"@ofice\" ]; }\n"
			 ");\n",
			 4, "undefined set \"@ofice\"; did you mean \"@office\"?");
	assert_one_error("services = (\n"
			 "  { name = \"web\"; port = 8443; tls = true; },\n"
			 "  { name = \"web\"; port = 9443; tls = true; }\n"
			 ");\n",
			 3, "name \"web\" is already used at line 2; give each entry its own name");
	assert_one_error("services = (\n"
			 "  { service = \"https\"; },\n"
			 "  { name = \"alt\"; port = 443; proto = \"udp\"; tls = true; }\n"
			 ");\n",
			 3, "443/udp of \"alt\" overlaps 443/udp, already opened by \"https\" (line 2); a port "
			    "belongs to one entry: merge their \"from\" lists");
	assert_one_error("exemptions = (\n  { name = \"ssh\"; port = 22;\n    reason = \"\"; }\n);\n", 3,
			 "exemption \"ssh\" has an empty reason: say why this port is open without TLS");
	assert_one_error("exemptions = (\n  { name = \"ssh\"; port = 22; }\n);\n", 2,
			 "exemption \"ssh\" needs a reason: say why this port is open without TLS");
	assert_one_error("services = ( { service = \"imaps\"; interfaces = [ ]; } );\n", 1,
			 "\"interfaces\" is empty and would match nothing; remove it to allow every interface");
	assert_one_error("log = { rate = \"5/minutes\"; };\nservices = ( { service = \"imaps\"; } );\n", 1,
			 "log rate \"5/minutes\" must look like \"5/minute\" (1-1000000 per second, minute, hour "
			 "or day)");
	assert_one_error("log = { rate = \"0/second\"; };\nservices = ( { service = \"imaps\"; } );\n", 1,
			 "log rate \"0/second\" must look like \"5/minute\" (1-1000000 per second, minute, hour "
			 "or day)");
	assert_one_error("log = { prefix = \"say \\\"hi\\\"\"; };\nservices = ( { service = \"imaps\"; } );\n", 1,
			 "log prefix must be printable ASCII without '\"' or '\\'");
	assert_one_error("sets = {\n  a = [ \"@b\" ];\n  b = [ \"192.0.2.1\" ];\n};\n"
			 "services = ( { service = \"imaps\"; from = [ \"@a\", \"@b\" ]; } );\n",
			 2, "set \"a\": a set cannot refer to another set (\"@b\"); list the addresses, or name "
			    "both sets where the set is used");
	assert_one_error("table = \"9lives\";\nservices = ( { service = \"imaps\"; } );\n", 1,
			 "table name \"9lives\" must start with a letter and hold at most 32 letters, digits, '_' "
			 "or '-'");
}

/* Mistakes of every kind are all reported in one pass, sorted by line, each where it was made. */
static void test_five_mistakes(void **state)
{
	struct loaded l = load("version = 1;\n"
			       "policy = \"dorp\";\n"
			       "sets = {\n"
			       "  office = [ \"192.0.2.0/24\", \"192.0.2.300\" ];\n"
			       "};\n"
			       "services = (\n"
			       "  { name = \"admin-ui\"; port = 70000; tls = true; },\n"
			       "  { service = \"imaps\"; from = [ \"@offce\" ]; },\n"
			       "  { service = \"htps\"; }\n"
			       ");\n");

	(void)state;
	assert_non_null(l.p);
	assert_int_equal(diag_errors(l.d), 5);
	assert_printed(l.d, NAME ":2: error: \"policy\" must be \"drop\" or \"reject\", not \"dorp\"\n"
			    NAME ":4: error: \"192.0.2.300\": not an IPv4 or IPv6 address, CIDR or range\n"
			    NAME ":4: warning: set \"office\" is defined but not used\n"
			    NAME ":7: error: port 70000 is out of range (1-65535)\n"
			    NAME ":8: error: undefined set \"@offce\"; did you mean \"@office\"?\n"
			    NAME ":9: error: unknown service \"htps\"; did you mean \"https\"?\n");
	release(&l);
}

static void test_warnings(void **state)
{
	struct loaded l = load("sets = { unused = [ \"192.0.2.0/24\" ]; };\n"
			       "services = (\n"
			       "  { service = \"imaps\"; from = [ \"192.0.2.1/24\" ]; },\n"
			       "  { service = \"https\"; starttls = true; }\n"
			       ");\n");

	(void)state;
	assert_int_equal(diag_errors(l.d), 0);
	assert_printed(l.d, NAME ":1: warning: set \"unused\" is defined but not used\n"
			    NAME ":3: warning: \"192.0.2.1/24\" has host bits set; it means 192.0.2.0/24\n"
			    NAME ":4: warning: starttls has no effect: \"https\" is TLS from the first byte\n");
	release(&l);
}

/* A duplicate or wildcard-covered interface dropped before another name is compared: found by fuzz_policy as a
 * heap-use-after-free in normalize_ifaces. */
static void test_interfaces_dropped_then_compared(void **state)
{
	struct loaded l = load("services = ( { service = \"imaps\"; interfaces = [ \"a\", \"a\", \"b\" ]; } );\n");

	(void)state;
	assert_printed(l.d, "");
	assert_int_equal(l.p->services[0].nifaces, 2);
	assert_string_equal(l.p->services[0].ifaces[0], "a");
	assert_string_equal(l.p->services[0].ifaces[1], "b");
	release(&l);

	l = load("services = ( { service = \"imaps\"; interfaces = [ \"f\", \"e1\", \"e*\", \"e1\" ]; } );\n");
	assert_int_equal(diag_errors(l.d), 0);
	assert_int_equal(l.p->services[0].nifaces, 2);
	assert_string_equal(l.p->services[0].ifaces[0], "e*");
	assert_string_equal(l.p->services[0].ifaces[1], "f");
	release(&l);
}

/* A range that covers the ports of two other entries conflicts with both, not only with its neighbour in port
 * order. */
static void test_range_covers_two(void **state)
{
	struct loaded l = load("services = (\n"
			       "  { service = \"sips\"; },\n"
			       "  { service = \"xmpps-client\"; },\n"
			       "  { name = \"pool\"; port = \"5000-5300\"; tls = true; }\n"
			       ");\n");

	(void)state;
	assert_int_equal(diag_errors(l.d), 2);
	assert_int_equal(diag_at(l.d, 0)->line, 4);
	assert_non_null(strstr(diag_at(l.d, 0)->message, "\"sips\""));
	assert_int_equal(diag_at(l.d, 1)->line, 4);
	assert_non_null(strstr(diag_at(l.d, 1)->message, "\"xmpps-client\""));
	release(&l);
}

/* An empty, blank, comment-only or truncated file is an error, never a policy that opens nothing. */
static void test_version_required(void **state)
{
	static const char *const empty[] = { "", "\n\n   \t\n", "# nothing here yet\n// nor here\n/* or here */\n" };
	struct loaded l;

	(void)state;
	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		l.d = diag_list_alloc();
		l.p = config_load_string(empty[i], NAME, l.d);
		assert_printed(l.d, NAME ":1: error: the policy is empty; an empty or truncated file is not a policy (a "
				    "policy that opens nothing says \"version = 1;\" and lists no services)\n");
		release(&l);
	}
	l.d = diag_list_alloc();
	l.p = config_load_string("policy = \"drop\";\nservices = ( { service = \"https\"; } );\n", NAME, l.d);
	assert_printed(l.d, NAME ":1: error: \"version\" is missing; a policy starts with \"version = 1;\"\n");
	release(&l);
	/* and one that says only that opens nothing, with a warning */
	l = load("version = 1;\n");
	assert_int_equal(diag_errors(l.d), 0);
	release(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_required),
		cmocka_unit_test(test_valid_policy),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_list_file_path),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_mistakes),
		cmocka_unit_test(test_five_mistakes),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_interfaces_dropped_then_compared),
		cmocka_unit_test(test_range_covers_two),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
