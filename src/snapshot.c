#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tlswall/ruleset.h"
#include "tlswall/selector.h"
#include "tlswall/shard.h"
#include "tlswall/snapshot.h"
#include "tlswall/util.h"

/* The encoder writes JSON text itself: building a jansson tree of the chains of a thousand shards and dumping it was
 * an eighth of a one-element apply at a million ranges. The decoder reads the text with jansson. */

/* A JSON string of s, which is valid UTF-8: quotes, backslashes and control characters escaped, the rest as it is. */
static void put_string(struct sbuf *sb, const char *s)
{
	const char *run = s;

	sbuf_putc(sb, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		sbuf_add(sb, run, (size_t)(s - run));
		run = s + 1;
		if (c == '"' || c == '\\')
			sbuf_addf(sb, "\\%c", c);
		else if (c == '\n')
			sbuf_puts(sb, "\\n");
		else if (c == '\t')
			sbuf_puts(sb, "\\t");
		else
			sbuf_addf(sb, "\\u%04x", c);
	}
	sbuf_add(sb, run, (size_t)(s - run));
	sbuf_putc(sb, '"');
}

static bool utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), len;
	unsigned cp;

	for (size_t i = 0; i < n; i += len)
		if (p[i] < 0x80)
			len = 1;
		else if (!(len = utf8_decode(p + i, n - i, &cp)))
			return false;
	return true;
}

/* Names and comments are whatever the kernel holds: a string that is not UTF-8, which JSON cannot carry, is saved as
 * {"hex": "..."} so that restoring gives back the same bytes, and no object is lost for it. NULL is null. */
static void put_text(struct sbuf *sb, const char *s)
{
	char *hex;

	if (!s) {
		sbuf_puts(sb, "null");
		return;
	}
	if (utf8(s)) {
		put_string(sb, s);
		return;
	}
	hex = hex_dup((const uint8_t *)s, strlen(s));
	sbuf_addf(sb, "{\"hex\":\"%s\"}", hex);
	free(hex);
}

/* ,"key": (the first key of an object goes without the comma) */
static void put_key(struct sbuf *sb, const char *key)
{
	if (sb->len && sb->buf[sb->len - 1] != '{')
		sbuf_putc(sb, ',');
	sbuf_putc(sb, '"');
	sbuf_puts(sb, key);
	sbuf_puts(sb, "\":");
}

static void put_text_field(struct sbuf *sb, const char *key, const char *s)
{
	put_key(sb, key);
	put_text(sb, s);
}

/* Fields of the ruleset are written only when they differ from what their absence means (no text, false, zero, no
 * elements): a million-network table's record holds a set per shard, and jansson takes about a microsecond per
 * value it reads (and grows an object's hash table past eight members). */
static void put_text_if(struct sbuf *sb, const char *key, const char *s)
{
	if (s)
		put_text_field(sb, key, s);
}

static void put_name_field(struct sbuf *sb, const char *key, const char *name)
{
	put_key(sb, key);
	put_string(sb, name);
}

static void put_int_field(struct sbuf *sb, const char *key, long long v)
{
	char digits[24];

	put_key(sb, key);
	snprintf(digits, sizeof(digits), "%lld", v);
	sbuf_puts(sb, digits);
}

static void put_bool_field(struct sbuf *sb, const char *key, bool v)
{
	put_key(sb, key);
	sbuf_puts(sb, v ? "true" : "false");
}

/* Enumerations are stored by name (version 2 on): an upgrade that reorders an enum must not change what a rollback
 * restores. Version 1 stored ordinals; these are the names they stood for then, frozen. */
