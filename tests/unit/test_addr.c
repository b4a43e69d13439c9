/* Unit tests for addr.c: parsing, formatting and normalizing address lists. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tlswall/addr.h"

#define V4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static struct addr_entry parse_ok(const char *s)
{
	struct addr_entry e;
	const char *why = NULL;

	if (!addr_parse(s, strlen(s), &e, &why))
		fail_msg("addr_parse(\"%s\") failed: %s", s, why);
	return e;
}

static void expect_reject(const char *s, size_t len, const char *reason)
{
	struct addr_entry e;
	const char *why = NULL;

	if (addr_parse(s, len, &e, &why))
		fail_msg("addr_parse(\"%.*s\") accepted what it must reject", (int)len, s);
	if (!why || strcmp(why, reason) != 0)
		fail_msg("addr_parse(\"%.*s\"): reason \"%s\", want \"%s\"", (int)len, s, why ? why : "(null)", reason);
}

static void assert_v4(const char *s, uint32_t first, uint32_t last, bool host_bits)
{
	struct addr_entry e = parse_ok(s);

	assert_int_equal(e.family, ADDR_V4);
	assert_int_equal(e.r4.first, first);
	assert_int_equal(e.r4.last, last);
	assert_int_equal(e.host_bits, host_bits);
}

static void assert_v6(const char *s, uint64_t fhi, uint64_t flo, uint64_t lhi, uint64_t llo, bool host_bits)
{
	struct addr_entry e = parse_ok(s);

	assert_int_equal(e.family, ADDR_V6);
	assert_int_equal(e.r6.first.hi, fhi);
	assert_int_equal(e.r6.first.lo, flo);
	assert_int_equal(e.r6.last.hi, lhi);
	assert_int_equal(e.r6.last.lo, llo);
	assert_int_equal(e.host_bits, host_bits);
}

static void test_parse_v4(void **state)
{
	(void)state;
	assert_v4("192.0.2.1", V4(192, 0, 2, 1), V4(192, 0, 2, 1), false);
	assert_v4("0.0.0.0", 0, 0, false);
	assert_v4("255.255.255.255", UINT32_MAX, UINT32_MAX, false);
	assert_v4("192.0.2.0/24", V4(192, 0, 2, 0), V4(192, 0, 2, 255), false);
	assert_v4("192.0.2.7/32", V4(192, 0, 2, 7), V4(192, 0, 2, 7), false);
	assert_v4("10.0.0.0/8", V4(10, 0, 0, 0), V4(10, 255, 255, 255), false);
	assert_v4("128.0.0.0/1", V4(128, 0, 0, 0), UINT32_MAX, false);
	assert_v4("0.0.0.0/0", 0, UINT32_MAX, false);
	assert_v4("192.0.2.10-192.0.2.20", V4(192, 0, 2, 10), V4(192, 0, 2, 20), false);
	assert_v4("10.0.0.1-10.0.0.1", V4(10, 0, 0, 1), V4(10, 0, 0, 1), false);
	assert_v4("0.0.0.0-255.255.255.255", 0, UINT32_MAX, false);
}

static void test_parse_v4_host_bits(void **state)
{
	(void)state;
	assert_v4("192.0.2.1/24", V4(192, 0, 2, 0), V4(192, 0, 2, 255), true);
	assert_v4("192.0.2.255/31", V4(192, 0, 2, 254), V4(192, 0, 2, 255), true);
	assert_v4("255.255.255.255/0", 0, UINT32_MAX, true);
	assert_v4("10.1.0.0/15", V4(10, 0, 0, 0), V4(10, 1, 255, 255), true);
}

static void test_parse_v6(void **state)
{
	(void)state;
	assert_v6("2001:db8::1", 0x20010db800000000, 1, 0x20010db800000000, 1, false);
	assert_v6("::", 0, 0, 0, 0, false);
	assert_v6("::1/128", 0, 1, 0, 1, false);
	assert_v6("::/0", 0, 0, UINT64_MAX, UINT64_MAX, false);
	assert_v6("2001:db8::/32", 0x20010db800000000, 0, 0x20010db8ffffffff, UINT64_MAX, false);
	assert_v6("2001:db8:1:2::/64", 0x20010db800010002, 0, 0x20010db800010002, UINT64_MAX, false);
	assert_v6("2001:db8:1:2:8000::/65", 0x20010db800010002, 0x8000000000000000, 0x20010db800010002, UINT64_MAX,
		  false);
	assert_v6("2001:db8::/63", 0x20010db800000000, 0, 0x20010db800000001, UINT64_MAX, false);
	assert_v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, false);
	assert_v6("::ffff:192.0.2.1", 0, 0x0000ffffc0000201, 0, 0x0000ffffc0000201, false);
	assert_v6("2001:db8::1-2001:db8::ff", 0x20010db800000000, 1, 0x20010db800000000, 0xff, false);
	assert_v6("::ffff:ffff:ffff:ffff-0:0:0:1::", 0, UINT64_MAX, 1, 0, false);
}

static void test_parse_v6_host_bits(void **state)
{
	(void)state;
	assert_v6("2001:db8::1/64", 0x20010db800000000, 0, 0x20010db800000000, UINT64_MAX, true);
	assert_v6("2001:db8::1/127", 0x20010db800000000, 0, 0x20010db800000000, 1, true);
	assert_v6("2001:db8:0:1::/63", 0x20010db800000000, 0, 0x20010db800000001, UINT64_MAX, true);
	assert_v6("::1/0", 0, 0, UINT64_MAX, UINT64_MAX, true);
}

/* The parser takes a length, not a NUL: what follows must not be read. */
static void test_parse_length_bounded(void **state)
{
	struct addr_entry e;
	const char *why;

	(void)state;
	assert_true(addr_parse("192.0.2.1/24 trailing", 12, &e, &why));
	assert_int_equal(e.r4.first, V4(192, 0, 2, 0));
	assert_int_equal(e.r4.last, V4(192, 0, 2, 255));
	assert_true(addr_parse("10.0.0.1-10.0.0.9-junk", 17, &e, &why));
	assert_int_equal(e.r4.last, V4(10, 0, 0, 9));
	assert_true(addr_parse("2001:db8::/48X", 13, &e, &why));
	assert_int_equal(e.family, ADDR_V6);
	assert_int_equal(e.r6.last.hi, 0x20010db80000ffff);
}

