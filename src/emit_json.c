#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tlswall/addr.h"
#include "tlswall/diag.h"
#include "tlswall/diff.h"
#include "tlswall/emit_json.h"
#include "tlswall/emit_nft.h"
#include "tlswall/pending.h"
#include "tlswall/policy.h"
#include "tlswall/ruleset.h"
#include "tlswall/selector.h"
#include "tlswall/service_counters.h"
#include "tlswall/status_report.h"
#include "tlswall/table_hash.h"
#include "tlswall/trail.h"
#include "tlswall/util.h"

/* Every string from a policy, a list file or the kernel goes through here. jansson takes only UTF-8 (json_string
 * returns NULL otherwise, and the object that would have held it vanishes with it), so each byte that is not part
 * of valid UTF-8 becomes U+FFFD: the item is always there. NULL is null. */
json_t *json_text(const char *s)
{
	struct sbuf sb = { 0 };
	json_t *j;

	if (!s)
		return json_null();
	j = json_string(s);
	if (j)
		return j;
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		unsigned cp;
		size_t len = utf8_decode(p, strnlen((const char *)p, 4), &cp);

		if (len) {
			sbuf_add(&sb, (const char *)p, len);
			p += len;
		} else {
			sbuf_puts(&sb, "\xef\xbf\xbd");
			p++;
		}
	}
	j = x_nonnull(json_string(sb.buf ? sb.buf : ""));
	sbuf_release(&sb);
	return j;
}

static void dump(json_t *root, FILE *out)
{
	json_object_set_new(root, "schema", json_integer(JSON_SCHEMA_VERSION));
	json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', out);
	json_decref(root);
}

static json_t *sources(const struct source_list *l)
{
	json_t *a = x_nonnull(json_array());
	char buf[ADDR_TEXT_MAX];

	for (size_t i = 0; i < l->nrefs; i++) {
		char *ref = x_asprintf("@%s", l->refs[i].name);

		json_array_append_new(a, json_text(ref));
		free(ref);
	}
	for (size_t i = 0; i < l->literals.n4; i++) {
		range4_format(&l->literals.v4[i], buf);
		json_array_append_new(a, json_string(buf));
	}
	for (size_t i = 0; i < l->literals.n6; i++) {
		range6_format(&l->literals.v6[i], buf);
		json_array_append_new(a, json_string(buf));
	}
	return a;
}

static json_t *port_json(const struct port_range *r)
{
	return json_pack("{s:s, s:i, s:i}", "proto", l4proto_name(r->proto), "first", (json_int_t)r->first, "last",
			 (json_int_t)r->last);
}

static json_t *diagnostics(struct diag_list *diags)
{
	json_t *ds = x_nonnull(json_array());

	for (size_t i = 0; diags && i < diag_count(diags); i++) {
		const struct diag *d = diag_at(diags, i);

		json_array_append_new(ds, json_pack("{s:o, s:o, s:s, s:o}", "file", json_text(d->file), "line",
						    d->line ? json_integer(d->line) : json_null(), "severity",
						    diag_severity_name(d->severity), "message", json_text(d->message)));
	}
	return ds;
}

