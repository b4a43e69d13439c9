/* Unit tests for catalog.c: lookups, suggestions and the consistency of the built-in table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tlswall/catalog.h"

static void test_find(void **state)
{
	const struct catalog_entry *c;

	(void)state;
	c = catalog_find("https");
	assert_non_null(c);
	assert_string_equal(c->name, "https");
	assert_int_equal(c->kind, TLS_IMPLICIT);
	assert_int_equal(c->nports, 2);
	assert_int_equal(c->ports[0].proto, L4_TCP);
	assert_int_equal(c->ports[0].first, 443);
	assert_int_equal(c->ports[0].last, 443);
	assert_int_equal(c->ports[1].proto, L4_UDP);
	assert_int_equal(c->ports[1].first, 443);

	c = catalog_find("imap");
	assert_non_null(c);
	assert_int_equal(c->kind, TLS_UPGRADABLE);
	assert_int_equal(c->ports[0].first, 143);
	assert_string_equal(c->twin, "imaps");
	assert_string_equal(c->upgrade, "STARTTLS");

	c = catalog_find("http");
	assert_non_null(c);
	assert_int_equal(c->kind, TLS_PLAINTEXT);
	assert_string_equal(c->twin, "https");

	c = catalog_find("ssh");
	assert_non_null(c);
	assert_int_equal(c->kind, TLS_PLAINTEXT);
	assert_int_equal(c->ports[0].first, 22);

	assert_null(catalog_find("nope"));
	assert_null(catalog_find(""));
	assert_null(catalog_find("HTTPS"));
	assert_null(catalog_find("https "));
	assert_null(catalog_find("http s"));
}

static void assert_suggests(const char *typo, const char *want)
{
	const struct catalog_entry *c = catalog_suggest(typo);

	if (!want) {
		if (c)
			fail_msg("catalog_suggest(\"%s\") = \"%s\", want nothing", typo, c->name);
		return;
	}
	if (!c)
		fail_msg("catalog_suggest(\"%s\") = nothing, want \"%s\"", typo, want);
	assert_string_equal(c->name, want);
}

static void test_suggest(void **state)
{
	(void)state;
	assert_suggests("htps", "https");
	assert_suggests("htttps", "https");
	assert_suggests("imapss", "imaps");
	assert_suggests("iamps", "imaps");
	assert_suggests("pop3", "pop3");
	assert_suggests("pop3ss", "pop3s");
	assert_suggests("submisions", "submissions");
	assert_suggests("ldpas", "ldaps");
	assert_suggests("domains", "domain-s");
	assert_suggests("postgres", "postgresql");
	assert_suggests("sshh", "ssh");
	/* "imsp" is one edit from "imap" and two from "imaps": the nearer wins */
	assert_suggests("imsp", "imap");
	assert_suggests("garbage", NULL);
	assert_suggests("zzzzzzzzzzzz", NULL);
	assert_suggests("x", NULL);
	assert_suggests("", NULL);
	assert_suggests("443", NULL);
	/* short names get a tighter limit: three edits is too many */
	assert_suggests("abcd", NULL);
}

static void test_by_port(void **state)
{
	const struct catalog_entry *c;

	(void)state;
	c = catalog_by_port(L4_TCP, 443);
	assert_non_null(c);
	assert_string_equal(c->name, "https");
	c = catalog_by_port(L4_UDP, 443);
	assert_non_null(c);
	assert_string_equal(c->name, "https");
	c = catalog_by_port(L4_UDP, 853);
	assert_non_null(c);
	assert_string_equal(c->name, "domain-s");
	c = catalog_by_port(L4_TCP, 22);
	assert_non_null(c);
	assert_string_equal(c->name, "ssh");
	c = catalog_by_port(L4_UDP, 5684);
	assert_non_null(c);
	assert_string_equal(c->name, "coaps");
	assert_null(catalog_by_port(L4_UDP, 22));
	assert_null(catalog_by_port(L4_TCP, 5684));
	assert_null(catalog_by_port(L4_TCP, 0));
	assert_null(catalog_by_port(L4_TCP, 65535));
	assert_null(catalog_by_port(L4_TCP, 8443));
	assert_null(catalog_by_port(1, 443));
}

