/* The audit model: every listener of this host classified against the policy, what probing it found, and the
 * findings drawn from that. Built by audit_classify, filled by probe_all, judged by audit_judge, printed by
 * audit_report. */
#ifndef TLSWALL_AUDIT_H
#define TLSWALL_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlswall/published.h"

struct listener;
struct pipeline;
struct service;

/* What the policy does with new connections to a listener. */
enum audit_verdict {
	AUDIT_TLS,      /* allowed as an implicit-TLS service (catalogue, or a custom port with tls = true) */
	AUDIT_STARTTLS, /* allowed because it upgrades to TLS in-protocol */
	AUDIT_EXEMPT,   /* allowed by an exemption, for its reason */
	AUDIT_BLOCKED,  /* dropped: the firewall is doing its job */
	AUDIT_LOCAL,    /* bound to loopback: only this host can reach it */
	AUDIT_UNJUDGED, /* a published port, and the policy leaves forwarded connections alone (published_ports) */
};

enum probe_kind {
	PROBE_NONE,
	PROBE_TLS,      /* a TLS handshake from the first byte */
	PROBE_STARTTLS, /* the protocol's dialogue up to its upgrade, then a handshake */
	PROBE_QUIC,     /* a QUIC Initial; a Version Negotiation or an Initial back means a QUIC server */
};

/* How a probe connection ended. */
enum probe_status {
	PS_NOT_RUN,
	PS_OK,          /* handshake completed (QUIC: the server answered) */
	PS_TIMEOUT,     /* no complete answer within the per-probe timeout (or the audit's total bound) */
	PS_REFUSED,     /* the connection was refused or could not be made */
	PS_CLOSED,      /* the server closed the connection before the handshake completed */
	PS_FAILED,      /* the TLS handshake failed */
	PS_NOT_OFFERED, /* STARTTLS: the server does not offer the upgrade */
	PS_UPGRADE_REFUSED, /* STARTTLS: offered, but the upgrade command was refused */
	PS_UNEXPECTED,  /* the server did not speak the expected protocol */
};

enum severity {
	SEV_INFO,
	SEV_WARNING,
	SEV_CRITICAL,
};

struct finding {
	enum severity severity;
	const char *code;   /* stable identifier: "plaintext", "cert_expired", ... */
	char *message;
};

struct tls_info {
	char *version;      /* "TLSv1.3" */
	char *cipher;
	char *subject, *issuer; /* RFC 2253 */
	char **names;       /* subjectAltName entries, "DNS:host" or "IP:addr" */
	size_t nnames;
	char *not_after;    /* "2027-01-31T12:00:00Z" */
	int64_t seconds_left; /* negative once expired */
	bool name_checked;  /* an expected name was known */
	bool name_ok;
};

struct probe_result {
	enum probe_status status;
	char *detail;        /* the TLS library's reason, the server's reply, ... */
	bool have_tls;
	struct tls_info tls;
	char *answer;        /* the first line of what the server sent where a handshake should have been */
	bool answer_text;    /* it was text, not TLS records */
	/* STARTTLS */
	bool offered;        /* the upgrade was offered (or, where nothing is advertised, accepted) */
	bool upgraded;       /* the server agreed to the upgrade command */
	char *login;         /* what advertises a plaintext login before the upgrade, or NULL */
	/* more handshakes, one offering only TLS 1.0, one only TLS 1.1 */
	bool legacy_1_0, legacy_1_1; /* accepted */
	/* a third connection that waits for a banner, then sends an HTTP request (implicit-TLS ports only) */
	enum probe_status plain_status;
	char *plain_answer;
	bool plain_text;
	/* QUIC */
	uint32_t *quic_versions; /* from a Version Negotiation */
	size_t nquic_versions;
	bool quic_initial;   /* the server answered with an Initial of its own */
	unsigned elapsed_ms; /* the longest of the probe's connections */
};

struct audit_row {
	struct listener *listener; /* NULL: a published port, or a service of the policy that nothing listens on */
	const struct published *published; /* a port another table forwards to a container or VM by DNAT */
	uint8_t proto;
	uint16_t port, port_last; /* a range only for a service without a listener */
	enum audit_verdict verdict;
	const struct service *entry; /* the policy entry that opens the port, or NULL */
	enum probe_kind kind;
	const char *dialogue;        /* PROBE_STARTTLS: the catalogue name of the protocol spoken */
	int target_family;           /* where the probe connects: the bound address, loopback for a wildcard, the
				      * new destination of a published port */
	uint8_t target[16];
	uint16_t target_port;
	struct probe_result probe;
	struct finding *findings;
	size_t nfindings;
};

struct audit {
	struct listener *listeners;
	size_t nlisteners;
	struct published_list published;
	struct audit_row *rows;      /* listeners first, in their order; then published ports; then services that
				      * nothing listens on and nothing publishes */
	size_t nrows;
	bool probed;
};

/* Classifies every listener and every published port against the policy's compiled ruleset, through the same
 * evaluator the guards use, and adds a row for each port the policy opens that nothing listens on. Takes ownership
 * of the listeners and of the published ports. */
struct audit *audit_classify(const struct pipeline *pl, struct listener *listeners, size_t n,
			     struct published_list *published);
void audit_free(struct audit *a);

struct judge_options {
	unsigned expiry_days;      /* a certificate that expires sooner is a warning */
	unsigned timeout_ms;       /* what the probes were given, for the messages */
	const char *expected_name; /* what the certificate's names must cover */
};

/* Turns probe results into findings. */
void audit_judge(struct audit *a, const struct judge_options *o);

const char *audit_verdict_name(enum audit_verdict v);
const char *probe_status_name(enum probe_status s);
const char *severity_name(enum severity s);
/* The worst severity among all findings, or -1 when there are none. */
int audit_worst(const struct audit *a);

#endif