void emit_json_check(const char *path, const struct policy *p, const struct rs_table *t, struct diag_list *diags,
		     bool ok, FILE *out)
{
	json_t *root = x_nonnull(json_object());

	json_object_set_new(root, "file", json_text(path));
	json_object_set_new(root, "ok", json_boolean(ok));
	json_object_set_new(root, "errors", json_integer((json_int_t)diag_errors(diags)));
	json_object_set_new(root, "warnings", json_integer((json_int_t)diag_warnings(diags)));
	json_object_set_new(root, "diagnostics", diagnostics(diags));
	if (ok && p) {
		json_t *svcs = x_nonnull(json_array()), *sets = x_nonnull(json_array());

		json_object_set_new(root, "table", json_text(p->table));
		if (t) {
			char sha[TABLE_HASH_LEN];

			table_sha256(t, sha);
			json_object_set_new(root, "sha256", json_string(sha));
		}
		json_object_set_new(root, "policy", json_string(p->verdict == VERDICT_DROP ? "drop" : "reject"));
		json_object_set_new(root, "icmp", json_string(p->icmp == ICMP_ALL ? "all" : "essential"));
		json_object_set_new(root, "require_tls", json_boolean(p->require_tls));
		json_object_set_new(root, "ct_mark_bit", json_integer(p->ct_mark_bit));
		json_object_set_new(root, "published_ports", json_boolean(p->published_ports));
		json_object_set_new(root, "published_mark_bit", json_integer(p->published_mark_bit));
		json_object_set_new(root, "log",
				    p->log.enabled ? json_pack("{s:i, s:s, s:o}", "rate", (json_int_t)p->log.rate, "per",
							       rate_unit_name(p->log.unit), "prefix", json_text(p->log.prefix)) :
						     json_null());
		for (size_t i = 0; i < p->nservices; i++) {
			const struct service *s = &p->services[i];
			json_t *ports = x_nonnull(json_array()), *ifaces = x_nonnull(json_array());
			const char *tls = s->exemption ? "none" : !s->cat ? "custom" :
					  s->cat->kind == TLS_UPGRADABLE ? "starttls" : "implicit";

			for (size_t j = 0; j < s->nports; j++)
				json_array_append_new(ports, port_json(&s->ports[j]));
			for (size_t j = 0; j < s->nifaces; j++)
				json_array_append_new(ifaces, json_text(s->ifaces[j]));
			json_array_append_new(
				svcs, json_pack("{s:o, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:i, s:b, s:b}", "name", json_text(s->name), "kind",
						s->exemption ? "exemption" : "service", "catalogue", json_text(s->cat ? s->cat->name : NULL),
						"tls", tls, "ports", ports, "from",
						s->from.present ? sources(&s->from) : json_null(), "interfaces", ifaces,
						"reason", json_text(s->reason), "line", (json_int_t)s->loc.line,
						"require_tls", service_checks(s, CHECK_NONE) && !service_checks(s, CHECK_LOGINS),
						"guard_credentials", service_checks(s, CHECK_LOGINS)));
		}
		for (size_t i = 0; i < p->nsets; i++)
			json_array_append_new(sets, json_pack("{s:o, s:o, s:i, s:i, s:i}", "name", json_text(p->sets[i].name), "file",
							      json_text(p->sets[i].file), "ipv4_ranges",
							      (json_int_t)p->sets[i].addrs.n4, "ipv6_ranges",
							      (json_int_t)p->sets[i].addrs.n6, "line",
							      (json_int_t)p->sets[i].loc.line));
		json_object_set_new(root, "services", svcs);
		json_object_set_new(root, "deny", p->deny.present ? sources(&p->deny) : x_nonnull(json_array()));
		json_object_set_new(root, "sets", sets);
	}
	dump(root, out);
}

static json_t *rule_text(const struct rs_rule *r, unsigned flags)
{
	struct sbuf sb = { 0 };
	json_t *j;

	emit_nft_rule(r, flags, &sb);
	j = json_text(sb.buf ? sb.buf : "");
	sbuf_release(&sb);
	return j;
}

static json_t *elem_list(const struct rs_set *s, const size_t *idx, size_t n, size_t max)
{
	json_t *a = x_nonnull(json_array());
	struct sbuf sb = { 0 };

	for (size_t i = 0; i < n && (max == 0 || i < max); i++) {
		sb.len = 0;
		emit_nft_elem(s, idx[i], 0, &sb);
		json_array_append_new(a, json_text(sb.buf ? sb.buf : ""));
	}
	sbuf_release(&sb);
	return a;
}

static const char *const change_names[] = {
	[CHANGE_TABLE_ADD] = "table_add",   [CHANGE_TABLE_COMMENT] = "table_comment",
	[CHANGE_TABLE_FLAGS] = "table_flags",
	[CHANGE_CHAIN_ADD] = "chain_add",   [CHANGE_CHAIN_DEL] = "chain_delete",
	[CHANGE_CHAIN_ALTER] = "chain_alter", [CHANGE_SET_ADD] = "set_add",
	[CHANGE_SET_DEL] = "set_delete",    [CHANGE_SET_ALTER] = "set_alter",
	[CHANGE_ELEMS] = "elements",        [CHANGE_RULE_ADD] = "rule_add",
	[CHANGE_RULE_DEL] = "rule_delete",
};

void emit_json_failure(const char *table, struct diag_list *diags, FILE *out)
{
	json_t *root = x_nonnull(json_object());

	json_object_set_new(root, "table", json_text(table));
	json_object_set_new(root, "ok", json_false());
	json_object_set_new(root, "diagnostics", diagnostics(diags));
	dump(root, out);
}

