/* Pass: what the kernel checks in what clients send (require_tls, guard_credentials), with no module and no
 * userspace on the packet path: nftables' raw payload matches on the inner header (@ih, the bytes after the
 * transport header).
 *
 * A connection is checked from its first packet until its payload passes, and only then: its ct mark bit
 * (ct_mark_bit) says "check pending". A new connection to a port whose payload is checked goes through one verdict
 * map to the port's check chain, which sets the bit. Every packet of a pending connection goes first to the pending
 * chain: a segment that starts a TLS record (the common case: the ClientHello, or the upgrade's handshake on a
 * STARTTLS port) clears the bit there, with no lookup; anything else that carries a payload goes through the same
 * map to its port's check.
 * A check chain lets through what carries no payload (the handshake's ACKs: the payload load fails, so no rule
 * matches), clears the bit when the payload passes (so its later packets never reach a check again), and sends a
 * payload that fails to the service's plaintext chain, which counts it, logs it if the policy logs, and drops it. A
 * connection that was already open when the check came into force never had the bit: it is never checked, and a TLS
 * session in the middle of its records is not cut. Loopback is not checked: local clients (a webmail talking IMAP
 * to the same host) are the host's own.
 *
 * What this costs a connection was measured (bench/measure/packet.py, interleaved hosts): every packet pays one
 * compare of the mark before the established ones leave; a new connection one lookup and its check chain's
 * compares; its first segment a few compares. An earlier layout sent the first segment through the map as well, and
 * tested the new state before the established packets left; that cost about one connection in a hundred more. */
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "tlswall/compile.h"
#include "tlswall/util.h"

/* IMAP tags this long and shorter are covered ("a1 LOGIN", "A0001 LOGIN"). */
#define TAG_MAX 16

/* QUIC versions a client's first datagram may carry: 1, 2, and draft 29 (still sent by some clients). */
static const uint32_t quic_versions[] = { 0x00000001, 0x6b3343cf, 0xff00001d };

static struct rs_rule *rule(struct rs_chain *chain)
{
	return rs_chain_add_rule(chain);
}

/* @ih,OFFSET,LENGTH [& mask] op value, on bytes of what the client sent */
static void payload(struct rs_rule *r, unsigned byte, unsigned bytes, uint32_t mask, enum rs_op op, uint32_t value)
{
	struct rs_match *m = rs_rule_match(r, RS_SEL_IH, op);

	m->offset = byte * 8;
	m->length = bytes * 8;
	m->mask = mask;
	rs_match_add_num(m, value);
}

void compiler_match_pending(struct rs_rule *r, uint32_t mask, uint32_t value)
{
	struct rs_match *m = rs_rule_match(r, RS_SEL_CT_MARK, RS_OP_EQ);

	m->mask = mask;
	rs_match_add_num(m, value);
}

void compiler_match_payload(struct rs_rule *r)
{
	struct rs_match *m = rs_rule_match(r, RS_SEL_IH, RS_OP_PRESENT);

	/* The handshake's ACK, and a FIN or RST before any data, would pass a check anyway (its loads fail): they skip
	 * the map lookup and the check chain instead. */
	m->offset = 0;
	m->length = 8;
}

/* Whether a TCP port's payload is checked (a TLS record, or logins until the upgrade). */
static bool checks_tcp(const struct compiler *c)
{
	for (size_t i = 0; c->payload && i < c->payload->nelem; i++)
		if (*(const uint8_t *)rs_set_elem(c->payload, i) == L4_TCP)
			return true;
	return false;
}

/* the payload passed: the check is no longer pending */
static void clear_and_return(struct rs_rule *r, uint32_t bit)
{
	rs_rule_add(r, RS_STMT_CT_MARK_CLEAR)->u.mark_bits = bit;
	rs_rule_verdict(r, RS_RETURN, NULL);
}

/* Loopback is not checked. */
static void skip_local(struct rs_chain *chain)
{
	struct rs_rule *r = rule(chain);

	rs_match_add_str(rs_rule_match(r, RS_SEL_IIF, RS_OP_EQ), "lo");
	rs_rule_verdict(r, RS_RETURN, NULL);
}

/* A new connection's check is pending from its first packet (whose payload, if any, is checked at once). */
static void start_pending(struct rs_chain *chain, uint32_t bit)
{
	struct rs_rule *r = rule(chain);

	rs_match_add_num(rs_rule_match(r, RS_SEL_CT_STATE, RS_OP_FLAGS), RS_CT_NEW);
	rs_rule_add(r, RS_STMT_CT_MARK_OR)->u.mark_bits = bit;
}

/* UDP: once the server has answered, the flow is established and no longer checked. */
static void clear_established(struct rs_chain *chain, uint32_t bit)
{
	struct rs_rule *r = rule(chain);

	rs_match_add_num(rs_rule_match(r, RS_SEL_CT_STATE, RS_OP_FLAGS), RS_CT_ESTABLISHED | RS_CT_RELATED);
	clear_and_return(r, bit);
}

