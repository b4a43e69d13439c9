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
	/* Wire form: a list read in place from a parsed list's cache (listfile.c) holds its ranges as the ruleset model
	 * holds an interval set's elements, first and last address in network byte order (8 bytes per IPv4 range, 32
	 * per IPv6 one), in wire4 and wire6, inside the mapping held; v4 and v6 are then NULL, n4 and n6 the counts.
	 * Compiling it makes no copy (compile.h); anything that changes the list or reads v4 and v6 first turns it
	 * into host form (addr_list_host()), and releasing it releases the mapping. */
	const uint8_t *wire4, *wire6;
	struct mapping held;
};

/* The size of one range in wire form. */
#define ADDR_WIRE4 8
#define ADDR_WIRE6 32

/* list (either form) in host form. */
void addr_list_host(struct addr_list *list);
/* The ranges of list (either form) in wire form, into out4 (n4 * ADDR_WIRE4 bytes) and out6 (n6 * ADDR_WIRE6); a
 * family whose out is NULL is skipped. */
void addr_list_wire(const struct addr_list *list, uint8_t *out4, uint8_t *out6);
void addr_list_add(struct addr_list *list, const struct addr_entry *e);
void addr_list_append(struct addr_list *dst, const struct addr_list *src);
/* Sorts and merges duplicates, overlaps and adjacent ranges: O(n log n), in place. */
void addr_list_normalize(struct addr_list *list);
/* Both lists normalized, in host form. */
bool addr_list_equal(const struct addr_list *a, const struct addr_list *b);
void addr_list_release(struct addr_list *list);

#endif
