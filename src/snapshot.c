#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tlswall/ruleset.h"
#include "tlswall/snapshot.h"
#include "tlswall/util.h"

/* Elements travel as one hex string per set: a million IPv4 ranges are 16 MB of text, not a million JSON objects. */
static char *to_hex(const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s = x_malloc(2 * n + 1);

	for (size_t i = 0; i < n; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 15];
	}
	s[2 * n] = '\0';
	return s;
}

static int nibble(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool from_hex(const char *s, size_t len, uint8_t *out)
{
	for (size_t i = 0; i < len; i++) {
		int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* Names and comments are whatever the kernel holds: a string that is not UTF-8, which JSON cannot carry, is saved as
 * {"hex": "..."} so that restoring gives back the same bytes, and no object is lost for it. NULL is null. */
static json_t *saved_text(const char *s)
{
	json_t *j;
	char *hex;

	if (!s)
		return json_null();
	j = json_string(s);
	if (j)
		return j;
	hex = to_hex((const uint8_t *)s, strlen(s));
	j = x_nonnull(json_pack("{s:s}", "hex", hex));
	free(hex);
	return j;
}

static json_t *encode_set(const struct rs_set *s)
{
	json_t *j = json_pack("{s:o, s:i, s:b, s:b, s:o}", "name", saved_text(s->name), "key", (json_int_t)s->key,
			      "interval", s->interval, "vmap", s->vmap, "comment", saved_text(s->comment));
	char *hex = to_hex(s->elems, s->nelem * rs_set_stride(s));

	json_object_set_new(j, "count", json_integer((json_int_t)s->nelem));
	json_object_set_new(j, "elements", json_string(hex));
	free(hex);
	if (s->vmap) {
		json_t *v = json_array();

		for (size_t i = 0; i < s->nelem; i++)
			json_array_append_new(v, json_pack("{s:i, s:o}", "code", (json_int_t)s->data[i].code, "chain",
							   saved_text(s->data[i].chain)));
		json_object_set_new(j, "verdicts", v);
	}
	return j;
}

static json_t *encode_stmt(const struct rs_stmt *st)
{
	switch (st->kind) {
	case RS_STMT_MATCH: {
		json_t *vals = json_array();

		for (size_t i = 0; i < st->u.match.nvals; i++)
			json_array_append_new(vals, json_pack("[i, o]", (json_int_t)st->u.match.vals[i].num,
							      saved_text(st->u.match.vals[i].str)));
		return json_pack("{s:s, s:i, s:i, s:o, s:o}", "kind", "match", "sel", (json_int_t)st->u.match.sel, "op",
				 (json_int_t)st->u.match.op, "set", saved_text(st->u.match.set), "vals", vals);
	}
	case RS_STMT_COUNTER:
		return json_pack("{s:s}", "kind", "counter");
	case RS_STMT_LIMIT:
		return json_pack("{s:s, s:I, s:i, s:i}", "kind", "limit", "rate", (json_int_t)st->u.limit.rate, "unit",
				 (json_int_t)st->u.limit.unit, "burst", (json_int_t)st->u.limit.burst);
	case RS_STMT_LOG:
		return json_pack("{s:s, s:o}", "kind", "log", "prefix", saved_text(st->u.log.prefix));
	case RS_STMT_VERDICT:
		return json_pack("{s:s, s:i, s:o}", "kind", "verdict", "code", (json_int_t)st->u.verdict.code, "chain",
				 saved_text(st->u.verdict.chain));
	case RS_STMT_REJECT:
		return json_pack("{s:s, s:i}", "kind", "reject", "type", (json_int_t)st->u.reject);
	}
	return json_null();
}

char *snapshot_encode(const struct rs_table *t, const char *table_name, const char *origin, const char *stamp,
		      size_t *unreadable)
{
	json_t *root = json_pack("{s:i, s:o, s:o, s:I, s:o}", "tlswall_snapshot", SNAPSHOT_VERSION, "table",
				 saved_text(table_name), "origin", saved_text(origin ? origin : ""), "saved", (json_int_t)time(NULL),
				 "stamp", saved_text(stamp ? stamp : ""));
	char *text;

	*unreadable = 0;
	if (!t) {
		json_object_set_new(root, "ruleset", json_null());
	} else {
		json_t *sets = json_array(), *chains = json_array();

		for (size_t i = 0; i < t->nsets; i++)
			if (!t->sets[i]->foreign)
				json_array_append_new(sets, encode_set(t->sets[i]));
		for (size_t i = 0; i < t->nchains; i++) {
			const struct rs_chain *c = t->chains[i];
			json_t *rules = json_array();

			for (size_t j = 0; j < c->nrules; j++) {
				const struct rs_rule *r = c->rules[j];
				json_t *stmts = json_array();

				if (r->unreadable) {
					(*unreadable)++;
					json_decref(stmts);
					continue;
				}
				for (size_t k = 0; k < r->nstmts; k++)
					json_array_append_new(stmts, encode_stmt(&r->stmts[k]));
				json_array_append_new(rules, json_pack("{s:o, s:o}", "comment", saved_text(r->comment),
								       "stmts", stmts));
			}
			json_array_append_new(chains, json_pack("{s:o, s:o, s:b, s:i, s:o, s:i, s:i, s:o}", "name",
								saved_text(c->name), "comment", saved_text(c->comment), "base",
								c->base, "hook", (json_int_t)c->hook, "type", saved_text(c->type),
								"priority", (json_int_t)c->priority, "policy",
								(json_int_t)c->policy, "rules", rules));
		}
		json_object_set_new(root, "ruleset", json_pack("{s:o, s:o, s:o}", "comment", saved_text(t->comment),
							       "sets", sets, "chains", chains));
	}
	text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!text) {
		fputs("tlswall: out of memory\n", stderr);
		exit(1);
	}
	return text;
}

/* What saved_text() saved; NULL for null, or for anything else. */
static char *dup_or_null(json_t *j)
{
	const char *hex = json_string_value(json_object_get(j, "hex"));
	size_t n = hex ? strlen(hex) / 2 : 0;
	char *s;

	if (json_is_string(j))
		return x_strdup(json_string_value(j));
	if (!hex || strlen(hex) != 2 * n)
		return NULL;
	s = x_malloc(n + 1);
	if (!from_hex(hex, n, (uint8_t *)s) || memchr(s, '\0', n)) {
		free(s);
		return NULL;
	}
	s[n] = '\0';
	return s;
}

static bool decode_set(struct rs_table *t, json_t *j)
{
	json_int_t key = json_integer_value(json_object_get(j, "key"));
	json_int_t count = json_integer_value(json_object_get(j, "count"));
	char *name = dup_or_null(json_object_get(j, "name"));
	const char *hex = json_string_value(json_object_get(j, "elements"));
	json_t *verdicts = json_object_get(j, "verdicts");
	struct rs_set *s;
	size_t bytes;

	if (!name || !hex || key < RS_KEY_IPV4 || key > RS_KEY_PROTO_PORT || count < 0) {
		free(name);
		return false;
	}
	s = rs_table_add_set(t, name, (enum rs_keytype)key, json_is_true(json_object_get(j, "interval")));
	free(name);
	s->vmap = json_is_true(json_object_get(j, "vmap"));
	s->comment = dup_or_null(json_object_get(j, "comment"));
	bytes = (size_t)count * rs_set_stride(s);
	if (strlen(hex) != 2 * bytes || (s->vmap && (size_t)json_array_size(verdicts) != (size_t)count))
		return false;
	s->elems = x_malloc(bytes ? bytes : 1);
	s->capelem = (size_t)count;
	s->nelem = (size_t)count;
	if (!from_hex(hex, bytes, s->elems))
		return false;
	if (s->vmap) {
		s->data = x_calloc((size_t)count, sizeof(*s->data));
		for (size_t i = 0; i < (size_t)count; i++) {
			json_t *v = json_array_get(verdicts, i);

			s->data[i].code = (enum rs_verdict_code)json_integer_value(json_object_get(v, "code"));
			s->data[i].chain = dup_or_null(json_object_get(v, "chain"));
		}
	}
	return true;
}

static bool decode_stmt(struct rs_rule *r, json_t *j)
{
	const char *kind = json_string_value(json_object_get(j, "kind"));
	struct rs_stmt *st;

	if (!kind)
		return false;
	if (strcmp(kind, "match") == 0) {
		struct rs_match *m = rs_rule_match(r, (enum rs_selector)json_integer_value(json_object_get(j, "sel")),
						   (enum rs_op)json_integer_value(json_object_get(j, "op")));
		json_t *vals = json_object_get(j, "vals");

		m->set = dup_or_null(json_object_get(j, "set"));
		for (size_t i = 0; i < json_array_size(vals); i++) {
			json_t *v = json_array_get(vals, i);
			char *str = dup_or_null(json_array_get(v, 1));

			rs_match_add_str(m, str ? str : "");
			free(str);
			m->vals[m->nvals - 1].num = (uint32_t)json_integer_value(json_array_get(v, 0));
		}
		return m->sel <= RS_SEL_L4PROTO_DPORT && m->op <= RS_OP_VMAP;
	}
	if (strcmp(kind, "counter") == 0) {
		rs_rule_counter(r);
		return true;
	}
	if (strcmp(kind, "limit") == 0) {
		st = rs_rule_add(r, RS_STMT_LIMIT);
		st->u.limit.rate = (uint64_t)json_integer_value(json_object_get(j, "rate"));
		st->u.limit.unit = (enum rs_rate_unit)json_integer_value(json_object_get(j, "unit"));
		st->u.limit.burst = (uint32_t)json_integer_value(json_object_get(j, "burst"));
		return st->u.limit.unit <= RS_PER_DAY;
	}
	if (strcmp(kind, "log") == 0) {
		rs_rule_add(r, RS_STMT_LOG)->u.log.prefix = dup_or_null(json_object_get(j, "prefix"));
		return true;
	}
	if (strcmp(kind, "verdict") == 0) {
		st = rs_rule_add(r, RS_STMT_VERDICT);
		st->u.verdict.code = (enum rs_verdict_code)json_integer_value(json_object_get(j, "code"));
		st->u.verdict.chain = dup_or_null(json_object_get(j, "chain"));
		return st->u.verdict.code <= RS_CONTINUE;
	}
	if (strcmp(kind, "reject") == 0) {
		rs_rule_add(r, RS_STMT_REJECT)->u.reject = (enum rs_reject)json_integer_value(json_object_get(j, "type"));
		return true;
	}
	return false;
}

bool snapshot_decode(const char *text, struct rs_table **out, char **table_name, char **origin, char **stamp,
		     char **error)
{
	json_error_t jerr;
	json_t *root = json_loads(text, 0, &jerr), *rs, *sets, *chains;
	struct rs_table *t = NULL;
	bool ok = false;

	*out = NULL;
	*table_name = *origin = NULL;
	if (!root) {
		*error = x_asprintf("snapshot is not valid JSON (line %d: %s)", jerr.line, jerr.text);
		return false;
	}
	*table_name = dup_or_null(json_object_get(root, "table"));
	if (json_integer_value(json_object_get(root, "tlswall_snapshot")) != SNAPSHOT_VERSION || !*table_name) {
		*error = x_strdup("not a tlswall snapshot of a version this tlswall reads");
		goto out;
	}
	*origin = dup_or_null(json_object_get(root, "origin"));
	if (stamp)
		*stamp = dup_or_null(json_object_get(root, "stamp"));
	rs = json_object_get(root, "ruleset");
	if (json_is_null(rs)) {
		ok = true;
		goto out;
	}
	t = rs_table_alloc(*table_name);
	t->comment = dup_or_null(json_object_get(rs, "comment"));
	sets = json_object_get(rs, "sets");
	chains = json_object_get(rs, "chains");
	for (size_t i = 0; i < json_array_size(sets); i++)
		if (!decode_set(t, json_array_get(sets, i)))
			goto bad;
	for (size_t i = 0; i < json_array_size(chains); i++) {
		json_t *jc = json_array_get(chains, i), *rules = json_object_get(jc, "rules");
		char *name = dup_or_null(json_object_get(jc, "name"));
		struct rs_chain *c;

		if (!name)
			goto bad;
		c = rs_table_add_chain(t, name);
		free(name);
		c->comment = dup_or_null(json_object_get(jc, "comment"));
		c->base = json_is_true(json_object_get(jc, "base"));
		c->hook = (uint32_t)json_integer_value(json_object_get(jc, "hook"));
		c->type = dup_or_null(json_object_get(jc, "type"));
		c->priority = (int)json_integer_value(json_object_get(jc, "priority"));
		c->policy = (enum rs_verdict_code)json_integer_value(json_object_get(jc, "policy"));
		for (size_t j = 0; j < json_array_size(rules); j++) {
			json_t *jr = json_array_get(rules, j), *stmts = json_object_get(jr, "stmts");
			struct rs_rule *r = rs_chain_add_rule(c);

			r->comment = dup_or_null(json_object_get(jr, "comment"));
			for (size_t k = 0; k < json_array_size(stmts); k++)
				if (!decode_stmt(r, json_array_get(stmts, k)))
					goto bad;
		}
	}
	*out = t;
	t = NULL;
	ok = true;
	goto out;
bad:
	*error = x_strdup("snapshot is damaged: an object is missing fields or has values out of range");
out:
	rs_table_free(t);
	json_decref(root);
	if (!ok) {
		free(*table_name);
		free(*origin);
		*table_name = *origin = NULL;
		if (stamp) {
			free(*stamp);
			*stamp = NULL;
		}
	}
	return ok;
}
