#include <arpa/inet.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tlswall/audit.h"
#include "tlswall/audit_report.h"
#include "tlswall/emit_json.h"
#include "tlswall/listeners.h"
#include "tlswall/policy.h"
#include "tlswall/util.h"

static char *port_text(const struct audit_row *r)
{
	if (r->port_last != r->port)
		return x_asprintf("%u-%u/%s", r->port, r->port_last, l4proto_name(r->proto));
	return x_asprintf("%u/%s", r->port, l4proto_name(r->proto));
}

static char *addr_text(const struct audit_row *r)
{
	char buf[INET6_ADDRSTRLEN];

	if (r->published && r->published->dnat.have_addr) {
		inet_ntop(r->target_family == 4 ? AF_INET : AF_INET6, r->target, buf, sizeof(buf));
		return x_asprintf(r->target_family == 4 ? "-> %s:%u" : "-> [%s]:%u", buf, r->target_port);
	}
	if (!r->listener)
		return x_strdup("-");
	inet_ntop(r->listener->family == 4 ? AF_INET : AF_INET6, r->listener->addr, buf, sizeof(buf));
	return x_strdup(buf);
}

static const char *family_word(uint8_t nfproto)
{
	return nfproto == 2 ? "ip" : nfproto == 10 ? "ip6" : "inet";
}

static char *process_text(const struct audit_row *r)
{
	const struct listener *l = r->listener;

	if (r->published) {
		char *table = printable_dup(r->published->table), *chain = printable_dup(r->published->chain);
		char *text = x_asprintf("DNAT %s %s/%s", family_word(r->published->table_family), table, chain);

		free(table);
		free(chain);
		return text;
	}
	if (!l || !l->nowners)
		return x_strdup("-");
	if (l->nowners == 1)
		return x_asprintf("%s[%d]", l->owners[0].name, l->owners[0].pid);
	return x_asprintf("%s[%d]+%zu", l->owners[0].name, l->owners[0].pid, l->nowners - 1);
}

static char *policy_text(const struct audit_row *r)
{
	switch (r->verdict) {
	case AUDIT_TLS:
		return x_asprintf("TLS %s", r->entry->name);
	case AUDIT_STARTTLS:
		return x_asprintf("STARTTLS %s", r->entry->name);
	case AUDIT_EXEMPT:
		return x_asprintf("exempt %s", r->entry->name);
	case AUDIT_BLOCKED:
		return x_strdup("blocked");
	case AUDIT_LOCAL:
		return x_strdup("local only");
	case AUDIT_UNJUDGED:
		return x_strdup("not judged");
	}
	return x_strdup("?");
}

static const char *upgrade_word(const struct audit_row *r)
{
	static const struct {
		const char *protocol, *word;
	} words[] = {
		{ "pop3", "STLS" }, { "ftp", "AUTH TLS" }, { "ldap", "StartTLS" }, { "postgresql", "SSLRequest" },
	};

	for (size_t i = 0; r->dialogue && i < ARRAY_SIZE(words); i++)
		if (strcmp(r->dialogue, words[i].protocol) == 0)
			return words[i].word;
	return "STARTTLS";
}

static char *versions_text(const struct probe_result *pr)
{
	struct sbuf sb = { 0 };

	for (size_t i = 0; i < pr->nquic_versions; i++) {
		uint32_t v = pr->quic_versions[i];

		if ((v & 0x0f0f0f0fu) == 0x0a0a0a0au)
			continue; /* greasing: reserved versions a server lists to keep clients honest */
		if (v == 1)
			sbuf_addf(&sb, "%s1", sb.len ? ", " : "");
		else if (v == 0x6b3343cfu)
			sbuf_addf(&sb, "%s2", sb.len ? ", " : "");
		else if ((v & 0xffffff00u) == 0xff000000u)
			sbuf_addf(&sb, "%sdraft-%u", sb.len ? ", " : "", v & 0xffu);
		else
			sbuf_addf(&sb, "%s0x%08x", sb.len ? ", " : "", v);
	}
	return sbuf_detach(&sb);
}