static void test_parse_rejects(void **state)
{
	static const char *const garbage[] = {
		"garbage", "256.0.0.1", "192.0.2", "192.0.2.1.5", "192.0.2.-1", "1.2.3.4x", " 192.0.2.1",
		"192.0.2.1 ", "-", "192.0.2.1-", "-192.0.2.1", "192.0.2.1--192.0.2.2", "192.0.2.1-192.0.2.2-192.0.2.3",
		"192.0.2.0/24-192.0.2.9", "::g", "1:2:3:4:5:6:7:8:9", "2001:db8:::1", "@office",
		"/24", "0x7f.0.0.1", "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255:1",
		"12345678901234567890123456789012345678901234567890",
	};
	const char *v4len = "IPv4 prefix length must be 0-32", *v6len = "IPv6 prefix length must be 0-128";

	(void)state;
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++)
		expect_reject(garbage[i], strlen(garbage[i]), "not an IPv4 or IPv6 address, CIDR or range");
	expect_reject("", 0, "not an IPv4 or IPv6 address, CIDR or range");
	expect_reject("192.0.2.1", 0, "not an IPv4 or IPv6 address, CIDR or range");

	expect_reject("192.0.2.0/33", 12, v4len);
	expect_reject("192.0.2.0/99", 12, v4len);
	expect_reject("192.0.2.0/100", 13, v4len);
	expect_reject("192.0.2.0/1000", 14, v4len);
	expect_reject("192.0.2.0/024", 13, v4len);
	expect_reject("192.0.2.0/00", 12, v4len);
	expect_reject("192.0.2.0/", 10, v4len);
	expect_reject("192.0.2.0/+8", 12, v4len);
	expect_reject("192.0.2.0/ 8", 12, v4len);
	expect_reject("192.0.2.0/8 ", 12, v4len);
	expect_reject("192.0.2.0/x", 11, v4len);
	expect_reject("192.0.2.0/24/8", 14, v4len);
	expect_reject("2001:db8::/129", 14, v6len);
	expect_reject("2001:db8::/200", 14, v6len);
	expect_reject("2001:db8::/064", 14, v6len);
	expect_reject("2001:db8::/", 11, v6len);

	expect_reject("192.0.2.1-2001:db8::1", 21, "a range cannot mix IPv4 and IPv6");
	expect_reject("2001:db8::1-192.0.2.1", 21, "a range cannot mix IPv4 and IPv6");
	expect_reject("192.0.2.20-192.0.2.10", 21, "range ends before it starts");
	expect_reject("10.0.0.1-10.0.0.0", 17, "range ends before it starts");
	expect_reject("2001:db8::2-2001:db8::1", 23, "range ends before it starts");
	expect_reject("0:0:0:1::-::ffff:ffff:ffff:ffff", 31, "range ends before it starts");
}

