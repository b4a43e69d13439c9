#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlswall/audit.h"
#include "tlswall/compile.h"
#include "tlswall/evaluate.h"
#include "tlswall/listeners.h"
#include "tlswall/pipeline.h"
#include "tlswall/policy.h"
#include "tlswall/ruleset.h"
#include "tlswall/starttls.h"
#include "tlswall/tls_probe.h"
#include "tlswall/util.h"

static bool in_range(const struct port_range *r, uint8_t proto, uint16_t port)
{
	return r->proto == proto && r->first <= port && port <= r->last;
}

/* The policy entry whose ports include proto/port: the one the services map sends its connections to. */
static const struct service *entry_for(const struct policy *p, uint8_t proto, uint16_t port)
{
	for (size_t i = 0; i < p->nservices; i++)
		for (size_t j = 0; j < p->services[i].nports; j++)
			if (in_range(&p->services[i].ports[j], proto, port))
				return &p->services[i];
	return NULL;
}

static bool catalogue_port(const struct catalog_entry *cat, uint8_t proto, uint16_t port)
{
	for (size_t i = 0; i < cat->nports; i++)
		if (in_range(&cat->ports[i], proto, port))
			return true;
	return false;
}

/* How an allowed port is allowed, and how to probe it. A catalogue service is judged by what it is, whether the
 * policy lists it under services or exemptions; passive FTP data ports and DTLS are not probed. */
static void allowed(struct audit_row *r, const struct service *s)
{
	const struct catalog_entry *cat = s->cat;

	r->entry = s;
	r->kind = PROBE_NONE;
	if (cat && cat->kind == TLS_UPGRADABLE) {
		r->verdict = AUDIT_STARTTLS;
		if (r->proto == L4_TCP && catalogue_port(cat, r->proto, r->port) && dialogue_known(cat->name)) {
			r->kind = PROBE_STARTTLS;
			r->dialogue = cat->name;
		}
	} else if ((cat && cat->kind == TLS_IMPLICIT) || (!cat && !s->exemption && s->tls)) {
		r->verdict = AUDIT_TLS;
		if (r->proto == L4_TCP && (!cat || catalogue_port(cat, r->proto, r->port)))
			r->kind = PROBE_TLS;
		else if (r->proto == L4_UDP && cat &&
			 (strcmp(cat->name, "https") == 0 || strcmp(cat->name, "domain-s") == 0))
			r->kind = PROBE_QUIC; /* HTTP/3 and DNS over QUIC */
	} else {
		r->verdict = AUDIT_EXEMPT;
	}
}

static const struct service *entry_by_chain(const struct policy *p, const struct rs_chain *c)
{
	const char *dot = c ? strchr(c->name, '.') : NULL;

	for (size_t i = 0; dot && i < p->nservices; i++)
		if (strcmp(p->services[i].name, dot + 1) == 0)
			return &p->services[i];
	return NULL;
}

static void classify(const struct pipeline *pl, const struct rs_chain *input, struct audit_row *r)
{
	const struct listener *l = r->listener;
	const struct service *s = entry_for(pl->policy, l->proto, l->port);
	struct packet pkt = { 0 };
	struct eval_trace why;
	enum verdict v;

	r->target_family = l->family;
	memcpy(r->target, l->addr, 16);
	r->target_port = l->port;
	if (listener_is_wildcard(l)) {
		/* the daemon behind a wildcard bind answers on loopback too, and loopback is always let in */
		memset(r->target, 0, 16);
		if (l->family == 4)
			r->target[0] = 127, r->target[3] = 1;
		else
			r->target[15] = 1;
	}
	if (listener_is_loopback(l)) {
		r->verdict = AUDIT_LOCAL;
		r->entry = s;
		return;
	}
	/* A new connection from an unknown source on an unknown interface: what the guards ask too. Source and
	 * interface restrictions make the answer "unknown", and then the entry that owns the port decides: it is
	 * allowed, to some. */
	pkt.family = l->family;
	pkt.l4proto = l->proto;
	pkt.dport = l->port;
	pkt.any_source = true;
	v = input ? evaluate(pl->table, input, &pkt, &why) : EVAL_UNKNOWN;
	if (!s && v == EVAL_ACCEPT)
		s = entry_by_chain(pl->policy, why.chain);
	if (v == EVAL_DROP || !s)
		r->verdict = AUDIT_BLOCKED;
	else
		allowed(r, s);
}