static const char *const v1_keys[] = { "ipv4_addr", "ipv6_addr", "inet_proto . inet_service" };
static const char *const v1_selectors[] = {
	"ct state", "iif", "iifname", "meta nfproto", "meta l4proto", "ip saddr", "ip6 saddr", "icmp type",
	"icmpv6 type", "ip6 hoplimit", "th dport", "meta l4proto . th dport",
};
static const char *const v1_ops[] = { "==", "!=", "flags", "set", "vmap" };
static const char *const v1_verdicts[] = { "accept", "drop", "jump", "goto", "return", "continue" };
static const char *const v1_units[] = { "second", "minute", "hour", "day" };
static const char *const v1_rejects[] = { "tcp reset", "icmpx admin-prohibited" };

#define V1_NAMES(table) table, ARRAY_SIZE(table)

/* The name an enumeration field holds: a string from version 2 on, a version 1 ordinal looked up in its table. */
static const char *name_field(json_t *j, const char *const *v1, size_t nv1)
{
	json_int_t i;

	if (json_is_string(j))
		return json_string_value(j);
	if (!json_is_integer(j))
		return NULL;
	i = json_integer_value(j);
	return i >= 0 && (size_t)i < nv1 ? v1[i] : NULL;
}

/* Elements travel as one hex string per set: a million IPv4 ranges are 16 MB of text, not a million JSON objects. */
static void encode_set(struct sbuf *sb, const struct rs_set *s)
{
	size_t bytes = s->nelem * rs_set_stride(s);

	sbuf_putc(sb, '{');
	put_text_field(sb, "name", s->name);
	put_name_field(sb, "key", set_key_of(s->key)->name);
	if (s->interval)
		put_bool_field(sb, "interval", true);
	if (s->vmap)
		put_bool_field(sb, "vmap", true);
	put_text_if(sb, "comment", s->comment);
	if (bytes) {
		put_int_field(sb, "count", (long long)s->nelem);
		put_key(sb, "elements");
		sbuf_putc(sb, '"');
		x_grow(&sb->buf, &sb->cap, sb->len + 2 * bytes + 1, 1);
		hex_encode(s->elems, bytes, sb->buf + sb->len);
		sb->len += 2 * bytes;
		sbuf_putc(sb, '"');
	}
	if (s->vmap) {
		put_key(sb, "verdicts");
		sbuf_putc(sb, '[');
		for (size_t i = 0; i < s->nelem; i++) {
			sbuf_puts(sb, i ? ",{" : "{");
			put_name_field(sb, "code", rs_verdict_name(s->data[i].code));
			put_text_if(sb, "chain", s->data[i].chain);
			sbuf_putc(sb, '}');
		}
		sbuf_putc(sb, ']');
	}
	sbuf_putc(sb, '}');
}

static void encode_stmt(struct sbuf *sb, const struct rs_stmt *st)
{
	const struct rs_match *m = &st->u.match;

	sbuf_putc(sb, '{');
	switch (st->kind) {
	case RS_STMT_MATCH:
		put_name_field(sb, "kind", "match");
		put_name_field(sb, "sel", selector_of(m->sel)->name);
		put_name_field(sb, "op", rs_op_name(m->op));
		put_text_if(sb, "set", m->set);
		if (m->nvals) {
			put_key(sb, "vals");
			sbuf_putc(sb, '[');
			for (size_t i = 0; i < m->nvals; i++) {
				sbuf_addf(sb, "%s[%lld,", i ? "," : "", (long long)m->vals[i].num);
				put_text(sb, m->vals[i].str);
				sbuf_putc(sb, ']');
			}
			sbuf_putc(sb, ']');
		}
		if (m->mask)
			put_int_field(sb, "mask", (long long)m->mask);
		if (m->length) {
			put_int_field(sb, "offset", (long long)m->offset);
			put_int_field(sb, "length", (long long)m->length);
		}
		break;
	case RS_STMT_COUNTER:
		put_name_field(sb, "kind", "counter");
		break;
	case RS_STMT_LIMIT:
		put_name_field(sb, "kind", "limit");
		put_int_field(sb, "rate", (long long)st->u.limit.rate);
		put_name_field(sb, "unit", rs_rate_unit_name(st->u.limit.unit));
		put_int_field(sb, "burst", (long long)st->u.limit.burst);
		break;
	case RS_STMT_LOG:
		put_name_field(sb, "kind", "log");
		put_text_if(sb, "prefix", st->u.log.prefix);
		break;
	case RS_STMT_VERDICT:
		put_name_field(sb, "kind", "verdict");
		put_name_field(sb, "code", rs_verdict_name(st->u.verdict.code));
		put_text_if(sb, "chain", st->u.verdict.chain);
		break;
	case RS_STMT_REJECT:
		put_name_field(sb, "kind", "reject");
		put_name_field(sb, "type", rs_reject_name(st->u.reject));
		break;
	case RS_STMT_CT_MARK_OR:
		put_name_field(sb, "kind", "ct mark or");
		put_int_field(sb, "bits", (long long)st->u.mark_bits);
		break;
	case RS_STMT_CT_MARK_CLEAR:
		put_name_field(sb, "kind", "ct mark clear");
		put_int_field(sb, "bits", (long long)st->u.mark_bits);
		break;
	}
	sbuf_putc(sb, '}');
}