/* A NUL inside the counted bytes is not the end of the text: "192.0.2.1\0junk" is not 192.0.2.1. */
static void test_parse_rejects_nul(void **state)
{
	(void)state;
	expect_reject("192.0.2.1\0junk", 14, "not an IPv4 or IPv6 address, CIDR or range");
	expect_reject("192.0.2.1\0", 10, "not an IPv4 or IPv6 address, CIDR or range");
	expect_reject("2001:db8::1\0", 12, "not an IPv4 or IPv6 address, CIDR or range");
	expect_reject("10.0.0.1\0-10.0.0.2", 18, "not an IPv4 or IPv6 address, CIDR or range");
	expect_reject("10.0.0.0/8\0", 11, "IPv4 prefix length must be 0-32");
}

static void assert_format4(uint32_t first, uint32_t last, const char *want)
{
	struct range4 r = { first, last };
	char buf[ADDR_TEXT_MAX];

	range4_format(&r, buf);
	assert_string_equal(buf, want);
}

static void assert_format6(const char *text, const char *want)
{
	struct addr_entry e = parse_ok(text);
	char buf[ADDR_TEXT_MAX];

	assert_int_equal(e.family, ADDR_V6);
	range6_format(&e.r6, buf);
	assert_string_equal(buf, want);
	addr_entry_format(&e, buf);
	assert_string_equal(buf, want);
}

static void test_format4(void **state)
{
	struct addr_entry e;
	char buf[ADDR_TEXT_MAX];

	(void)state;
	assert_format4(V4(192, 0, 2, 1), V4(192, 0, 2, 1), "192.0.2.1");
	assert_format4(0, 0, "0.0.0.0");
	assert_format4(UINT32_MAX, UINT32_MAX, "255.255.255.255");
	assert_format4(V4(192, 0, 2, 0), V4(192, 0, 2, 255), "192.0.2.0/24");
	assert_format4(V4(192, 0, 2, 2), V4(192, 0, 2, 3), "192.0.2.2/31");
	assert_format4(0, UINT32_MAX, "0.0.0.0/0");
	assert_format4(V4(128, 0, 0, 0), UINT32_MAX, "128.0.0.0/1");
	/* two addresses, but not one /31 */
	assert_format4(V4(192, 0, 2, 1), V4(192, 0, 2, 2), "192.0.2.1-192.0.2.2");
	/* aligned start, length not a power of two */
	assert_format4(V4(10, 0, 0, 0), V4(10, 0, 0, 2), "10.0.0.0-10.0.0.2");
	/* power-of-two length, misaligned start */
	assert_format4(V4(10, 0, 0, 2), V4(10, 0, 0, 5), "10.0.0.2-10.0.0.5");
	assert_format4(0, UINT32_MAX - 1, "0.0.0.0-255.255.255.254");
	assert_format4(1, UINT32_MAX, "0.0.0.1-255.255.255.255");

	e = parse_ok("192.0.2.77/24");
	addr_entry_format(&e, buf);
	assert_string_equal(buf, "192.0.2.0/24");
}