/* A port another table forwards to a container or VM: judged as the forward chain judges it (through the same
 * service chains as input, from the network), probed at its new destination. A range is judged by its first port. */
static void classify_published(const struct pipeline *pl, const struct rs_chain *input, struct audit_row *r)
{
	const struct rs_dnat *d = &r->published->dnat;
	const struct service *s = entry_for(pl->policy, r->proto, r->port);
	struct packet pkt = { .family = d->family ? d->family : 4, .l4proto = r->proto, .dport = r->port,
			      .any_source = true, .not_loopback = true };
	struct eval_trace why;
	enum verdict v;

	r->target_family = d->family;
	memcpy(r->target, d->addr, 16);
	r->target_port = d->to_port ? d->to_port : r->port;
	if (!rs_table_find_chain(pl->table, COMPILE_FORWARD_CHAIN)) {
		r->verdict = AUDIT_UNJUDGED;
		r->entry = s;
		return;
	}
	v = input ? evaluate(pl->table, input, &pkt, &why) : EVAL_UNKNOWN;
	if (!s && v == EVAL_ACCEPT)
		s = entry_by_chain(pl->policy, why.chain);
	if (v == EVAL_DROP || !s)
		r->verdict = AUDIT_BLOCKED;
	else
		allowed(r, s);
	/* probe only one port, at an address the rule names */
	if (r->port != r->port_last || !d->have_addr || !d->family)
		r->kind = PROBE_NONE;
}

/* Rows for the published ports: one per port, one per range of more than RANGE_ROWS ports, one for a rule whose
 * ports tlswall cannot list */
#define RANGE_ROWS 64

static struct audit_row *new_row(struct audit *a, size_t *cap)
{
	struct audit_row *r;

	x_grow(&a->rows, cap, a->nrows + 1, sizeof(*a->rows));
	r = &a->rows[a->nrows++];
	memset(r, 0, sizeof(*r));
	return r;
}

static void published_rows(const struct pipeline *pl, const struct rs_chain *input, struct audit *a, size_t *cap)
{
	for (size_t i = 0; i < a->published.n; i++) {
		const struct published *p = &a->published.v[i];
		const struct rs_dnat *d = &p->dnat;
		uint8_t proto = d->l4proto ? d->l4proto : L4_TCP;

		for (size_t j = 0; j < (d->ports_unread || !d->nports ? 1 : d->nports); j++) {
			uint32_t first = d->nports && !d->ports_unread ? d->ports[j].first : 1,
				 last = d->nports && !d->ports_unread ? d->ports[j].last : 65535;
			bool one_by_one = last - first < RANGE_ROWS;

			for (uint32_t port = first; port <= last; port = one_by_one ? port + 1 : last + 1) {
				struct audit_row *r = new_row(a, cap);

				r->published = p;
				r->proto = proto;
				r->port = (uint16_t)port;
				r->port_last = (uint16_t)(one_by_one ? port : last);
				classify_published(pl, input, r);
			}
		}
	}
}

static bool published_port(const struct audit *a, const struct port_range *pr)
{
	for (size_t i = 0; i < a->nrows; i++)
		if (a->rows[i].published && pr->proto == a->rows[i].proto && pr->first <= a->rows[i].port_last &&
		    a->rows[i].port <= pr->last)
			return true;
	return false;
}

struct audit *audit_classify(const struct pipeline *pl, struct listener *listeners, size_t n,
			     struct published_list *published)
{
	struct audit *a = x_calloc(1, sizeof(*a));
	const struct rs_chain *input = rs_table_find_chain(pl->table, COMPILE_INPUT_CHAIN);
	const struct policy *p = pl->policy;
	size_t cap = n;

