/* IPv4/IPv6 addresses, CIDRs and ranges, and normalized address lists (what an nftables interval set holds). */
#ifndef TLSWALL_ADDR_H
#define TLSWALL_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlswall/mapping.h"

/* Host-order 128-bit value, so IPv6 ranges sort and merge with plain integer compares. */
struct ip6 {
	uint64_t hi, lo;
};

/* Inclusive ranges: first..last. */
struct range4 {
	uint32_t first, last;
};

struct range6 {
	struct ip6 first, last;
};

enum addr_family {
	ADDR_V4 = 4,
	ADDR_V6 = 6,
};

struct addr_entry {
	enum addr_family family;
	struct range4 r4;
	struct range6 r6;
	bool host_bits; /* "192.0.2.1/24": bits below the prefix were set and are ignored */
};

/* Longest text range*_format writes, with the NUL. */
#define ADDR_TEXT_MAX 96

/* Parses "ADDR", "ADDR/LEN" or "ADDR-ADDR" (len bytes of s, no NUL needed). On failure returns false and sets *why
 * to a short reason ("prefix length must be 0-32", ...). */
bool addr_parse(const char *s, size_t len, struct addr_entry *out, const char **why);

/* Formats as nft prints interval elements: a host, a CIDR when the range is one prefix, else FIRST-LAST. */
void range4_format(const struct range4 *r, char *buf);
void range6_format(const struct range6 *r, char *buf);
void addr_entry_format(const struct addr_entry *e, char *buf);

void ip6_from_bytes(struct ip6 *ip, const uint8_t bytes[16]);
void ip6_to_bytes(const struct ip6 *ip, uint8_t bytes[16]);

struct addr_list {
	struct range4 *v4;
	size_t n4, cap4;
	struct range6 *v6;
	size_t n6, cap6;
	/* The file the arrays point into when they were read in place (a parsed list's cache, listfile.c): read-only,
	 * so the list takes a copy before anything changes it, and releasing the list releases the mapping. */
	struct mapping held;
};

void addr_list_add(struct addr_list *list, const struct addr_entry *e);
void addr_list_append(struct addr_list *dst, const struct addr_list *src);
/* Sorts and merges duplicates, overlaps and adjacent ranges: O(n log n), in place. */
void addr_list_normalize(struct addr_list *list);
/* Both lists normalized. */
bool addr_list_equal(const struct addr_list *a, const struct addr_list *b);
void addr_list_release(struct addr_list *list);

#endif