void emit_json_diff(const struct diff *d, const struct rs_table *planned, const struct rs_table *live, size_t max_elems,
		    struct diag_list *diags, FILE *out)
{
	json_t *root = x_nonnull(json_object()), *items = x_nonnull(json_array());

	json_object_set_new(root, "table", json_text(planned->name));
	json_object_set_new(root, "ok", json_true());
	json_object_set_new(root, "exists", json_boolean(live != NULL));
	json_object_set_new(root, "changes", json_boolean(!diff_empty(d)));
	json_object_set_new(root, "structural", json_boolean(d->structural));
	for (size_t i = 0; i < d->n; i++) {
		const struct change *c = &d->v[i];
		json_t *it = json_pack("{s:s, s:o}", "change", change_names[c->kind], "object", json_text(c->object));

		switch (c->kind) {
		case CHANGE_RULE_ADD:
		case CHANGE_RULE_DEL:
			json_object_set_new(it, "position", json_integer((json_int_t)c->position));
			json_object_set_new(it, "rule", rule_text(c->rule, 0));
			json_object_set_new(it, "foreign", json_boolean(c->rule->foreign));
			if (c->rule->handle)
				json_object_set_new(it, "handle", json_integer((json_int_t)c->rule->handle));
			break;
		case CHANGE_ELEMS:
			json_object_set_new(it, "added_count", json_integer((json_int_t)c->nadded));
			json_object_set_new(it, "removed_count", json_integer((json_int_t)c->nremoved));
			json_object_set_new(it, "added", c->planned_set ? elem_list(c->planned_set, c->added, c->nadded, max_elems) :
									  x_nonnull(json_array()));
			json_object_set_new(it, "removed", c->live_set ? elem_list(c->live_set, c->removed, c->nremoved, max_elems) :
									 x_nonnull(json_array()));
			break;
		case CHANGE_CHAIN_ALTER:
		case CHANGE_SET_ALTER:
			json_object_set_new(it, "detail", json_text(c->detail));
			break;
		default:
			break;
		}
		json_array_append_new(items, it);
	}
	json_object_set_new(root, "items", items);
	json_object_set_new(root, "diagnostics", diagnostics(diags));
	dump(root, out);
}

static const char *key_name(const struct rs_set *s)
{
	if (s->foreign)
		return "foreign";
	return set_key_of(s->key)->name;
}

void emit_json_show(const char *name, const struct rs_table *t, uint32_t genid, struct diag_list *diags, FILE *out)
{
	json_t *root = x_nonnull(json_object());
	json_t *sets, *chains, *services;
	struct table_counters tc;

	json_object_set_new(root, "table", json_text(name));
	json_object_set_new(root, "ok", json_boolean(t != NULL));
	json_object_set_new(root, "exists", json_boolean(t != NULL));
	json_object_set_new(root, "generation", json_integer(genid));
	json_object_set_new(root, "diagnostics", diagnostics(diags));
	if (!t) {
		dump(root, out);
		return;
	}
	sets = x_nonnull(json_array());
	chains = x_nonnull(json_array());
	services = x_nonnull(json_array());
	json_object_set_new(root, "comment", json_text(t->comment));
	json_object_set_new(root, "dormant", json_boolean(t->dormant));
	for (size_t i = 0; i < t->nsets; i++) {
		const struct rs_set *s = t->sets[i];

		json_array_append_new(sets, json_pack("{s:o, s:s, s:b, s:b, s:i, s:b}", "name", json_text(s->name), "type",
						      key_name(s), "interval", s->interval, "map", s->vmap, "elements",
						      (json_int_t)s->nelem, "foreign", s->foreign));
	}
	for (size_t i = 0; i < t->nchains; i++) {
		const struct rs_chain *c = t->chains[i];
		json_t *rules = x_nonnull(json_array());

		for (size_t j = 0; j < c->nrules; j++) {
			const struct rs_rule *r = c->rules[j];
			uint64_t rp = 0, rb = 0;

			rs_rule_counters(r, &rp, &rb);
			json_array_append_new(rules, json_pack("{s:I, s:o, s:b, s:I, s:I}", "handle", (json_int_t)r->handle,
							       "text", rule_text(r, 0), "foreign", r->foreign, "packets",
							       (json_int_t)rp, "bytes", (json_int_t)rb));
		}
		json_array_append_new(chains, json_pack("{s:o, s:b, s:o, s:o, s:o}", "name", json_text(c->name), "base", c->base,
							"policy", c->base ? json_string(rs_verdict_name(c->policy)) : json_null(),
							"comment", json_text(c->comment), "rules", rules));
	}
	table_counters(t, &tc);
	for (size_t i = 0; i < tc.nservices; i++) {
		const struct service_counters *s = &tc.services[i];

		json_array_append_new(services,
				      json_pack("{s:o, s:I, s:I, s:o}", "chain", json_text(s->chain), "packets", (json_int_t)s->packets,
						"bytes", (json_int_t)s->bytes, "plaintext_dropped",
						s->checked ? json_pack("{s:I, s:I}", "packets", (json_int_t)s->plaintext_packets,
								       "bytes", (json_int_t)s->plaintext_bytes) :
							     json_null()));
	}
	json_object_set_new(root, "sets", sets);
	json_object_set_new(root, "chains", chains);
	json_object_set_new(root, "services", services);
	json_object_set_new(root, "dropped", json_pack("{s:I, s:I}", "packets", (json_int_t)tc.dropped_packets, "bytes",
						       (json_int_t)tc.dropped_bytes));
	json_object_set_new(root, "dropped_forwarded",
			    tc.forwarding ? json_pack("{s:I, s:I}", "packets", (json_int_t)tc.forwarded_dropped_packets,
						      "bytes", (json_int_t)tc.forwarded_dropped_bytes) :
					    json_null());
	table_counters_release(&tc);
	dump(root, out);
}