	a->listeners = listeners;
	a->nlisteners = n;
	a->published = *published;
	memset(published, 0, sizeof(*published));
	a->rows = x_calloc(n ? n : 1, sizeof(*a->rows));
	for (size_t i = 0; i < n; i++) {
		struct audit_row *r = &a->rows[a->nrows++];

		r->listener = &listeners[i];
		r->proto = listeners[i].proto;
		r->port = r->port_last = listeners[i].port;
		classify(pl, input, r);
	}
	published_rows(pl, input, a, &cap);
	/* what the policy opens and nothing answers on (passive FTP ranges are opened for connections yet to come) */
	for (size_t i = 0; i < p->nservices; i++) {
		const struct service *s = &p->services[i];

		for (size_t j = 0; j < s->nports; j++) {
			const struct port_range *pr = &s->ports[j];
			struct audit_row *r;
			bool heard = false;

			if (s->has_passive && !s->passive_none && pr->first == s->passive.first &&
			    pr->last == s->passive.last && pr->proto == s->passive.proto)
				continue;
			for (size_t k = 0; k < n && !heard; k++)
				heard = !listener_is_loopback(&listeners[k]) && in_range(pr, listeners[k].proto, listeners[k].port);
			if (heard || published_port(a, pr))
				continue;
			r = new_row(a, &cap);
			r->proto = pr->proto;
			r->port = pr->first;
			r->port_last = pr->last;
			allowed(r, s);
			r->kind = PROBE_NONE;
			r->dialogue = NULL;
		}
	}
	return a;
}

static void result_release(struct probe_result *pr)
{
	free(pr->detail);
	tls_info_release(&pr->tls);
	free(pr->answer);
	free(pr->login);
	free(pr->plain_answer);
	free(pr->quic_versions);
}

void audit_free(struct audit *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nrows; i++) {
		result_release(&a->rows[i].probe);
		for (size_t j = 0; j < a->rows[i].nfindings; j++)
			free(a->rows[i].findings[j].message);
		free(a->rows[i].findings);
	}
	free(a->rows);
	listeners_free(a->listeners, a->nlisteners);
	published_release(&a->published);
	free(a);
}

static void add(struct audit_row *r, enum severity sev, const char *code, const char *fmt, ...) TW_PRINTF(4, 5);

static void add(struct audit_row *r, enum severity sev, const char *code, const char *fmt, ...)
{
	va_list ap;
	struct finding *f;

	r->findings = x_reallocarray(r->findings, r->nfindings + 1, sizeof(*r->findings));
	f = &r->findings[r->nfindings++];
	f->severity = sev;
	f->code = code;
	va_start(ap, fmt);
	f->message = x_vasprintf(fmt, ap);
	va_end(ap);
}

/* Whole days, rounded down: -1 for a certificate that expired an hour ago. */
static long long days_of(int64_t seconds)
{
	return seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
}

static void judge_handshake(struct audit_row *r, const struct judge_options *o)
{
	const struct probe_result *pr = &r->probe;
	const struct tls_info *t = &pr->tls;

	if (t->not_after) {
		long long days = days_of(t->seconds_left);

		if (t->seconds_left < 0)
			add(r, SEV_CRITICAL, "cert_expired", "the certificate expired %lld day%s ago (%s)", -days,
			    days == -1 ? "" : "s", t->not_after);
		else if (t->seconds_left < (int64_t)o->expiry_days * 86400)
			add(r, SEV_WARNING, "cert_expiring", "the certificate expires in %lld day%s (%s), within %u days",
			    days, days == 1 ? "" : "s", t->not_after, o->expiry_days);
	} else if (!t->subject) {
		add(r, SEV_WARNING, "no_certificate", "the server sent no certificate");
	}
	if (t->subject && t->name_checked && !t->name_ok)
		add(r, SEV_WARNING, "cert_name", "the certificate's names do not cover %s", o->expected_name);
	if (t->version && strcmp(t->version, "TLSv1.3") != 0)
		add(r, SEV_INFO, "no_tls13", "negotiated %s: TLS 1.3 is not offered", t->version);
}