/* A TLS record header (content type handshake, version 3.x) clears the connection. */
static void pass_tls_record(struct rs_chain *chain, uint32_t bit)
{
	struct rs_rule *r = rule(chain);

	payload(r, 0, 2, 0, RS_OP_EQ, 0x1603);
	clear_and_return(r, bit);
}

struct rs_chain *compiler_pending_chain(struct compiler *c, const char *name)
{
	struct rs_chain *chain = rs_table_add_chain(c->t, name);

	chain->comment = x_strdup("connections whose payload check is pending");
	chain->src_file = rs_table_file(c->t, c->p->path);
	if (checks_tcp(c)) {
		/* every TCP check (a TLS record's, and the logins guard's until the upgrade) passes this first: the same
		 * test, made here once for all ports, before any lookup. A UDP datagram is never a TLS record. */
		uint32_t bit = 1u << c->p->ct_mark_bit;
		struct rs_rule *r = rule(chain);

		payload(r, 0, 2, 0, RS_OP_EQ, 0x1603);
		rs_match_add_num(rs_rule_match(r, RS_SEL_L4PROTO, RS_OP_EQ), L4_TCP);
		clear_and_return(r, bit);
	}
	return chain;
}

/* TCP: the first payload is a TLS record; any other payload goes to the plaintext chain. */
static void check_tls_record(struct rs_chain *chain, const char *refuse, uint32_t bit)
{
	struct rs_rule *r;

	skip_local(chain);
	start_pending(chain, bit);
	pass_tls_record(chain, bit);
	r = rule(chain);
	payload(r, 0, 1, 0, RS_OP_NEQ, 0x16);
	rs_rule_verdict(r, RS_GOTO, refuse);
	r = rule(chain);
	payload(r, 1, 1, 0, RS_OP_NEQ, 0x03);
	rs_rule_verdict(r, RS_GOTO, refuse);
}

/* UDP: a new flow's datagrams are QUIC long-header packets (header form bit set) of a known version, or a version
 * negotiation probe (a reserved version, 0x?a?a?a?a); anything else, an empty datagram too, is refused. */
static void check_quic(struct rs_chain *chain, const char *refuse, uint32_t bit)
{
	struct rs_rule *r;

	skip_local(chain);
	clear_established(chain, bit);
	start_pending(chain, bit);
	for (size_t i = 0; i < ARRAY_SIZE(quic_versions); i++) {
		r = rule(chain);
		payload(r, 0, 1, 0x80, RS_OP_EQ, 0x80);
		payload(r, 1, 4, 0, RS_OP_EQ, quic_versions[i]);
		clear_and_return(r, bit);
	}
	r = rule(chain);
	payload(r, 0, 1, 0x80, RS_OP_EQ, 0x80);
	payload(r, 1, 4, 0x0f0f0f0f, RS_OP_EQ, 0x0a0a0a0a);
	rs_rule_verdict(r, RS_RETURN, NULL);
	rs_rule_verdict(rule(chain), RS_GOTO, refuse);
}

/* UDP: a new flow's datagrams are DTLS handshake records (content type 22, version 254.x). */
static void check_dtls_record(struct rs_chain *chain, const char *refuse, uint32_t bit)
{
	struct rs_rule *r;

	skip_local(chain);
	clear_established(chain, bit);
	start_pending(chain, bit);
	r = rule(chain);
	payload(r, 0, 2, 0, RS_OP_EQ, 0x16fe);
	clear_and_return(r, bit);
	rs_rule_verdict(rule(chain), RS_GOTO, refuse);
}

/* Matches WORD followed by a space at byte `at`, letters in either case (& 0xdf folds lower case onto upper). */
static void command_at(struct rs_rule *r, unsigned at, const char *word)
{
	size_t n = strlen(word), i = 0;

	for (; i + 4 <= n; i += 4)
		payload(r, at + (unsigned)i, 4, 0xdfdfdfdf, RS_OP_EQ,
			(uint32_t)word[i] << 24 | (uint32_t)word[i + 1] << 16 | (uint32_t)word[i + 2] << 8 | (uint8_t)word[i + 3]);
	/* the rest of the word (0 to 3 letters) and the space after it, in one compare */
	{
		uint32_t mask = 0xff, value = ' ';
		unsigned bytes = 1;

		for (size_t k = n; k-- > i;) {
			mask |= 0xdfu << (8 * bytes);
			value |= (uint32_t)(uint8_t)word[k] << (8 * bytes);
			bytes++;
		}
		payload(r, at + (unsigned)i, bytes, bytes > 1 ? mask : 0, RS_OP_EQ, value);
	}
}

