/* What each kind of match means, in one table: the words nft uses for it, where the kernel loads it from, what it
 * implies about the packet, what its values are and how they print, and what the first packet of a new connection
 * carries there. The encoder, the decoder, the nft emitter, the evaluator and the snapshot codec all read this
 * table, so a new kind of match is one row of it. */
#ifndef TLSWALL_SELECTOR_H
#define TLSWALL_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlswall/ruleset.h"

struct sbuf;

/* Where the kernel loads the value from. */
enum sel_source {
	SEL_META,        /* a meta expression: key */
	SEL_CT,          /* a ct expression: key */
	SEL_PAYLOAD,     /* a payload expression at a fixed place: base, offset, len */
	SEL_RAW_PAYLOAD, /* a payload expression anywhere in base: the match says where ("@ih,0,16") */
	SEL_CONCAT,      /* members[] loaded into consecutive registers, looked up in a named set or map */
	SEL_FIB,         /* a fib expression: key is its result (NFT_FIB_RESULT_*), fib_flags what it looks up */
};

/* How a value is written in a register. */
enum sel_order {
	ORDER_HOST,
	ORDER_BIG,   /* network order */
};

/* How a value prints (and, for names, how it is converted when loaded). */
enum sel_format {
	FMT_DEC,
	FMT_HEX,
	FMT_CT_STATE, /* established,related */
	FMT_NFPROTO,  /* ipv4, ipv6 */
	FMT_L4PROTO,  /* tcp, udp, icmp, icmpv6 */
	FMT_ICMP,     /* echo-request, ... */
	FMT_ICMPV6,
	FMT_IFINDEX,  /* a name in the model and in nft's text, an interface index in the kernel */
	FMT_IFNAME,   /* a name, "eth*" for a prefix */
	FMT_ADDR,     /* only in sets */
	FMT_ADDRTYPE, /* local, unicast, ... (fib's address types) */
};

/* What the first packet of a new inbound connection carries in this place (evaluate.c asks). */
enum sel_sim {
	SIM_CT_STATE,     /* ct state new */
	SIM_IFACE,        /* the interface it arrives on */
	SIM_NFPROTO,
	SIM_L4PROTO,
	SIM_SADDR,        /* its source address */
	SIM_DPORT,
	SIM_PROTO_PORT,   /* protocol and port, looked up in a map */
	SIM_ABSENT,       /* nothing a TCP or UDP connection attempt carries: ICMP fields, IPv6 hop limit */
	SIM_PAYLOAD,      /* what the client sends: nothing in a TCP SYN, anything in a UDP datagram */
	SIM_UNKNOWN,      /* something tlswall does not know about the connection */
};

#define SELECTOR_MAX_MEMBERS 2

struct selector {
	enum rs_selector id;
	const char *name;      /* nft's words for it; the snapshot stores this name too, so it never changes */
	enum sel_source source;
	uint32_t key;          /* SEL_META, SEL_CT: NFT_META_*, NFT_CT_*; SEL_FIB: NFT_FIB_RESULT_* */
	int ct_dir;            /* SEL_CT: the direction it reads (IP_CT_DIR_ORIGINAL...), -1: none */
	uint32_t fib_flags;    /* SEL_FIB: NFTA_FIB_F_* */
	uint32_t base;         /* SEL_PAYLOAD, SEL_RAW_PAYLOAD: NFT_PAYLOAD_*_HEADER */
	uint32_t offset, len;  /* SEL_PAYLOAD: bytes */
	uint8_t nfproto;       /* implies "meta nfproto" is this (NFPROTO_IPV4, NFPROTO_IPV6); 0: nothing */
	uint8_t l4proto;       /* implies "meta l4proto" is this; 0: nothing */
	uint32_t width;        /* bytes in a compare (SEL_RAW_PAYLOAD: from the match) */
	enum sel_order order;
	enum sel_format format;
	uint32_t datatype;     /* nft's datatype number for a set of these values; 0: never in an anonymous set */
	uint32_t typeof_desc, typeof_field; /* payload selectors: nft's protocol and field, for a set's typeof */
	enum sel_sim sim;
	enum rs_selector members[SELECTOR_MAX_MEMBERS]; /* SEL_CONCAT */
};

const struct selector *selector_of(enum rs_selector id);
const struct selector *selector_by_name(const char *name);
const struct selector *selector_by_meta(uint32_t key);
/* dir: the ct expression's direction, -1 when it has none */
const struct selector *selector_by_ct(uint32_t key, int dir);
const struct selector *selector_by_fib(uint32_t result, uint32_t flags);
/* The fixed-place selector that loads len bytes at offset of base, when the rule has already matched nfproto and
 * l4proto (0: not matched); else the raw selector of base; NULL when neither fits. */
const struct selector *selector_by_payload(uint32_t base, uint32_t offset, uint32_t len, uint8_t nfproto,
					   uint8_t l4proto);
/* The concatenation of these members, or NULL. */
const struct selector *selector_by_members(const enum rs_selector *members, size_t n);

/* Bytes a value of m takes in the kernel. */
uint32_t selector_width(const struct selector *s, const struct rs_match *m);

/* The selector's text for m: "ip saddr", "@ih,0,16". */
void selector_put_name(const struct rs_match *m, struct sbuf *sb);
/* One value as nft writes it. */
void selector_put_value(const struct rs_match *m, const struct rs_value *v, struct sbuf *sb);
/* A protocol number as nft writes it without /etc/protocols. */
void selector_put_l4proto(uint32_t proto, struct sbuf *sb);

/* The key types of named sets: how nft names them, how long a key is in the model and in the kernel. */
struct set_key {
	enum rs_keytype type;
	const char *name;      /* "ipv4_addr" */
	size_t len;            /* bytes in the model */
	uint32_t kernel_len;   /* bytes in the kernel (a concatenation keeps each field in a 4-byte register) */
	uint32_t datatype;     /* nft's datatype number */
};

const struct set_key *set_key_of(enum rs_keytype type);
const struct set_key *set_key_by_datatype(uint32_t datatype, uint32_t kernel_len);

#endif
