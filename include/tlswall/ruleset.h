/* The ruleset model: what the kernel holds for tlswall's table. It is built by the compiler, printed as nft text,
 * encoded to netlink, decoded from a kernel dump and diffed: one model for all four, so diff never compares text. */
#ifndef TLSWALL_RULESET_H
#define TLSWALL_RULESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a set's keys are (and how they print). */
enum rs_keytype {
	RS_KEY_IPV4,       /* 4 bytes, network order */
	RS_KEY_IPV6,       /* 16 bytes, network order */
	RS_KEY_PROTO_PORT, /* inet_proto . inet_service: protocol byte, then port in network order */
	RS_KEY_PORT,       /* inet_service: port in network order */
};

/* Bytes per key in the model (memcmp order is numeric order for all of them). */
size_t rs_keylen(enum rs_keytype type);

enum rs_verdict_code {
	RS_ACCEPT,
	RS_DROP,
	RS_JUMP,
	RS_GOTO,
	RS_RETURN,
	RS_CONTINUE,
};

struct rs_verdict {
	enum rs_verdict_code code;
	char *chain; /* RS_JUMP, RS_GOTO */
};

/* A named set or verdict map. Elements are packed for memory: a million IPv4 ranges take 8 MB. */
#include "tlswall/mapping.h"

#define RS_DIGEST_LEN 32

struct rs_set {
	char *name;
	char *comment;
	enum rs_keytype key;
	bool interval;
	bool vmap;             /* data is a verdict */
	size_t nelem, capelem;
	uint8_t *elems;        /* nelem * stride; interval sets store first, last (inclusive) */
	struct rs_verdict *data; /* vmap: one per element */
	uint64_t handle;       /* from a dump; 0 when planned */
	const char *src_file;  /* what in the policy made it (for error messages) */
	unsigned src_line;
	/* A set of a kind tlswall never makes (someone added it by hand): text describes it, elems stay empty. */
	bool foreign;
	char *foreign_text;
	/* The SHA-256 of elems, when known without hashing them (read with them from a snapshot, or taken over from a
	 * set with the same elements): what the table hash takes for them (table_hash.h). Whatever changes elems
	 * clears digest_known. */
	bool digest_known;
	uint8_t digest[RS_DIGEST_LEN];
	/* elems belong to something that outlives the set (the set a shard was cut from, the snapshot file its table
	 * holds mapped): never freed nor written here; rs_set_add and rs_set_sort take a copy first. A million ranges
	 * are not copied from one stage to the next. */
	bool elems_borrowed;
};

size_t rs_set_stride(const struct rs_set *s);
const uint8_t *rs_set_elem(const struct rs_set *s, size_t i);
/* last == NULL for a single key; for non-interval sets last must be NULL or equal to first. */
void rs_set_add(struct rs_set *s, const uint8_t *first, const uint8_t *last, const struct rs_verdict *data);
/* s's elements become the n at elems, which outlive s and are never written (elems_borrowed). */
void rs_set_borrow(struct rs_set *s, const uint8_t *elems, size_t n);
void rs_set_sort(struct rs_set *s);
/* The element of sorted set s holding key (inside its range, for interval sets): its index, or -1. */
long rs_set_lookup(const struct rs_set *s, const uint8_t *key);

/* What a match reads from the packet or its metadata. What each one means to nftables (its expression, its
 * dependencies, its values) is in one table, selector.c. */
enum rs_selector {
	RS_SEL_CT_STATE,    /* ct state: a bitmask, matched with "any of" */
	RS_SEL_IIF,         /* meta iif: values are interface names, resolved to an index when loaded */
	RS_SEL_IIFNAME,     /* meta iifname: names, a trailing '*' matches a prefix */
	RS_SEL_NFPROTO,     /* meta nfproto */
	RS_SEL_L4PROTO,     /* meta l4proto */
	RS_SEL_IP_SADDR,    /* ip saddr */
	RS_SEL_IP6_SADDR,   /* ip6 saddr */
	RS_SEL_ICMP_TYPE,   /* icmp type */
	RS_SEL_ICMPV6_TYPE, /* icmpv6 type */
	RS_SEL_IP6_HOPLIMIT,
	RS_SEL_TH_DPORT,    /* th dport */
	RS_SEL_L4PROTO_DPORT, /* meta l4proto . th dport (only with a named set or map) */
	RS_SEL_CT_MARK,     /* ct mark */
	RS_SEL_IH,          /* @ih,OFFSET,LENGTH: the payload after the transport header (what a client sends) */
	RS_SEL_CT_ORIGINAL_DPORT, /* ct original proto-dst: the port the client asked for, before any DNAT */
	RS_SEL_FIB_DADDR_TYPE,    /* fib daddr type: what the destination address is to this host ("local") */
};