/* The table's own invariants: what validation and the compiler rely on. */
static void test_entries_consistent(void **state)
{
	size_t n = catalog_size();

	(void)state;
	assert_true(n > 30);
	assert_null(catalog_at(n));
	for (size_t i = 0; i < n; i++) {
		const struct catalog_entry *c = catalog_at(i);

		assert_non_null(c);
		assert_non_null(c->name);
		assert_true(strlen(c->name) > 0);
		if (c->nports < 1 || c->nports > CATALOG_MAX_PORTS)
			fail_msg("%s has %zu ports", c->name, c->nports);
		assert_non_null(c->reference);
		assert_true(c->kind == TLS_IMPLICIT || c->kind == TLS_UPGRADABLE || c->kind == TLS_PLAINTEXT);
		/* an upgradable service must say how it upgrades: the error message names it */
		if (c->kind == TLS_UPGRADABLE)
			assert_non_null(c->upgrade);
		else
			assert_null(c->upgrade);
		assert_ptr_equal(catalog_find(c->name), c);
		for (size_t j = 0; j < c->nports; j++) {
			const struct port_range *p = &c->ports[j];

			assert_true(p->proto == L4_TCP || p->proto == L4_UDP);
			assert_true(p->first >= 1);
			assert_true(p->first <= p->last);
			/* no port belongs to two entries, or by_port would give the wrong name */
			for (uint32_t port = p->first; port <= p->last; port++)
				if (catalog_by_port(p->proto, (uint16_t)port) != c)
					fail_msg("%u/%s of %s belongs to %s too", port, l4proto_name(p->proto), c->name,
						 catalog_by_port(p->proto, (uint16_t)port)->name);
		}
		/* a twin names an entry of the other kind */
		if (c->twin) {
			const struct catalog_entry *t = catalog_find(c->twin);

			if (!t)
				fail_msg("%s names twin %s, which is not in the catalogue", c->name, c->twin);
			if (c->kind == TLS_IMPLICIT)
				assert_true(t->kind != TLS_IMPLICIT);
			else
				assert_int_equal(t->kind, TLS_IMPLICIT);
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(catalog_at(j)->name, c->name) == 0)
				fail_msg("%s is in the catalogue twice", c->name);
	}
}

/* Every catalogue name finds itself, and suggests itself. */
static void test_every_name_suggests_itself(void **state)
{
	(void)state;
	for (size_t i = 0; i < catalog_size(); i++)
		assert_ptr_equal(catalog_suggest(catalog_at(i)->name), catalog_at(i));
}

static void test_names_and_format(void **state)
{
	struct port_range one = { L4_TCP, 443, 443 }, range = { L4_TCP, 50000, 50100 }, udp = { L4_UDP, 53, 53 };
	char buf[32], tiny[6];

	(void)state;
	assert_string_equal(tls_kind_name(TLS_IMPLICIT), "implicit");
	assert_string_equal(tls_kind_name(TLS_UPGRADABLE), "upgradable");
	assert_string_equal(tls_kind_name(TLS_PLAINTEXT), "plaintext");
	assert_string_equal(l4proto_name(L4_TCP), "tcp");
	assert_string_equal(l4proto_name(L4_UDP), "udp");
	assert_string_equal(l4proto_name(1), "?");
	port_range_format(&one, buf, sizeof(buf));
	assert_string_equal(buf, "443/tcp");
	port_range_format(&range, buf, sizeof(buf));
	assert_string_equal(buf, "50000-50100/tcp");
	port_range_format(&udp, buf, sizeof(buf));
	assert_string_equal(buf, "53/udp");
	port_range_format(&range, tiny, sizeof(tiny));
	assert_string_equal(tiny, "50000");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_suggest),
		cmocka_unit_test(test_by_port),
		cmocka_unit_test(test_entries_consistent),
		cmocka_unit_test(test_every_name_suggests_itself),
		cmocka_unit_test(test_names_and_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