void snapshot_info_release(struct snapshot_info *info)
{
	free(info->table);
	free(info->origin);
	free(info->stamp);
	free(info->boot);
	memset(info, 0, sizeof(*info));
}

/* Whether every set rule r looks up is in the snapshot too (cursor: rs_table_find_set_from). */
static bool sets_present(const struct rs_table *t, const struct rs_rule *r, size_t *cursor)
{
	for (size_t k = 0; k < r->nstmts; k++) {
		const struct rs_stmt *st = &r->stmts[k];
		const struct rs_set *s;

		if (st->kind != RS_STMT_MATCH || !st->u.match.set)
			continue;
		s = rs_table_find_set_from(t, st->u.match.set, cursor);
		if (!s || s->foreign)
			return false;
	}
	return true;
}

/* ---- the chains of a sharded list's shards
 *
 * The layout (compile_shards.c) gives each shard of a list a chain that holds the list's rule against that shard's
 * set, and the dispatch map jumps to them in address order. A record of a million networks has hundreds of them, and
 * jansson takes about a microsecond per value it reads: so a run of such chains is written as its first one and a
 * count ("repeat"), and the reader makes the others from it and the dispatch map's elements, the way the layout did.
 * The writer leaves a chain out only when what the reader would make of it is that very chain. */

struct shard_run {
	const struct rs_table *t;
	char *list, *owner;
	const struct rs_set *map; /* the dispatch map: element k jumps to the chain of the shard cut at its start */
	size_t first;             /* the element of the first chain */
	size_t klen;
};

static void shard_run_release(struct shard_run *run)
{
	free(run->list);
	free(run->owner);
	memset(run, 0, sizeof(*run));
}

/* Whether the snapshot holds the set: else the rules that look it up are left out. */
static bool shard_set_present(const struct rs_table *t, const char *name)
{
	const struct rs_set *s = rs_table_find_set(t, name);

	return s && !s->foreign;
}

/* Whether c is a shard's chain as the layout makes it (one rule, whose first statement looks up the shard's set,
 * in a chain named for the same list and cut), and if so where its shard is in the dispatch map. */