static void test_format6(void **state)
{
	(void)state;
	assert_format6("2001:db8::1", "2001:db8::1");
	assert_format6("::", "::");
	assert_format6("::/0", "::/0");
	assert_format6("2001:db8::/32", "2001:db8::/32");
	assert_format6("2001:db8::/64", "2001:db8::/64");
	assert_format6("2001:db8::8000:0:0:0/65", "2001:db8:0:0:8000::/65");
	assert_format6("2001:db8::/127", "2001:db8::/127");
	assert_format6("2001:db8::1-2001:db8::2", "2001:db8::1-2001:db8::2");
	assert_format6("2001:db8::-2001:db8::2", "2001:db8::-2001:db8::2");
	/* one /64 plus one address: not a prefix */
	assert_format6("2001:db8::-2001:db8:0:1::", "2001:db8::-2001:db8:0:1::");
	/* the two halves of a /63 across the 64-bit boundary are one prefix */
	assert_format6("::ffff:ffff:ffff:ffff-0:0:0:1::", "::ffff:ffff:ffff:ffff-0:0:0:1::");
	assert_format6("0:0:0:1::-0:0:0:1:ffff:ffff:ffff:ffff", "0:0:0:1::/64");
}

/* The widest text there is still fits, with room to spare. */
static void test_format_longest(void **state)
{
	struct range6 r = { { 0xfffefffefffefffe, 0xfffefffefffefffe }, { 0xfffffffffffffffe, 0xffffffffffffffff } };
	char buf[ADDR_TEXT_MAX + 8];

	(void)state;
	memset(buf, 'X', sizeof(buf));
	range6_format(&r, buf);
	assert_string_equal(buf, "fffe:fffe:fffe:fffe:fffe:fffe:fffe:fffe-ffff:ffff:ffff:fffe:ffff:ffff:ffff:ffff");
	assert_true(strlen(buf) < ADDR_TEXT_MAX);
	assert_int_equal(buf[ADDR_TEXT_MAX], 'X');
}

static void test_ip6_bytes_roundtrip(void **state)
{
	uint8_t b[16], back[16];
	struct ip6 ip;

	(void)state;
	for (int i = 0; i < 16; i++)
		b[i] = (uint8_t)(0x11 * i);
	ip6_from_bytes(&ip, b);
	assert_int_equal(ip.hi, 0x0011223344556677);
	assert_int_equal(ip.lo, 0x8899aabbccddeeff);
	ip6_to_bytes(&ip, back);
	assert_memory_equal(b, back, 16);
}

/* Builds a list from address texts. */
static void list_of(struct addr_list *l, const char *const *texts)
{
	memset(l, 0, sizeof(*l));
	for (; *texts; texts++) {
		struct addr_entry e = parse_ok(*texts);

		addr_list_add(l, &e);
	}
}

/* Normalizes texts and compares the formatted result with want (NULL-terminated), v4 before v6. */
static void assert_normalizes(const char *const *texts, const char *const *want)
{
	struct addr_list l;
	size_t n = 0;
	char buf[ADDR_TEXT_MAX];

	list_of(&l, texts);
	addr_list_normalize(&l);
	for (size_t i = 0; i < l.n4; i++, n++) {
		assert_non_null(want[n]);
		range4_format(&l.v4[i], buf);
		assert_string_equal(buf, want[n]);
	}
	for (size_t i = 0; i < l.n6; i++, n++) {
		assert_non_null(want[n]);
		range6_format(&l.v6[i], buf);
		assert_string_equal(buf, want[n]);
	}
	assert_null(want[n]);
	addr_list_release(&l);
}