static void judge_legacy(struct audit_row *r)
{
	const struct probe_result *pr = &r->probe;

	if (pr->legacy_1_0 || pr->legacy_1_1)
		add(r, SEV_WARNING, "legacy_tls", "still accepts %s (TLS 1.0 and 1.1 are deprecated, RFC 8996)",
		    pr->legacy_1_0 && pr->legacy_1_1 ? "TLS 1.0 and TLS 1.1" : pr->legacy_1_0 ? "TLS 1.0" : "TLS 1.1");
}

static void target_text(const struct audit_row *r, char *buf, size_t len)
{
	inet_ntop(r->target_family == 4 ? AF_INET : AF_INET6, r->target, buf, (socklen_t)len);
}

static void judge_tls(struct audit_row *r, const struct judge_options *o)
{
	const struct probe_result *pr = &r->probe;
	const char *text = NULL;
	char addr[INET6_ADDRSTRLEN];

	if (pr->status == PS_OK) {
		judge_handshake(r, o);
		judge_legacy(r);
		return;
	}
	if (pr->answer && pr->answer_text)
		text = pr->answer;
	else if (pr->plain_status == PS_OK && pr->plain_text && !pr->legacy_1_0 && !pr->legacy_1_1)
		text = pr->plain_answer;
	if (text) {
		add(r, SEV_CRITICAL, "plaintext", "answers in plaintext where a TLS handshake should be: \"%s\"", text);
		return;
	}
	switch (pr->status) {
	case PS_TIMEOUT:
		add(r, SEV_WARNING, "no_handshake", "no TLS handshake within %u ms%s%s", o->timeout_ms,
		    pr->detail ? ": " : "", pr->detail ? pr->detail : "");
		break;
	case PS_REFUSED:
		target_text(r, addr, sizeof(addr));
		add(r, SEV_WARNING, "connect_failed", "cannot connect to %s: %s", addr, pr->detail ? pr->detail : "?");
		break;
	default:
		add(r, SEV_CRITICAL, "handshake_failed", "the TLS handshake failed: %s", pr->detail ? pr->detail : "?");
		break;
	}
	judge_legacy(r);
}

static void judge_starttls(struct audit_row *r, const struct judge_options *o)
{
	const struct probe_result *pr = &r->probe;
	const char *upgrade = r->entry && r->entry->cat && r->entry->cat->upgrade ? r->entry->cat->upgrade : "STARTTLS";
	char addr[INET6_ADDRSTRLEN];

	if (pr->login)
		add(r, SEV_CRITICAL, "plaintext_login", "a plaintext login is offered before the upgrade (%s)", pr->login);
	switch (pr->status) {
	case PS_OK:
		judge_handshake(r, o);
		judge_legacy(r);
		return;
	case PS_NOT_OFFERED:
		add(r, SEV_CRITICAL, "starttls_not_offered", "%s is not offered: %s", upgrade,
		    pr->detail ? pr->detail : "?");
		return;
	case PS_UPGRADE_REFUSED:
		add(r, SEV_CRITICAL, "starttls_failed", "%s is offered but refused: %s", upgrade,
		    pr->detail ? pr->detail : "?");
		return;
	case PS_FAILED:
	case PS_CLOSED:
		if (pr->upgraded) {
			add(r, SEV_CRITICAL, "starttls_failed", "%s is offered but the TLS handshake failed: %s", upgrade,
			    pr->detail ? pr->detail : "?");
			return;
		}
		add(r, SEV_WARNING, "unexpected_protocol", "does not complete the %s dialogue: %s", r->dialogue,
		    pr->detail ? pr->detail : "?");
		return;
	case PS_UNEXPECTED:
		add(r, SEV_WARNING, "unexpected_protocol", "does not speak %s as expected: %s", r->dialogue,
		    pr->detail ? pr->detail : "?");
		return;
	case PS_TIMEOUT:
		add(r, SEV_WARNING, pr->upgraded ? "no_handshake" : "no_answer", "no %s within %u ms%s%s",
		    pr->upgraded ? "TLS handshake" : "complete answer", o->timeout_ms, pr->detail ? ": " : "",
		    pr->detail ? pr->detail : "");
		return;
	case PS_REFUSED:
		target_text(r, addr, sizeof(addr));
		add(r, SEV_WARNING, "connect_failed", "cannot connect to %s: %s", addr, pr->detail ? pr->detail : "?");
		return;
	case PS_NOT_RUN:
		return;
	}
}

