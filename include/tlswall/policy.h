/* The policy model: what the admin wrote, with the FILE:LINE of every object, before any nftables concept. */
#ifndef TLSWALL_POLICY_H
#define TLSWALL_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "tlswall/addr.h"
#include "tlswall/catalog.h"

struct loc {
	const char *file; /* interned by the policy */
	unsigned line;
};

enum policy_verdict {
	VERDICT_DROP,
	VERDICT_REJECT,
};

enum icmp_mode {
	ICMP_ESSENTIAL,
	ICMP_ALL,
};

enum rate_unit {
	RATE_SECOND,
	RATE_MINUTE,
	RATE_HOUR,
	RATE_DAY,
};

struct log_config {
	bool enabled;
	unsigned rate;
	enum rate_unit unit;
	char *prefix;
	struct loc loc;
};

/* A named address set under `sets`, written inline or as `{ file = "..."; }`. */
struct named_set {
	char *name;
	struct loc loc;
	char *file;          /* list file as written, NULL for an inline list */
	char *path;          /* list file resolved against the policy's directory */
	struct loc file_loc;
	struct addr_list addrs; /* normalized */
	bool used;
	bool malformed; /* already reported: no "empty set" warning on top */
};

struct set_ref {
	char *name;
	struct loc loc;
	size_t index; /* into policy->sets, valid once validated */
};

/* A `from` or `deny` list: inline addresses plus references to named sets. */
struct source_list {
	bool present;
	size_t nitems;   /* entries written, valid or not: an empty list is an error, a list of bad entries is not */
	struct loc loc;
	struct addr_list literals; /* normalized */
	struct set_ref *refs;
	size_t nrefs;
};

#define SERVICE_MAX_PORTS 4

/* What the kernel checks in what a client sends to a port (require_tls, guard_credentials). */
enum payload_check {
	CHECK_NONE,
	CHECK_TLS_RECORD,  /* TCP: the first payload is a TLS record */
	CHECK_QUIC,        /* UDP: the first datagram is a QUIC long-header packet of a known version */
	CHECK_DTLS_RECORD, /* UDP: the first datagram is a DTLS handshake record */
	CHECK_LOGINS,      /* TCP, until the upgrade: no plaintext login command */
};

/* One entry of `services` or `exemptions`: a thing that opens ports. */
struct service {
	bool exemption;
	struct loc loc;
	char *name;          /* `name`, or the catalogue name */
	struct loc name_loc;
	char *service;       /* catalogue name as written, NULL for a custom port */
	struct loc service_loc;
	const struct catalog_entry *cat;

	bool has_port;
	struct port_range port; /* custom port or range; proto filled from `proto` */
	struct loc port_loc;
	bool has_proto;
	struct loc proto_loc;
	bool has_tls, tls;
	struct loc tls_loc;
	bool starttls;
	struct loc starttls_loc;
	bool has_passive, passive_none;
	struct port_range passive;
	struct loc passive_loc;
	char *reason;
	struct loc reason_loc;
	bool has_require_tls, require_tls;
	struct loc require_tls_loc;
	bool guard_credentials;
	struct loc guard_credentials_loc;

	struct source_list from;
	char **ifaces;
	unsigned *iface_lines;
	size_t nifaces;
	struct loc ifaces_loc;

	/* keys written, even with a value of the wrong type, so validation does not report them missing as well */
	bool service_given, name_given, tls_given, starttls_given, passive_given, reason_given;

	/* resolved by validation: every port this entry opens, and what the kernel checks there */
	struct port_range ports[SERVICE_MAX_PORTS];
	enum payload_check checks[SERVICE_MAX_PORTS];
	size_t nports;
};

struct policy {
	char *path;
	char *dir;      /* directory of path, for relative list files */
	char **files;   /* interned file names that locs point to */
	size_t nfiles, capfiles;

	int version;
	char *table;
	struct loc table_loc;
	enum policy_verdict verdict;
	enum icmp_mode icmp;
	struct log_config log;
	bool require_tls;         /* every service's, unless it says otherwise */
	struct loc require_tls_loc;
	unsigned ct_mark_bit;     /* the ct mark bit that says a connection's first payload passed */
	struct loc ct_mark_bit_loc;
	bool published_ports;     /* judge connections forwarded through ports published on this host's addresses */
	struct loc published_ports_loc;
	unsigned published_mark_bit; /* the ct mark bit that says a connection was to an address of this host */
	struct loc published_mark_bit_loc;

	struct named_set *sets;
	size_t nsets, capsets;
	struct source_list deny;
	bool services_given;      /* "services" or "exemptions" written, even if wrongly */
	struct service *services; /* services first, then exemptions, each in file order */
	size_t nservices, capservices;
};

#define POLICY_DEFAULT_TABLE "tlswall"
#define POLICY_DEFAULT_CT_MARK_BIT 31
#define POLICY_DEFAULT_PUBLISHED_MARK_BIT 30

struct policy *policy_alloc(const char *path);
void policy_free(struct policy *p);

const char *policy_intern_file(struct policy *p, const char *file);
struct loc policy_loc(struct policy *p, const char *file, unsigned line);

struct named_set *policy_add_set(struct policy *p);
struct service *policy_add_service(struct policy *p);
/* Index of the set called name, or (size_t)-1. */
size_t policy_find_set(const struct policy *p, const char *name);

void source_list_add_ref(struct source_list *l, const char *name, struct loc loc);

const char *rate_unit_name(enum rate_unit unit);

/* Whether any port of s has its payload checked of this kind (CHECK_NONE: of any kind). */
bool service_checks(const struct service *s, enum payload_check kind);

/* The log prefix of what a payload check refused for s: the policy's prefix, then "plaintext NAME: ". */
char *policy_plaintext_log_prefix(const struct policy *p, const struct service *s);

#endif