#define L(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void test_normalize_v4(void **state)
{
	(void)state;
	assert_normalizes(L("192.0.2.1"), L("192.0.2.1"));
	assert_normalizes(L("192.0.2.1", "192.0.2.1", "192.0.2.1"), L("192.0.2.1"));
	assert_normalizes(L("10.0.0.9", "10.0.0.1", "10.0.0.5"), L("10.0.0.1", "10.0.0.5", "10.0.0.9"));
	/* overlap */
	assert_normalizes(L("10.0.0.0-10.0.0.10", "10.0.0.5-10.0.0.20"), L("10.0.0.0-10.0.0.20"));
	assert_normalizes(L("10.0.0.5-10.0.0.20", "10.0.0.0-10.0.0.10"), L("10.0.0.0-10.0.0.20"));
	/* containment, either order, and a range sharing the start */
	assert_normalizes(L("10.1.2.0/24", "10.1.0.0/16"), L("10.1.0.0/16"));
	assert_normalizes(L("10.1.0.0/16", "10.1.2.0/24", "10.1.0.0/24"), L("10.1.0.0/16"));
	assert_normalizes(L("10.0.0.0-10.0.0.100", "10.0.0.3-10.0.0.4", "10.0.0.7"), L("10.0.0.0-10.0.0.100"));
	/* adjacency */
	assert_normalizes(L("10.0.0.128/25", "10.0.0.0/25"), L("10.0.0.0/24"));
	assert_normalizes(L("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.0"), L("10.0.0.0/30"));
	assert_normalizes(L("10.0.0.0-10.0.0.9", "10.0.0.11-10.0.0.20"), L("10.0.0.0-10.0.0.9", "10.0.0.11-10.0.0.20"));
	/* a chain where each range only touches the next */
	assert_normalizes(L("10.0.0.0-10.0.0.4", "10.0.0.5-10.0.0.6", "10.0.0.7", "10.0.0.8-10.0.0.15"),
			  L("10.0.0.0/28"));
	/* the ends of the space: nothing wraps around */
	assert_normalizes(L("0.0.0.1-0.0.0.5", "0.0.0.0"), L("0.0.0.0-0.0.0.5"));
	assert_normalizes(L("255.255.255.255", "255.255.255.0-255.255.255.254"), L("255.255.255.0/24"));
	assert_normalizes(L("255.255.255.255", "0.0.0.0"), L("0.0.0.0", "255.255.255.255"));
	assert_normalizes(L("128.0.0.0/1", "0.0.0.0/1"), L("0.0.0.0/0"));
	assert_normalizes(L("0.0.0.0/0", "255.255.255.255", "0.0.0.0", "10.0.0.0/8"), L("0.0.0.0/0"));
	assert_normalizes(L("255.255.255.254", "255.255.255.255", "255.255.255.255"), L("255.255.255.254/31"));
}