static bool shard_run_start(const struct rs_table *t, const struct rs_chain *c, struct shard_run *run)
{
	const struct rs_rule *r = c->nrules == 1 ? c->rules[0] : NULL;
	const struct rs_match *m = r && !r->unreadable && !r->foreign && r->nstmts && r->stmts[0].kind == RS_STMT_MATCH ?
					   &r->stmts[0].u.match :
					   NULL;
	unsigned char cut[16];
	char *list = NULL, *name = NULL, *map;
	bool ok;

	memset(run, 0, sizeof(*run));
	run->t = t;
	if (!m || m->op != RS_OP_SET || !m->set || c->base || c->comment || c->policy != RS_ACCEPT ||
	    !shard_set_present(t, m->set) || !shard_parse_chain(c->name, &run->list, &run->owner))
		return false;
	ok = shard_parse_set(m->set, &list, cut, &run->klen) && strcmp(list, run->list) == 0;
	if (ok)
		name = shard_chain_name(run->list, cut, run->klen, run->owner);
	ok = ok && strcmp(name, c->name) == 0;
	map = ok ? shard_map_name(run->list, run->owner) : NULL;
	run->map = map ? rs_table_find_set(t, map) : NULL;
	ok = ok && run->map && run->map->vmap && run->map->interval && rs_keylen(run->map->key) == run->klen;
	for (run->first = 0; ok && run->first < run->map->nelem; run->first++)
		if (memcmp(run->map->elems + run->first * 2 * run->klen, cut, run->klen) == 0)
			break;
	ok = ok && run->first < run->map->nelem;
	free(list);
	free(name);
	free(map);
	if (!ok)
		shard_run_release(run);
	return ok;
}

/* The names of the chain and the set of the map's element k. */
static void shard_run_names(const struct shard_run *run, size_t k, char **chain, char **set)
{
	const uint8_t *cut = run->map->elems + k * 2 * run->klen;

	*chain = shard_chain_name(run->list, cut, run->klen, run->owner);
	*set = shard_set_name(run->list, cut, run->klen);
}

/* Whether c is what the reader makes for the map's element k from the run's first chain: the same but for its
 * name and its set's. */
static bool shard_run_makes(const struct shard_run *run, const struct rs_chain *first, size_t k,
			    const struct rs_chain *c)
{
	const struct rs_rule *r = c->nrules == 1 ? c->rules[0] : NULL;
	struct rs_verdict *jump = k < run->map->nelem ? &run->map->data[k] : NULL;
	char *chain = NULL, *set = NULL;
	bool ok = jump && r && !r->unreadable && !r->foreign && r->nstmts && r->stmts[0].kind == RS_STMT_MATCH &&
		  !c->base && !c->comment && c->policy == RS_ACCEPT;

	if (ok) {
		struct rs_rule as_first = *r;
		struct rs_stmt *stmts = x_calloc(r->nstmts, sizeof(*stmts));

		shard_run_names(run, k, &chain, &set);
		memcpy(stmts, r->stmts, r->nstmts * sizeof(*stmts));
		/* compared with the first chain's rule, its set named as the first's is */
		ok = r->stmts[0].u.match.set && strcmp(r->stmts[0].u.match.set, set) == 0 && strcmp(c->name, chain) == 0 &&
		     jump->code == RS_JUMP && jump->chain && strcmp(jump->chain, chain) == 0 && shard_set_present(run->t, set);
		stmts[0].u.match.set = first->rules[0]->stmts[0].u.match.set;
		as_first.stmts = stmts;
		ok = ok && rs_rule_equal(first->rules[0], &as_first);
		free(stmts);
	}
	free(chain);
	free(set);
	return ok;
}

/* How many chains after t->chains[i] the reader can make from it. */
static size_t shard_repeats(const struct rs_table *t, size_t i)
{
	struct shard_run run;
	size_t n = 0;

	if (!shard_run_start(t, t->chains[i], &run))
		return 0;
	while (i + n + 1 < t->nchains &&
	       shard_run_makes(&run, t->chains[i], run.first + n + 1, t->chains[i + n + 1]))
		n++;
	shard_run_release(&run);
	return n;
}