/* TCP, until the upgrade's TLS handshake: a line that starts a plaintext login goes to the plaintext chain. */
static void check_logins(struct rs_chain *chain, const char *refuse, uint32_t bit, const struct login_commands *l)
{
	skip_local(chain);
	start_pending(chain, bit);
	pass_tls_record(chain, bit);
	for (const char *const *cmd = l->commands; *cmd; cmd++) {
		for (unsigned tag = l->tagged ? 1 : 0; tag <= (l->tagged ? TAG_MAX : 0); tag++) {
			struct rs_rule *r = rule(chain);

			/* "TAG COMMAND ": the first space ends the tag */
			if (tag)
				payload(r, tag, 1, 0, RS_OP_EQ, ' ');
			command_at(r, tag ? tag + 1 : 0, *cmd);
			rs_rule_verdict(r, RS_GOTO, refuse);
		}
	}
}

/* plaintext.NAME: counts what the checks refused for the service, logs it when the policy logs, drops it. */
static struct rs_chain *plaintext_chain(struct compiler *c, const struct service *s)
{
	struct rs_chain *chain = compiler_service_chain(c, COMPILE_PLAINTEXT_PREFIX, s);
	struct rs_rule *r;

	chain->comment = x_asprintf(s->cat && s->cat->kind == TLS_UPGRADABLE ?
					    "%s: plaintext logins refused before the upgrade" :
					    "%s: what a client sent that was not TLS",
				    s->name);
	if (c->p->log.enabled) {
		struct rs_stmt *st;

		r = rule(chain);
		compiler_set_origin(c, r, c->p->log.loc);
		st = rs_rule_add(r, RS_STMT_LIMIT);
		st->u.limit.rate = c->p->log.rate;
		st->u.limit.unit = (enum rs_rate_unit)c->p->log.unit;
		st->u.limit.burst = 5;
		rs_rule_add(r, RS_STMT_LOG)->u.log.prefix = policy_plaintext_log_prefix(c->p, s);
	}
	r = rule(chain);
	compiler_set_origin(c, r, s->loc);
	rs_rule_counter(r);
	rs_rule_verdict(r, RS_DROP, NULL);
	return chain;
}

static const char *const check_prefixes[] = {
	[CHECK_TLS_RECORD] = "tls",
	[CHECK_QUIC] = "quic",
	[CHECK_DTLS_RECORD] = "dtls",
	[CHECK_LOGINS] = "logins",
};

/* whether name is PREFIX.something */
static bool has_prefix(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(name, prefix, n) == 0 && name[n] == '.';
}

bool compile_is_check_chain(const char *name)
{
	if (strcmp(name, COMPILE_PENDING_CHAIN) == 0 ||
	    strcmp(name, COMPILE_PUBLISHED_PREFIX "." COMPILE_PENDING_CHAIN) == 0 ||
	    has_prefix(name, COMPILE_PLAINTEXT_PREFIX))
		return true;
	for (size_t kind = CHECK_TLS_RECORD; kind <= CHECK_LOGINS; kind++)
		if (has_prefix(name, check_prefixes[kind]))
			return true;
	return false;
}

/* One service: a check chain per kind of check its ports ask for, and its plaintext chain. */
static void compile_service_checks(struct compiler *c, const struct service *s, bool ranges)
{
	uint32_t bit = 1u << c->p->ct_mark_bit;
	struct rs_chain *refuse = NULL;

	for (int kind = CHECK_TLS_RECORD; kind <= CHECK_LOGINS; kind++) {
		struct rs_chain *chain = NULL;

		for (size_t j = 0; j < s->nports; j++) {
			if (s->checks[j] != (enum payload_check)kind)
				continue;
			if (!refuse)
				refuse = plaintext_chain(c, s);
			if (!chain)
				chain = compiler_service_chain(c, check_prefixes[kind], s);
			if (!c->payload)
				c->payload = compiler_port_map(c, COMPILE_PAYLOAD_MAP, ranges);
			compiler_map_port(c->payload, &s->ports[j], chain->name);
		}
		if (!chain)
			continue;
		if (kind == CHECK_TLS_RECORD)
			check_tls_record(chain, refuse->name, bit);
		else if (kind == CHECK_QUIC)
			check_quic(chain, refuse->name, bit);
		else if (kind == CHECK_DTLS_RECORD)
			check_dtls_record(chain, refuse->name, bit);
		else
			check_logins(chain, refuse->name, bit, s->cat->logins);
	}
}

void pass_payload_checks(struct compiler *c)
{
	bool ranges = false;

	for (size_t i = 0; i < c->p->nservices; i++)
		for (size_t j = 0; j < c->p->services[i].nports; j++)
			ranges |= c->p->services[i].checks[j] != CHECK_NONE &&
				  c->p->services[i].ports[j].first != c->p->services[i].ports[j].last;
	for (size_t i = 0; i < c->p->nservices; i++)
		compile_service_checks(c, &c->p->services[i], ranges);
	if (c->payload)
		rs_set_sort(c->payload);
}