/* ct state bits, as the kernel's NF_CT_STATE_*_BIT */
#define RS_CT_INVALID     0x01u
#define RS_CT_ESTABLISHED 0x02u
#define RS_CT_RELATED     0x04u
#define RS_CT_NEW         0x08u
#define RS_CT_UNTRACKED   0x40u

#define RS_IFNAMSIZ 16

struct rs_value {
	uint32_t num;           /* ct state bits, l4proto, nfproto, icmp type, hop limit, port */
	char str[RS_IFNAMSIZ];  /* interface names */
};

enum rs_op {
	RS_OP_EQ,      /* one value, or any of several (an anonymous set) */
	RS_OP_NEQ,
	RS_OP_FLAGS,   /* (value & mask) != 0: "ct state established,related" */
	RS_OP_SET,     /* lookup in a named set: "ip saddr @office.v4" */
	RS_OP_VMAP,    /* verdict map lookup: "meta l4proto . th dport vmap @services" */
	RS_OP_PRESENT, /* the packet has the bytes a raw payload selector names: "@ih,0,8 >= 0x0" (a load past the
			* packet's end ends the rule, so this matches exactly the packets that carry a payload) */
};

struct rs_match {
	enum rs_selector sel;
	enum rs_op op;
	uint32_t mask;     /* EQ, NEQ: the loaded value is ANDed with mask first ("ct mark & 0x1 == 0"); 0: no mask */
	uint32_t offset, length; /* raw payload selectors: where, in bits, as nft writes "@ih,OFFSET,LENGTH" */
	struct rs_value *vals;
	size_t nvals;
	char *set;     /* RS_OP_SET, RS_OP_VMAP */
};

enum rs_reject {
	RS_REJECT_TCP_RESET,
	RS_REJECT_ICMPX_ADMIN_PROHIBITED,
};

enum rs_rate_unit {
	RS_PER_SECOND,
	RS_PER_MINUTE,
	RS_PER_HOUR,
	RS_PER_DAY,
};

enum rs_stmt_kind {
	RS_STMT_MATCH,
	RS_STMT_COUNTER,
	RS_STMT_LIMIT,
	RS_STMT_LOG,
	RS_STMT_VERDICT,
	RS_STMT_REJECT,
	RS_STMT_CT_MARK_OR, /* ct mark set ct mark | bits */
	RS_STMT_CT_MARK_CLEAR, /* ct mark set ct mark & ~bits */
};

struct rs_stmt {
	enum rs_stmt_kind kind;
	union {
		struct rs_match match;
		struct {
			uint64_t packets, bytes;
		} counter;
		struct {
			uint64_t rate;
			enum rs_rate_unit unit;
			uint32_t burst;
		} limit;
		struct {
			char *prefix;
		} log;
		struct rs_verdict verdict;
		enum rs_reject reject;
		uint32_t mark_bits;
	} u;
};

/* What a rule of another tool's table publishes by destination NAT (Docker, Podman, libvirt, a hand-written DNAT):
 * tlswall never writes one, but judges the connections it forwards. Read by a tolerant reader that skips what it
 * does not know, so any DNAT rule yields one. */
struct rs_dnat {
	int family;           /* 4 or 6: the addresses translated; 0 when the rule does not say */
	uint8_t l4proto;      /* 0: any protocol, or one tlswall could not read */
	struct rs_port_range {
		uint16_t first, last;
	} *ports;             /* the original destination ports matched; none: every port */
	size_t nports;
	bool ports_unread;    /* ports matched by something tlswall cannot list (a named set, a map, a negation) */
	bool have_addr;
	uint8_t addr[16];     /* the new destination, when the rule names one */
	uint16_t to_port;     /* the new destination port; 0: unchanged */
};

struct rs_rule {
	struct rs_stmt *stmts;
	size_t nstmts;
	char *comment;
	uint64_t handle;
	/* Not made by tlswall (added by hand, or by another tool): tlswall tags the rules it makes. */
	bool foreign;
	/* Expressions this model cannot express: raw_text says what they do, in libnftnl's notation. */
	bool unreadable;
	char *raw_text;
	struct rs_dnat *dnat; /* another tool's rule that publishes ports */
	const char *src_file;
	unsigned src_line;
};

/* netfilter hook numbers, as the kernel's NF_INET_* */
#define RS_HOOK_PREROUTING 0u
#define RS_HOOK_INPUT 1u
#define RS_HOOK_FORWARD 2u