static void encode_chain(struct sbuf *sb, const struct rs_table *t, const struct rs_chain *c, size_t repeat,
			 size_t *set_at, size_t *left_out)
{
	bool first = true;

	sbuf_putc(sb, '{');
	put_text_field(sb, "name", c->name);
	put_text_if(sb, "comment", c->comment);
	if (c->base)
		put_bool_field(sb, "base", true);
	/* a base chain's hook 0 (prerouting) and priority 0 are said, as they say where it hooks */
	if (c->base || c->hook)
		put_int_field(sb, "hook", (long long)c->hook);
	put_text_if(sb, "type", c->type);
	if (c->base || c->priority)
		put_int_field(sb, "priority", (long long)c->priority);
	put_name_field(sb, "policy", rs_verdict_name(c->policy));
	put_key(sb, "rules");
	sbuf_putc(sb, '[');
	for (size_t j = 0; j < c->nrules; j++) {
		const struct rs_rule *r = c->rules[j];

		if (r->unreadable || !sets_present(t, r, set_at)) {
			(*left_out)++;
			continue;
		}
		sbuf_puts(sb, first ? "{" : ",{");
		first = false;
		put_text_if(sb, "comment", r->comment);
		put_key(sb, "stmts");
		sbuf_putc(sb, '[');
		for (size_t k = 0; k < r->nstmts; k++) {
			if (k)
				sbuf_putc(sb, ',');
			encode_stmt(sb, &r->stmts[k]);
		}
		sbuf_puts(sb, "]}");
	}
	sbuf_putc(sb, ']');
	if (repeat)
		put_int_field(sb, "repeat", (long long)repeat);
	sbuf_putc(sb, '}');
}

char *snapshot_encode(const struct rs_table *t, const struct snapshot_info *info, size_t *left_out)
{
	struct sbuf sb = { 0 };

	*left_out = 0;
	sbuf_putc(&sb, '{');
	put_int_field(&sb, "tlswall_snapshot", SNAPSHOT_VERSION);
	put_text_field(&sb, "table", info->table);
	put_text_field(&sb, "origin", info->origin ? info->origin : "");
	put_int_field(&sb, "saved", (long long)time(NULL));
	put_text_field(&sb, "stamp", info->stamp ? info->stamp : "");
	put_int_field(&sb, "netns", (long long)info->netns);
	put_text_field(&sb, "boot", info->boot ? info->boot : "");
	put_key(&sb, "ruleset");
	if (!t) {
		sbuf_puts(&sb, "null}");
		return sbuf_detach(&sb);
	}
	sbuf_putc(&sb, '{');
	put_text_field(&sb, "comment", t->comment);
	put_key(&sb, "sets");
	sbuf_putc(&sb, '[');
	for (size_t i = 0, n = 0; i < t->nsets; i++)
		if (!t->sets[i]->foreign) {
			if (n++)
				sbuf_putc(&sb, ',');
			encode_set(&sb, t->sets[i]);
		}
	sbuf_putc(&sb, ']');
	put_key(&sb, "chains");
	sbuf_putc(&sb, '[');
	{
		size_t set_at = 0; /* rules name sets in the table's order: rs_table_find_set_from */

		for (size_t i = 0; i < t->nchains; i++) {
			size_t repeat = shard_repeats(t, i);

			if (i)
				sbuf_putc(&sb, ',');
			encode_chain(&sb, t, t->chains[i], repeat, &set_at, left_out);
			i += repeat;
		}
	}
	sbuf_puts(&sb, "]}}");
	return sbuf_detach(&sb);
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
	if (!hex_decode(hex, n, (uint8_t *)s) || memchr(s, '\0', n)) {
		free(s);
		return NULL;
	}
	s[n] = '\0';
	return s;
}