/* The probe column: what the probe saw, in a few words. */
static char *probe_text(const struct audit *a, const struct audit_row *r)
{
	const struct probe_result *pr = &r->probe;

	if (!r->listener && !r->published)
		return x_strdup("no listener");
	if (r->kind == PROBE_NONE)
		return x_strdup(r->verdict == AUDIT_EXEMPT || r->verdict == AUDIT_TLS || r->verdict == AUDIT_STARTTLS ?
					"not probed" :
					"-");
	if (!a->probed)
		return x_strdup("not probed (--no-probe)");
	if (r->kind == PROBE_QUIC) {
		char *v, *text;

		if (pr->status != PS_OK)
			return x_strdup(pr->status == PS_TIMEOUT ? "no QUIC answer" : "QUIC refused");
		if (pr->quic_initial)
			return x_strdup("QUIC server (answered with an Initial)");
		v = versions_text(pr);
		text = x_asprintf("QUIC server (versions %s)", *v ? v : "none");
		free(v);
		return text;
	}
	if (pr->status == PS_OK && pr->have_tls)
		return x_asprintf("%s%s%s %s", r->kind == PROBE_STARTTLS ? upgrade_word(r) : "",
				  r->kind == PROBE_STARTTLS ? ", " : "", pr->tls.version, pr->tls.cipher);
	for (size_t i = 0; i < r->nfindings; i++)
		if (strcmp(r->findings[i].code, "plaintext") == 0)
			return x_strdup("plaintext");
	switch (pr->status) {
	case PS_TIMEOUT:
		return x_strdup(pr->upgraded || r->kind == PROBE_TLS ? "no handshake" : "no answer");
	case PS_REFUSED:
		return x_strdup("connection failed");
	case PS_NOT_OFFERED:
		return x_asprintf("%s not offered", upgrade_word(r));
	case PS_UPGRADE_REFUSED:
		return x_asprintf("%s refused", upgrade_word(r));
	case PS_UNEXPECTED:
		return x_strdup("unexpected protocol");
	default:
		return x_strdup(r->kind == PROBE_STARTTLS && !pr->upgraded ? "dialogue failed" : "handshake failed");
	}
}

static size_t width(size_t w, const char *s)
{
	size_t n = strlen(s);

	return n > w ? n : w;
}

static void names_text(const struct tls_info *t, struct sbuf *sb)
{
	if (!t->nnames) {
		sbuf_puts(sb, "none");
		return;
	}
	for (size_t i = 0; i < t->nnames; i++)
		sbuf_addf(sb, "%s%s", i ? ", " : "", t->names[i]);
}

static long long days_of(int64_t seconds)
{
	return seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
}

static void details(const struct audit_row *r, FILE *out)
{
	const struct tls_info *t = &r->probe.tls;

	if (r->verdict == AUDIT_EXEMPT && r->entry && r->entry->reason)
		fprintf(out, "    reason: %s (%s:%u)\n", r->entry->reason, r->entry->loc.file, r->entry->loc.line);
	if (r->probe.have_tls && t->subject) {
		struct sbuf names = { 0 };

		names_text(t, &names);
		fprintf(out, "    certificate: %s; issuer %s\n", t->subject, t->issuer);
		if (t->seconds_left >= 0)
			fprintf(out, "    names: %s; not after %s (%lld days left)\n", names.buf,
				t->not_after ? t->not_after : "?", days_of(t->seconds_left));
		else
			fprintf(out, "    names: %s; not after %s (expired)\n", names.buf, t->not_after ? t->not_after : "?");
		sbuf_release(&names);
	}
	for (size_t i = 0; i < r->nfindings; i++)
		fprintf(out, "    %s: %s\n", severity_name(r->findings[i].severity), r->findings[i].message);
}