struct rs_chain {
	char *name;
	char *comment;
	bool base;          /* attached to a hook */
	uint32_t hook;      /* RS_HOOK_INPUT, or whatever a foreign chain uses */
	char *type;         /* "filter", ... (base chains) */
	int priority;
	enum rs_verdict_code policy; /* base chains: RS_ACCEPT or RS_DROP */
	struct rs_rule **rules;
	size_t nrules, caprules;
	uint64_t handle;
	const char *src_file;
	unsigned src_line;
};

struct rs_table {
	char *name;
	char *comment;
	char **files;       /* the policy files src_file pointers name: the table owns them */
	bool dormant;       /* read from the kernel: switched off ("flags dormant"), its rules do nothing; tlswall
			     * never makes a dormant table, so a diff against one always wakes it */
	size_t nfiles;
	struct rs_set **sets;
	size_t nsets, capsets;
	struct rs_chain **chains;
	size_t nchains, capchains;
	uint64_t handle;
	struct mapping held; /* a snapshot file some sets' elements point into (elems_borrowed); released last */
};

struct rs_table *rs_table_alloc(const char *name);
void rs_table_free(struct rs_table *t);
/* The table's own copy of a file name, for src_file (the table outlives the policy it was compiled from). */
const char *rs_table_file(struct rs_table *t, const char *file);

struct rs_set *rs_table_add_set(struct rs_table *t, const char *name, enum rs_keytype key, bool interval);
struct rs_chain *rs_table_add_chain(struct rs_table *t, const char *name);
struct rs_set *rs_table_find_set(const struct rs_table *t, const char *name);
struct rs_chain *rs_table_find_chain(const struct rs_table *t, const char *name);
/* The same, searching from *cursor on (and round), which is left just past what was found: a loop that looks names
 * up in the table's own order passes one cursor and finds each at once. */
struct rs_set *rs_table_find_set_from(const struct rs_table *t, const char *name, size_t *cursor);
struct rs_chain *rs_table_find_chain_from(const struct rs_table *t, const char *name, size_t *cursor);

struct rs_rule *rs_chain_add_rule(struct rs_chain *c);
/* Statement builders; they return the statement so callers can fill in details. */
struct rs_stmt *rs_rule_add(struct rs_rule *r, enum rs_stmt_kind kind);
struct rs_match *rs_rule_match(struct rs_rule *r, enum rs_selector sel, enum rs_op op);
void rs_match_add_num(struct rs_match *m, uint32_t num);
void rs_match_add_str(struct rs_match *m, const char *s);
void rs_rule_counter(struct rs_rule *r);
void rs_rule_verdict(struct rs_rule *r, enum rs_verdict_code code, const char *chain);

void rs_stmt_release(struct rs_stmt *st);
/* Deep copies. Copied objects name the files of the table they are copied into. */
void rs_stmt_copy(struct rs_stmt *dst, const struct rs_stmt *src);
struct rs_rule *rs_chain_copy_rule(struct rs_table *t, struct rs_chain *c, const struct rs_rule *r);
/* The chain's settings, and its rules when rules is set. */
struct rs_chain *rs_table_copy_chain(struct rs_table *t, const struct rs_chain *c, bool rules);
/* The set's settings under name (NULL: its own), and its elements when elements is set. */
struct rs_set *rs_table_copy_set(struct rs_table *t, const struct rs_set *s, const char *name, bool elements);
/* A table with t's own settings and files, and no set or chain. */
struct rs_table *rs_table_copy_top(const struct rs_table *t);
void rs_rule_free(struct rs_rule *r);
void rs_chain_free(struct rs_chain *c);
void rs_set_free(struct rs_set *s);

/* Sums the counters of a rule (or of every rule in a chain). */
void rs_rule_counters(const struct rs_rule *r, uint64_t *packets, uint64_t *bytes);
void rs_chain_counters(const struct rs_chain *c, uint64_t *packets, uint64_t *bytes);
/* Whether the rule ends in drop or reject: what "show" counts as dropped. */
bool rs_rule_drops(const struct rs_rule *r);

/* The model's words for its enumerations: what nft writes, and what snapshots store (so they never change). The
 * *_by_name functions return false for a name they do not know. */
const char *rs_verdict_name(enum rs_verdict_code code);
bool rs_verdict_by_name(const char *name, enum rs_verdict_code *code);
const char *rs_op_name(enum rs_op op);
bool rs_op_by_name(const char *name, enum rs_op *op);
const char *rs_rate_unit_name(enum rs_rate_unit unit);
bool rs_rate_unit_by_name(const char *name, enum rs_rate_unit *unit);
const char *rs_reject_name(enum rs_reject reject);
bool rs_reject_by_name(const char *name, enum rs_reject *reject);

/* Structural equality, ignoring counter values and kernel handles. */
bool rs_rule_equal(const struct rs_rule *a, const struct rs_rule *b);

#endif