static bool decode_set(struct rs_table *t, json_t *j)
{
	const char *keyname = name_field(json_object_get(j, "key"), V1_NAMES(v1_keys));
	json_int_t count = json_integer_value(json_object_get(j, "count"));
	char *name = dup_or_null(json_object_get(j, "name"));
	json_t *elements = json_object_get(j, "elements");
	/* absent: none (version 3 on writes neither count nor elements for an empty set) */
	const char *hex = elements ? json_string_value(elements) : count == 0 ? "" : NULL;
	json_t *verdicts = json_object_get(j, "verdicts");
	const struct set_key *key = NULL;
	struct rs_set *s;
	size_t bytes;

	for (int k = RS_KEY_IPV4; keyname && k <= RS_KEY_PORT; k++)
		if (strcmp(set_key_of((enum rs_keytype)k)->name, keyname) == 0)
			key = set_key_of((enum rs_keytype)k);
	if (!name || !hex || !key || count < 0 || (size_t)count > strlen(hex)) {
		free(name);
		return false;
	}
	s = rs_table_add_set(t, name, key->type, json_is_true(json_object_get(j, "interval")));
	free(name);
	s->vmap = json_is_true(json_object_get(j, "vmap"));
	/* tlswall's sets are keyed by addresses; its maps by ports, or by address ranges (a sharded list's dispatch):
	 * the kernel would refuse to restore another kind */
	if (s->vmap ? key->type != RS_KEY_PROTO_PORT && key->type != RS_KEY_PORT && !s->interval :
		      key->type == RS_KEY_PROTO_PORT || key->type == RS_KEY_PORT)
		return false;
	s->comment = dup_or_null(json_object_get(j, "comment"));
	bytes = (size_t)count * rs_set_stride(s);
	if (strlen(hex) != 2 * bytes || (s->vmap && (size_t)json_array_size(verdicts) != (size_t)count))
		return false;
	s->elems = x_malloc(bytes ? bytes : 1);
	s->capelem = (size_t)count;
	s->nelem = (size_t)count;
	if (!hex_decode(hex, bytes, s->elems))
		return false;
	if (s->vmap) {
		s->data = x_calloc((size_t)count, sizeof(*s->data));
		for (size_t i = 0; i < (size_t)count; i++) {
			json_t *v = json_array_get(verdicts, i);

			s->data[i].chain = dup_or_null(json_object_get(v, "chain"));
			if (!rs_verdict_by_name(name_field(json_object_get(v, "code"), V1_NAMES(v1_verdicts)),
						&s->data[i].code))
				return false;
			/* as in a rule: a jump names its chain (evaluate and the encoder look it up), nothing else does */
			if ((s->data[i].code == RS_JUMP || s->data[i].code == RS_GOTO) != (s->data[i].chain != NULL))
				return false;
		}
	}
	return true;
}

static bool decode_match(struct rs_rule *r, json_t *j)
{
	const char *name = name_field(json_object_get(j, "sel"), V1_NAMES(v1_selectors));
	const struct selector *sel = name ? selector_by_name(name) : NULL;
	json_t *vals = json_object_get(j, "vals");
	enum rs_op op;
	struct rs_match *m;

	if (!sel || !rs_op_by_name(name_field(json_object_get(j, "op"), V1_NAMES(v1_ops)), &op))
		return false;
	m = rs_rule_match(r, sel->id, op);
	m->set = dup_or_null(json_object_get(j, "set"));
	m->mask = (uint32_t)json_integer_value(json_object_get(j, "mask"));
	m->offset = (uint32_t)json_integer_value(json_object_get(j, "offset"));
	m->length = (uint32_t)json_integer_value(json_object_get(j, "length"));
	for (size_t i = 0; i < json_array_size(vals); i++) {
		json_t *v = json_array_get(vals, i);
		char *str = dup_or_null(json_array_get(v, 1));

		rs_match_add_str(m, str ? str : "");
		free(str);
		m->vals[m->nvals - 1].num = (uint32_t)json_integer_value(json_array_get(v, 0));
	}
	/* what the encoder relies on: values to compare, a set to look up, a raw payload that fits a register */
	if ((op == RS_OP_SET || op == RS_OP_VMAP) != (m->set != NULL))
		return false;
	if ((op == RS_OP_EQ || op == RS_OP_NEQ || op == RS_OP_FLAGS) && m->nvals == 0)
		return false;
	if (op == RS_OP_PRESENT && (m->nvals || sel->source != SEL_RAW_PAYLOAD))
		return false;
	return sel->source != SEL_RAW_PAYLOAD || (m->length && m->length <= 32 && m->length % 8 == 0 && m->offset % 8 == 0);
}