static json_t *saved_json(const struct status_saved *s)
{
	if (!s->exists)
		return json_null();
	if (s->error)
		return json_pack("{s:n, s:n, s:b, s:n, s:o}", "origin", "table", "absent", 0, "sha256", "error",
				 json_text(s->error));
	return json_pack("{s:o, s:o, s:b, s:o, s:n}", "origin", json_text(s->origin), "table", json_text(s->table), "absent",
			 s->absent, "sha256", s->absent ? json_null() : json_string(s->sha256), "error");
}

static json_t *pending_json(const struct status_report *r)
{
	const struct pending *p = r->pending;

	if (!p)
		return json_null();
	return json_pack("{s:o, s:o, s:o, s:I, s:I, s:I, s:{s:I, s:b}, s:b, s:I, s:o}", "policy", json_text(p->policy),
			 "table", json_text(p->table), "sha256", p->sha256[0] ? json_string(p->sha256) : json_null(),
			 "applied_at", (json_int_t)p->applied_at, "deadline", (json_int_t)p->deadline, "seconds_left",
			 (json_int_t)(p->deadline - r->now), "timer", "pid", (json_int_t)p->timer_pid, "alive",
			 r->timer_alive, "here", r->pending_here, "restore_failures", (json_int_t)p->restore_failures,
			 "restore_error", p->restore_failures ? json_text(p->restore_error) : json_null());
}

void emit_json_status(const struct status_report *r, struct diag_list *diags, FILE *out)
{
	static const char *const live[] = { "unknown", "present", "dormant", "missing" };
	json_t *root = x_nonnull(json_object()), *events = x_nonnull(json_array());

	for (size_t i = 0; i < r->nevents; i++)
		json_array_append_new(events, json_pack("{s:o, s:o, s:o}", "time",
							r->events[i].time ? json_integer(r->events[i].time) : json_null(),
							"event", json_text(r->events[i].event), "text", json_text(r->events[i].text)));
	json_object_set_new(root, "table", json_text(r->table));
	json_object_set_new(root, "ok", json_true());
	json_object_set_new(root, "now", json_integer(r->now));
	json_object_set_new(root, "live", json_string(live[r->live]));
	json_object_set_new(root, "live_error", json_text(r->live_error));
	json_object_set_new(root, "pending", pending_json(r));
	json_object_set_new(root, "pending_damaged", json_text(r->pending_damaged));
	json_object_set_new(root, "last_known_good", saved_json(&r->lkg));
	json_object_set_new(root, "previous", saved_json(&r->previous));
	json_object_set_new(root, "events", events);
	json_object_set_new(root, "diagnostics", diagnostics(diags));
	dump(root, out);
}