void audit_report_text(const struct audit *a, const struct report_options *o, FILE *out)
{
	size_t w[4] = { 4, 7, 7, 6 };
	char **cells = x_calloc(a->nrows * 5 + 1, sizeof(*cells));
	size_t counts[6] = { 0 }, published[6] = { 0 }, npublished = 0, idle = 0, probed = 0, sev[3] = { 0 };

	for (size_t i = 0; i < a->nrows; i++) {
		const struct audit_row *r = &a->rows[i];
		char **c = &cells[i * 5];

		c[0] = port_text(r);
		c[1] = addr_text(r);
		c[2] = process_text(r);
		c[3] = policy_text(r);
		c[4] = probe_text(a, r);
		for (int k = 0; k < 4; k++)
			w[k] = width(w[k], c[k]);
		if (r->listener)
			counts[r->verdict]++;
		else if (r->published)
			published[r->verdict]++, npublished++;
		else
			idle++;
		probed += (r->listener || r->published) && r->kind != PROBE_NONE && a->probed;
		for (size_t j = 0; j < r->nfindings; j++)
			sev[r->findings[j].severity]++;
	}
	fprintf(out, "%-*s  %-*s  %-*s  %-*s  %s\n", (int)w[0], "PORT", (int)w[1], "ADDRESS", (int)w[2], "PROCESS",
		(int)w[3], "POLICY", "PROBE");
	for (size_t i = 0; i < a->nrows; i++) {
		char **c = &cells[i * 5];

		fprintf(out, "%-*s  %-*s  %-*s  %-*s  %s\n", (int)w[0], c[0], (int)w[1], c[1], (int)w[2], c[2], (int)w[3],
			c[3], c[4]);
		details(&a->rows[i], out);
	}
	fprintf(out, "\n%zu listener%s: %zu allowed (%zu TLS, %zu STARTTLS, %zu exempt), %zu blocked by the policy, %zu local "
		     "only; %zu service port%s without a listener\n",
		a->nlisteners, a->nlisteners == 1 ? "" : "s", counts[AUDIT_TLS] + counts[AUDIT_STARTTLS] + counts[AUDIT_EXEMPT],
		counts[AUDIT_TLS], counts[AUDIT_STARTTLS], counts[AUDIT_EXEMPT], counts[AUDIT_BLOCKED], counts[AUDIT_LOCAL],
		idle, idle == 1 ? "" : "s");
	if (npublished)
		fprintf(out, "%zu published port%s (destination NAT to containers or VMs): %zu allowed, %zu blocked by the "
			     "policy, %zu not judged\n",
			npublished, npublished == 1 ? "" : "s",
			published[AUDIT_TLS] + published[AUDIT_STARTTLS] + published[AUDIT_EXEMPT], published[AUDIT_BLOCKED],
			published[AUDIT_UNJUDGED]);
	if (a->probed)
		fprintf(out, "%zu probed (timeout %u ms): %zu critical, %zu warning, %zu info\n", probed, o->timeout_ms,
			sev[SEV_CRITICAL], sev[SEV_WARNING], sev[SEV_INFO]);
	else
		fprintf(out, "not probed (--no-probe)\n");
	for (size_t i = 0; i < a->nrows * 5; i++)
		free(cells[i]);
	free(cells);
}

static json_t *str_or_null(const char *s)
{
	return s ? x_nonnull(json_string(s)) : json_null();
}

static json_t *tls_json(const struct tls_info *t)
{
	json_t *names = x_nonnull(json_array());

	for (size_t i = 0; i < t->nnames; i++)
		json_array_append_new(names, json_string(t->names[i]));
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "version", str_or_null(t->version), "cipher",
			 str_or_null(t->cipher), "subject", str_or_null(t->subject), "issuer", str_or_null(t->issuer),
			 "names", names, "not_after", str_or_null(t->not_after), "days_left",
			 t->not_after ? json_integer(days_of(t->seconds_left)) : json_null(), "name_matches",
			 t->name_checked && t->subject ? json_boolean(t->name_ok) : json_null());
}

static json_t *probe_json(const struct audit *a, const struct audit_row *r)
{
	const struct probe_result *pr = &r->probe;
	json_t *p, *versions, *legacy;
	char addr[INET6_ADDRSTRLEN];
	static const char *const kinds[] = { "none", "tls", "starttls", "quic" };

	if (r->kind == PROBE_NONE || !a->probed || (!r->listener && !r->published))
		return json_null();
	inet_ntop(r->target_family == 4 ? AF_INET : AF_INET6, r->target, addr, sizeof(addr));
	p = json_pack("{s:s, s:s, s:s, s:o, s:i}", "kind", kinds[r->kind], "address", addr, "status",
		      probe_status_name(pr->status), "detail", str_or_null(pr->detail), "elapsed_ms",
		      (json_int_t)pr->elapsed_ms);
	if (r->kind == PROBE_QUIC) {
		json_t *quic = json_null();

		if (pr->status == PS_OK) {
			versions = x_nonnull(json_array());
			for (size_t i = 0; i < pr->nquic_versions; i++)
				json_array_append_new(versions, json_integer(pr->quic_versions[i]));
			quic = json_pack("{s:s, s:o}", "reply", pr->quic_initial ? "initial" : "version_negotiation",
					 "versions", versions);
		}
		json_object_set_new(p, "quic", quic);
		return p;
	}
	if (r->kind == PROBE_STARTTLS)
		json_object_set_new(p, "starttls",
				    json_pack("{s:s, s:s, s:b, s:b, s:o}", "protocol", r->dialogue, "command",
					      upgrade_word(r), "offered", pr->offered, "upgraded", pr->upgraded,
					      "plaintext_login", str_or_null(pr->login)));
	json_object_set_new(p, "tls", pr->have_tls ? tls_json(&pr->tls) : json_null());
	json_object_set_new(p, "answer", str_or_null(pr->answer_text ? pr->answer :
						      pr->plain_text && pr->plain_status == PS_OK ? pr->plain_answer : NULL));
	legacy = x_nonnull(json_array());
	if (pr->legacy_1_0)
		json_array_append_new(legacy, json_string("TLSv1"));
	if (pr->legacy_1_1)
		json_array_append_new(legacy, json_string("TLSv1.1"));
	json_object_set_new(p, "legacy", legacy);
	return p;
}