static bool decode_stmt(struct rs_rule *r, json_t *j)
{
	const char *kind = json_string_value(json_object_get(j, "kind"));
	struct rs_stmt *st;

	if (!kind)
		return false;
	if (strcmp(kind, "match") == 0)
		return decode_match(r, j);
	if (strcmp(kind, "counter") == 0) {
		rs_rule_counter(r);
		return true;
	}
	if (strcmp(kind, "limit") == 0) {
		st = rs_rule_add(r, RS_STMT_LIMIT);
		st->u.limit.rate = (uint64_t)json_integer_value(json_object_get(j, "rate"));
		st->u.limit.burst = (uint32_t)json_integer_value(json_object_get(j, "burst"));
		return rs_rate_unit_by_name(name_field(json_object_get(j, "unit"), V1_NAMES(v1_units)), &st->u.limit.unit);
	}
	if (strcmp(kind, "log") == 0) {
		rs_rule_add(r, RS_STMT_LOG)->u.log.prefix = dup_or_null(json_object_get(j, "prefix"));
		return true;
	}
	if (strcmp(kind, "verdict") == 0) {
		st = rs_rule_add(r, RS_STMT_VERDICT);
		st->u.verdict.chain = dup_or_null(json_object_get(j, "chain"));
		if (!rs_verdict_by_name(name_field(json_object_get(j, "code"), V1_NAMES(v1_verdicts)), &st->u.verdict.code))
			return false;
		return (st->u.verdict.code == RS_JUMP || st->u.verdict.code == RS_GOTO) == (st->u.verdict.chain != NULL);
	}
	if (strcmp(kind, "ct mark or") == 0 || strcmp(kind, "ct mark clear") == 0) {
		json_int_t bits = json_integer_value(json_object_get(j, "bits"));

		rs_rule_add(r, strcmp(kind, "ct mark or") == 0 ? RS_STMT_CT_MARK_OR : RS_STMT_CT_MARK_CLEAR)->u.mark_bits =
			(uint32_t)bits;
		return bits > 0 && bits <= UINT32_MAX;
	}
	if (strcmp(kind, "reject") == 0)
		return rs_reject_by_name(name_field(json_object_get(j, "type"), V1_NAMES(v1_rejects)),
					 &rs_rule_add(r, RS_STMT_REJECT)->u.reject);
	return false;
}

/* The chains a shard's chain stands for ("repeat"): made from it for the dispatch map's next elements, each what the
 * writer checked it to be. */
static bool decode_repeats(struct rs_table *t, const struct rs_chain *first, json_t *j)
{
	json_int_t repeat = json_integer_value(j);
	struct shard_run run;
	bool ok = true;

	if (!j)
		return true;
	if (!json_is_integer(j) || repeat <= 0 || !shard_run_start(t, first, &run))
		return false;
	for (json_int_t n = 1; ok && n <= repeat; n++) {
		size_t k = run.first + (size_t)n;
		char *name = NULL, *set = NULL;
		struct rs_chain *c;
		struct rs_rule *r;

		ok = k < run.map->nelem;
		if (ok)
			shard_run_names(&run, k, &name, &set);
		ok = ok && !rs_table_find_chain(t, name);
		if (ok) {
			c = rs_table_add_chain(t, name);
			c->policy = RS_ACCEPT;
			r = rs_chain_copy_rule(t, c, first->rules[0]);
			free(r->stmts[0].u.match.set);
			r->stmts[0].u.match.set = set;
			set = NULL;
			ok = shard_run_makes(&run, first, k, c);
		}
		free(name);
		free(set);
	}
	shard_run_release(&run);
	return ok;
}