static void test_normalize_v6(void **state)
{
	(void)state;
	assert_normalizes(L("2001:db8::1", "2001:db8::1"), L("2001:db8::1"));
	assert_normalizes(L("2001:db8::/48", "2001:db8:0:1::/64"), L("2001:db8::/48"));
	assert_normalizes(L("2001:db8::5-2001:db8::20", "2001:db8::-2001:db8::10"), L("2001:db8::-2001:db8::20"));
	assert_normalizes(L("2001:db8:0:1::/64", "2001:db8::/64"), L("2001:db8::/63"));
	assert_normalizes(L("2001:db8::1", "2001:db8::3"), L("2001:db8::1", "2001:db8::3"));
	/* the bottom and top of the space */
	assert_normalizes(L("::1", "::"), L("::/127"));
	assert_normalizes(L("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"),
			  L("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"));
	assert_normalizes(L("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::"),
			  L("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_normalizes(L("8000::/1", "::/1"), L("::/0"));
	/* the 64-bit boundary: lo carries into hi */
	assert_normalizes(L("0:0:0:1::", "::ffff:ffff:ffff:ffff"), L("::ffff:ffff:ffff:ffff-0:0:0:1::"));
	assert_normalizes(L("0:0:0:1::/64", "::/64"), L("::/63"));
	assert_normalizes(L("0:0:0:1::1", "::ffff:ffff:ffff:ffff"), L("::ffff:ffff:ffff:ffff", "::1:0:0:0:1"));
	assert_normalizes(L("0:0:0:2::", "::ffff:ffff:ffff:ffff"), L("::ffff:ffff:ffff:ffff", "0:0:0:2::"));
	assert_normalizes(L("ffff:ffff:ffff:fffe:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff::/64"),
			  L("ffff:ffff:ffff:fffe:ffff:ffff:ffff:ffff-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	/* the top hi word with lo at its maximum: adding one would wrap */
	assert_normalizes(L("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::/64"),
			  L("::/64", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
}

static void test_normalize_mixed_families(void **state)
{
	(void)state;
	assert_normalizes(L("2001:db8::/32", "10.0.0.3", "::ffff:10.0.0.2", "10.0.0.2", "2001:db8::1"),
			  L("10.0.0.2/31", "::ffff:10.0.0.2", "2001:db8::/32"));
}

static void test_list_empty_and_append(void **state)
{
	struct addr_list a = { 0 }, b = { 0 };
	struct addr_entry e;

	(void)state;
	addr_list_normalize(&a);
	assert_int_equal(a.n4, 0);
	assert_int_equal(a.n6, 0);
	assert_true(addr_list_equal(&a, &b));

	list_of(&a, L("10.0.0.0/25", "2001:db8::/33"));
	list_of(&b, L("10.0.0.128/25", "2001:db8:8000::/33"));
	addr_list_append(&a, &b);
	assert_int_equal(a.n4, 2);
	assert_int_equal(a.n6, 2);
	addr_list_normalize(&a);
	assert_int_equal(a.n4, 1);
	assert_int_equal(a.n6, 1);
	assert_false(addr_list_equal(&a, &b));
	addr_list_release(&b);

	list_of(&b, L("2001:db8::/32", "10.0.0.0/24"));
	addr_list_normalize(&b);
	assert_true(addr_list_equal(&a, &b));
	e = parse_ok("10.0.1.0");
	addr_list_add(&b, &e);
	addr_list_normalize(&b);
	assert_false(addr_list_equal(&a, &b));
	addr_list_release(&a);
	addr_list_release(&b);
	assert_null(a.v4);
	assert_int_equal(a.n4, 0);
	/* appending nothing is fine */
	addr_list_append(&a, &b);
	assert_int_equal(a.n4 + a.n6, 0);
}

/* A small deterministic generator, so a failure reproduces on every libc. */
static uint64_t rng_state = 0x9e3779b97f4a7c15;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32) % n;
}

#define SPACE 4096 /* a /20 */

/* A random range inside the space: mostly short, sometimes a whole block, sometimes long. */
static void random_range(uint32_t *first, uint32_t *last)
{
	uint32_t len;

	switch (rnd(4)) {
	case 0:
		len = 1 + rnd(4);
		break;
	case 1:
		len = 1 + rnd(64);
		break;
	case 2:
		len = 1u << rnd(9);
		*first = rnd(SPACE) & ~(len - 1);
		*last = *first + len - 1;
		return;
	default:
		len = 1 + rnd(SPACE / 4);
		break;
	}
	*first = rnd(SPACE);
	*last = *first + len - 1 < SPACE ? *first + len - 1 : SPACE - 1;
}

/* The maximal runs of set bits: what a normalized list must hold. */
static size_t runs(const bool *bits, uint32_t *first, uint32_t *last)
{
	size_t n = 0;

	for (uint32_t i = 0; i < SPACE; i++) {
		if (!bits[i])
			continue;
		first[n] = i;
		while (i + 1 < SPACE && bits[i + 1])
			i++;
		last[n++] = i;
	}
	return n;
}

static void test_normalize_random_v4(void **state)
{
	const uint32_t base = V4(10, 0, 0, 0);
	static uint32_t want_first[SPACE], want_last[SPACE];
	size_t total = 0;

	(void)state;
	rng_state = 0x9e3779b97f4a7c15;
	for (int round = 0; round < 600; round++) {
		struct addr_list l = { 0 };
		bool bits[SPACE] = { false };
		size_t n, count = 1 + rnd(round % 3 == 0 ? 40 : 8);

		for (size_t i = 0; i < count; i++) {
			struct addr_entry e = { .family = ADDR_V4 };
			uint32_t f, t;

			random_range(&f, &t);
			for (uint32_t a = f; a <= t; a++)
				bits[a] = true;
			e.r4.first = base + f;
			e.r4.last = base + t;
			addr_list_add(&l, &e);
		}
		total += count;
		addr_list_normalize(&l);
		n = runs(bits, want_first, want_last);
		if (l.n4 != n)
			fail_msg("round %d: %zu ranges normalized to %zu, want %zu", round, count, l.n4, n);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(l.v4[i].first, base + want_first[i]);
			assert_int_equal(l.v4[i].last, base + want_last[i]);
		}
		assert_int_equal(l.n6, 0);
		addr_list_release(&l);
	}
	assert_true(total >= 3000);
}

static struct ip6 ip6_add(struct ip6 a, uint32_t off)
{
	struct ip6 r = { a.hi, a.lo + off };

	if (r.lo < a.lo)
		r.hi++;
	return r;
}

/* The same over a /116 of IPv6 that straddles the 64-bit boundary, so carries are exercised everywhere. */
static void test_normalize_random_v6(void **state)
{
	const struct ip6 base = { 0x20010db800000000, UINT64_MAX - SPACE / 2 + 1 };
	static uint32_t want_first[SPACE], want_last[SPACE];

	(void)state;
	rng_state = 0x2545f4914f6cdd1d;
	for (int round = 0; round < 300; round++) {
		struct addr_list l = { 0 };
		bool bits[SPACE] = { false };
		size_t n, count = 1 + rnd(round % 3 == 0 ? 40 : 8);

		for (size_t i = 0; i < count; i++) {
			struct addr_entry e = { .family = ADDR_V6 };
			uint32_t f, t;

			random_range(&f, &t);
			for (uint32_t a = f; a <= t; a++)
				bits[a] = true;
			e.r6.first = ip6_add(base, f);
			e.r6.last = ip6_add(base, t);
			addr_list_add(&l, &e);
		}
		addr_list_normalize(&l);
		n = runs(bits, want_first, want_last);
		if (l.n6 != n)
			fail_msg("round %d: %zu ranges normalized to %zu, want %zu", round, count, l.n6, n);
		for (size_t i = 0; i < n; i++) {
			struct ip6 f = ip6_add(base, want_first[i]), t = ip6_add(base, want_last[i]);

			assert_int_equal(l.v6[i].first.hi, f.hi);
			assert_int_equal(l.v6[i].first.lo, f.lo);
			assert_int_equal(l.v6[i].last.hi, t.hi);
			assert_int_equal(l.v6[i].last.lo, t.lo);
		}
		addr_list_release(&l);
	}
}

/* Whatever range4_format prints, addr_parse reads back as the same range. */
static void test_format_parse_roundtrip(void **state)
{
	(void)state;
	rng_state = 0x853c49e6748fea9b;
	for (int i = 0; i < 5000; i++) {
		struct range4 r;
		struct range6 r6;
		struct addr_entry e;
		char buf[ADDR_TEXT_MAX];
		const char *why;
		uint32_t a = rnd(UINT32_MAX), b = rnd(8) ? a + rnd(1u << rnd(32)) : a;

		r.first = a < b ? a : b;
		r.last = a < b ? b : a;
		range4_format(&r, buf);
		assert_true(addr_parse(buf, strlen(buf), &e, &why));
		assert_int_equal(e.family, ADDR_V4);
		assert_int_equal(e.r4.first, r.first);
		assert_int_equal(e.r4.last, r.last);
		assert_false(e.host_bits);

		r6.first.hi = (uint64_t)rnd(4) << 62 | rnd(UINT32_MAX);
		r6.first.lo = (uint64_t)rnd(UINT32_MAX) << 32 | rnd(UINT32_MAX);
		r6.last = rnd(4) ? ip6_add(r6.first, rnd(UINT32_MAX)) : r6.first;
		if (r6.last.hi < r6.first.hi)
			continue;
		range6_format(&r6, buf);
		assert_true(addr_parse(buf, strlen(buf), &e, &why));
		assert_int_equal(e.family, ADDR_V6);
		assert_memory_equal(&e.r6, &r6, sizeof(r6));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_v4),
		cmocka_unit_test(test_parse_v4_host_bits),
		cmocka_unit_test(test_parse_v6),
		cmocka_unit_test(test_parse_v6_host_bits),
		cmocka_unit_test(test_parse_length_bounded),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_parse_rejects_nul),
		cmocka_unit_test(test_format4),
		cmocka_unit_test(test_format6),
		cmocka_unit_test(test_format_longest),
		cmocka_unit_test(test_ip6_bytes_roundtrip),
		cmocka_unit_test(test_normalize_v4),
		cmocka_unit_test(test_normalize_v6),
		cmocka_unit_test(test_normalize_mixed_families),
		cmocka_unit_test(test_list_empty_and_append),
		cmocka_unit_test(test_normalize_random_v4),
		cmocka_unit_test(test_normalize_random_v6),
		cmocka_unit_test(test_format_parse_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