static json_t *row_json(const struct audit *a, const struct audit_row *r)
{
	const struct listener *l = r->listener;
	json_t *procs = x_nonnull(json_array()), *findings = x_nonnull(json_array()), *o;
	char addr[INET6_ADDRSTRLEN] = "";

	if (l)
		inet_ntop(l->family == 4 ? AF_INET : AF_INET6, l->addr, addr, sizeof(addr));
	for (size_t i = 0; l && i < l->nowners; i++)
		json_array_append_new(procs, json_pack("{s:i, s:s}", "pid", (json_int_t)l->owners[i].pid, "name",
						       l->owners[i].name));
	for (size_t i = 0; i < r->nfindings; i++)
		json_array_append_new(findings, json_pack("{s:s, s:s, s:s}", "severity",
							  severity_name(r->findings[i].severity), "code",
							  r->findings[i].code, "message", r->findings[i].message));
	o = json_pack("{s:s, s:i, s:o, s:o, s:s, s:o, s:o, s:o}", "proto", l4proto_name(r->proto), "port",
		      (json_int_t)r->port, "address", l ? json_string(addr) : json_null(), "processes", procs, "verdict",
		      audit_verdict_name(r->verdict), "entry", str_or_null(r->entry ? r->entry->name : NULL), "reason",
		      str_or_null(r->verdict == AUDIT_EXEMPT && r->entry ? r->entry->reason : NULL), "line",
		      r->entry ? json_integer(r->entry->loc.line) : json_null());
	if (!l)
		json_object_set_new(o, "port_last", json_integer(r->port_last));
	if (r->published) {
		const struct rs_dnat *d = &r->published->dnat;
		char to[INET6_ADDRSTRLEN] = "";

		if (d->have_addr)
			inet_ntop(d->family == 4 ? AF_INET : AF_INET6, d->addr, to, sizeof(to));
		json_object_set_new(o, "published",
				    json_pack("{s:s, s:o, s:o, s:o, s:o}", "family", family_word(r->published->table_family),
					      "table", json_text(r->published->table), "chain", json_text(r->published->chain),
					      "to_address", d->have_addr ? json_string(to) : json_null(), "to_port",
					      d->to_port ? json_integer(d->to_port) : json_null()));
	} else {
		json_object_set_new(o, "published", json_null());
	}
	json_object_set_new(o, "probe", probe_json(a, r));
	json_object_set_new(o, "findings", findings);
	return o;
}

void audit_report_json(const struct audit *a, const struct report_options *o, FILE *out)
{
	json_t *root = x_nonnull(json_object()), *ls = x_nonnull(json_array()), *idle = x_nonnull(json_array()),
	       *published = x_nonnull(json_array());
	size_t sev[3] = { 0 };
	int worst = audit_worst(a);

	for (size_t i = 0; i < a->nrows; i++) {
		json_array_append_new(a->rows[i].listener ? ls : a->rows[i].published ? published : idle,
				      row_json(a, &a->rows[i]));
		for (size_t j = 0; j < a->rows[i].nfindings; j++)
			sev[a->rows[i].findings[j].severity]++;
	}
	json_object_set_new(root, "file", json_string(o->policy_path));
	json_object_set_new(root, "probed", json_boolean(a->probed));
	json_object_set_new(root, "timeout_ms", json_integer(o->timeout_ms));
	json_object_set_new(root, "expiry_days", json_integer(o->expiry_days));
	json_object_set_new(root, "expected_name", str_or_null(o->expected_name));
	json_object_set_new(root, "elapsed_ms", json_integer((json_int_t)o->elapsed_ms));
	json_object_set_new(root, "listeners", ls);
	json_object_set_new(root, "published", published);
	json_object_set_new(root, "no_listener", idle);
	json_object_set_new(root, "findings",
			    json_pack("{s:i, s:i, s:i, s:o}", "critical", (json_int_t)sev[SEV_CRITICAL], "warning",
				      (json_int_t)sev[SEV_WARNING], "info", (json_int_t)sev[SEV_INFO], "worst",
				      worst < 0 ? json_null() : json_string(severity_name((enum severity)worst))));
	json_object_set_new(root, "schema", json_integer(JSON_SCHEMA_VERSION));
	json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', out);
	json_decref(root);
}
