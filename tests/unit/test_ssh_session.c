/* Unit tests for ssh_session.c: SSH_CONNECTION as OpenSSH sets it, link-local clients, and values it never sets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tlswall/ssh_session.h"

static void test_none(void **state)
{
	struct ssh_session s;
	const char *why = "unset";

	(void)state;
	assert_int_equal(ssh_session_parse(NULL, &s, &why), SSH_SESSION_NONE);
	assert_null(why);
	assert_int_equal(ssh_session_parse("", &s, &why), SSH_SESSION_NONE);
}

static void test_found(void **state)
{
	static const uint8_t v4[4] = { 192, 0, 2, 7 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9 };
	struct ssh_session s;
	const char *why;

	(void)state;
	assert_int_equal(ssh_session_parse("192.0.2.7 51234 192.0.2.1 22", &s, &why), SSH_SESSION_FOUND);
	assert_int_equal(s.family, 4);
	assert_memory_equal(s.client, v4, 4);
	assert_int_equal(s.client_port, 51234);
	assert_int_equal(s.server_port, 22);
	assert_string_equal(s.iface, "");
	assert_int_equal(ssh_session_parse("2001:db8::9 60000 2001:db8::1 2222", &s, &why), SSH_SESSION_FOUND);
	assert_int_equal(s.family, 6);
	assert_memory_equal(s.client, v6, 16);
	assert_int_equal(s.server_port, 2222);
}

/* A link-local client carries its zone: the interface it comes in on, by name or by index. */
static void test_link_local(void **state)
{
	static const uint8_t fe80_1[16] = { 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	struct ssh_session s;
	const char *why;

	(void)state;
	assert_int_equal(ssh_session_parse("fe80::1%eth0 51234 fe80::2%eth0 22", &s, &why), SSH_SESSION_FOUND);
	assert_int_equal(s.family, 6);
	assert_memory_equal(s.client, fe80_1, 16);
	assert_string_equal(s.iface, "eth0");
	/* index 1 is the loopback interface in every network namespace */
	assert_int_equal(ssh_session_parse("fe80::1%1 51234 fe80::2%1 22", &s, &why), SSH_SESSION_FOUND);
	assert_string_equal(s.iface, "lo");
}

static void assert_malformed(const char *text, const char *why_want)
{
	struct ssh_session s;
	const char *why = NULL;

	assert_int_equal(ssh_session_parse(text, &s, &why), SSH_SESSION_MALFORMED);
	assert_non_null(why);
	assert_string_equal(why, why_want);
}

static void test_malformed(void **state)
{
	(void)state;
	assert_malformed("garbage", "it does not hold four fields");
	assert_malformed("192.0.2.7 51234 192.0.2.1", "it does not hold four fields");
	assert_malformed("192.0.2.7 51234 192.0.2.1 22 extra", "it does not hold four fields");
	assert_malformed("192.0.2.7 x 192.0.2.1 22", "a port is not a number from 1 to 65535");
	assert_malformed("192.0.2.7 51234 192.0.2.1 70000", "a port is not a number from 1 to 65535");
	assert_malformed("192.0.2.7 51234 192.0.2.1 0", "a port is not a number from 1 to 65535");
	assert_malformed("host.example 51234 192.0.2.1 22", "an address is not an IPv4 or IPv6 address");
	assert_malformed("192.0.2.7%eth0 51234 192.0.2.1 22", "an address is not an IPv4 or IPv6 address");
	assert_malformed("fe80::1% 51234 fe80::2 22", "its zone is not an interface name");
	assert_malformed("fe80::1%averyveryverylongname 51234 fe80::2 22", "its zone is not an interface name");
	assert_malformed("fe80::1%4000000 51234 fe80::2 22", "its zone is not the index of an interface here");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_found),
		cmocka_unit_test(test_link_local),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