static void judge_quic(struct audit_row *r, const struct judge_options *o)
{
	const struct probe_result *pr = &r->probe;

	if (pr->status == PS_OK)
		return;
	if (pr->status == PS_TIMEOUT)
		add(r, SEV_WARNING, "quic_no_answer",
		    "no answer to a QUIC Initial within %u ms: what listens here does not seem to be a QUIC server",
		    o->timeout_ms);
	else
		add(r, SEV_WARNING, "quic_no_answer", "a QUIC Initial was not answered: %s", pr->detail ? pr->detail : "?");
}

/* What a published port's rule and the policy make of it, probed or not. */
static void judge_published(struct audit_row *r)
{
	char *where = published_where_text(r->published);

	if (r->verdict == AUDIT_UNJUDGED)
		add(r, SEV_WARNING, "published_unjudged",
		    "%s forwards it, and the policy leaves forwarded connections to the other tables (published_ports "
		    "= false): none of its rules applies",
		    where);
	else if (r->verdict == AUDIT_BLOCKED)
		add(r, SEV_INFO, "published_blocked", "%s forwards it; the policy drops new connections to it", where);
	else if (r->port != r->port_last || r->published->dnat.ports_unread || !r->published->dnat.nports)
		add(r, SEV_INFO, "published_range", "%s forwards these ports; the policy opens only those of its services",
		    where);
	free(where);
}

void audit_judge(struct audit *a, const struct judge_options *o)
{
	for (size_t i = 0; i < a->nrows; i++)
		if (a->rows[i].published)
			judge_published(&a->rows[i]);
	for (size_t i = 0; a->probed && i < a->nrows; i++) {
		struct audit_row *r = &a->rows[i];

		switch (r->kind) {
		case PROBE_TLS:
			judge_tls(r, o);
			break;
		case PROBE_STARTTLS:
			judge_starttls(r, o);
			break;
		case PROBE_QUIC:
			judge_quic(r, o);
			break;
		case PROBE_NONE:
			break;
		}
	}
}

int audit_worst(const struct audit *a)
{
	int worst = -1;

	for (size_t i = 0; i < a->nrows; i++)
		for (size_t j = 0; j < a->rows[i].nfindings; j++)
			if ((int)a->rows[i].findings[j].severity > worst)
				worst = (int)a->rows[i].findings[j].severity;
	return worst;
}

const char *audit_verdict_name(enum audit_verdict v)
{
	switch (v) {
	case AUDIT_TLS:
		return "tls";
	case AUDIT_STARTTLS:
		return "starttls";
	case AUDIT_EXEMPT:
		return "exempt";
	case AUDIT_BLOCKED:
		return "blocked";
	case AUDIT_LOCAL:
		return "local";
	case AUDIT_UNJUDGED:
		return "unjudged";
	}
	return "?";
}

const char *probe_status_name(enum probe_status s)
{
	static const char *const names[] = { "not_run", "ok", "timeout", "refused", "closed",
					     "failed", "not_offered", "upgrade_refused", "unexpected" };

	return (size_t)s < ARRAY_SIZE(names) ? names[s] : "?";
}

const char *severity_name(enum severity s)
{
	return s == SEV_CRITICAL ? "critical" : s == SEV_WARNING ? "warning" : "info";
}