/* Every set a rule looks up and every chain a rule or map jumps to is in the table: else the kernel would refuse
 * the restore. */
static bool references_resolve(const struct rs_table *t)
{
	/* a map's verdicts and the rules name chains and sets mostly in the table's order: a cursor each */
	size_t chain_at = 0, set_at = 0;

	for (size_t i = 0; i < t->nsets; i++)
		for (size_t k = 0; t->sets[i]->vmap && k < t->sets[i]->nelem; k++)
			if (t->sets[i]->data[k].chain &&
			    !rs_table_find_chain_from(t, t->sets[i]->data[k].chain, &chain_at))
				return false;
	for (size_t i = 0; i < t->nchains; i++)
		for (size_t j = 0; j < t->chains[i]->nrules; j++) {
			const struct rs_rule *r = t->chains[i]->rules[j];

			if (!sets_present(t, r, &set_at))
				return false;
			for (size_t k = 0; k < r->nstmts; k++)
				if (r->stmts[k].kind == RS_STMT_VERDICT && r->stmts[k].u.verdict.chain &&
				    !rs_table_find_chain_from(t, r->stmts[k].u.verdict.chain, &chain_at))
					return false;
		}
	return true;
}

bool snapshot_decode(const char *text, struct rs_table **out, struct snapshot_info *info, char **error)
{
	json_error_t jerr;
	json_t *root = json_loads(text, 0, &jerr), *rs, *sets, *chains;
	struct rs_table *t = NULL;
	json_int_t version;
	bool ok = false;

	*out = NULL;
	memset(info, 0, sizeof(*info));
	if (!root) {
		*error = x_asprintf("snapshot is not valid JSON (line %d: %s)", jerr.line, jerr.text);
		return false;
	}
	version = json_integer_value(json_object_get(root, "tlswall_snapshot"));
	info->table = dup_or_null(json_object_get(root, "table"));
	if (version < 1 || version > SNAPSHOT_VERSION || !info->table) {
		*error = x_strdup("not a tlswall snapshot of a version this tlswall reads");
		goto out;
	}
	info->origin = dup_or_null(json_object_get(root, "origin"));
	info->stamp = dup_or_null(json_object_get(root, "stamp"));
	info->netns = (uint64_t)json_integer_value(json_object_get(root, "netns"));
	info->boot = dup_or_null(json_object_get(root, "boot"));
	if (info->boot && !*info->boot) {
		free(info->boot);
		info->boot = NULL;
	}
	rs = json_object_get(root, "ruleset");
	if (json_is_null(rs)) {
		ok = true;
		goto out;
	}
	t = rs_table_alloc(info->table);
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
		if (!rs_verdict_by_name(name_field(json_object_get(jc, "policy"), V1_NAMES(v1_verdicts)), &c->policy) ||
		    (c->base && c->policy != RS_ACCEPT && c->policy != RS_DROP))
			goto bad;
		for (size_t j = 0; j < json_array_size(rules); j++) {
			json_t *jr = json_array_get(rules, j), *stmts = json_object_get(jr, "stmts");
			struct rs_rule *r = rs_chain_add_rule(c);

			r->comment = dup_or_null(json_object_get(jr, "comment"));
			for (size_t k = 0; k < json_array_size(stmts); k++)
				if (!decode_stmt(r, json_array_get(stmts, k)))
					goto bad;
		}
		if (!decode_repeats(t, c, json_object_get(jc, "repeat")))
			goto bad;
	}
	if (!references_resolve(t))
		goto bad;
	*out = t;
	t = NULL;
	ok = true;
	goto out;
bad:
	*error = x_strdup("snapshot is damaged: an object is missing fields or has values out of range");
out:
	rs_table_free(t);
	json_decref(root);
	if (!ok)
		snapshot_info_release(info);
	return ok;
}
