#include <string.h>

#include "tlswall/addr.h"
#include "tlswall/emit_nft.h"
#include "tlswall/ruleset.h"
#include "tlswall/selector.h"
#include "tlswall/util.h"

static void put_match(struct sbuf *sb, const struct rs_match *m)
{
	selector_put_name(m, sb);
	switch (m->op) {
	case RS_OP_SET:
		sbuf_addf(sb, " @%s", m->set);
		return;
	case RS_OP_VMAP:
		sbuf_addf(sb, " vmap @%s", m->set);
		return;
	case RS_OP_PRESENT:
		sbuf_puts(sb, " >= 0x0");
		return;
	case RS_OP_NEQ:
		if (m->mask)
			sbuf_addf(sb, " & 0x%x", m->mask);
		sbuf_puts(sb, " !=");
		break;
	case RS_OP_EQ:
		if (m->mask)
			sbuf_addf(sb, " & 0x%x ==", m->mask);
		break;
	case RS_OP_FLAGS:
		if (selector_of(m->sel)->format != FMT_CT_STATE) {
			sbuf_addf(sb, " & 0x%x != 0", m->vals[0].num);
			return;
		}
		break;
	}
	sbuf_putc(sb, ' ');
	if (m->nvals == 1) {
		selector_put_value(m, &m->vals[0], sb);
		return;
	}
	sbuf_puts(sb, "{ ");
	for (size_t i = 0; i < m->nvals; i++) {
		if (i)
			sbuf_puts(sb, ", ");
		selector_put_value(m, &m->vals[i], sb);
	}
	sbuf_puts(sb, " }");
}

static void put_verdict(struct sbuf *sb, const struct rs_verdict *v)
{
	sbuf_puts(sb, rs_verdict_name(v->code));
	if (v->code == RS_JUMP || v->code == RS_GOTO)
		sbuf_addf(sb, " %s", v->chain);
}

/* A name or string of the model, for nft (as it is) or for a terminal (EMIT_PRINTABLE). */
static void put_text(struct sbuf *sb, const char *s, unsigned flags)
{
	if (flags & EMIT_PRINTABLE)
		sbuf_put_printable(sb, s, strlen(s));
	else
		sbuf_puts(sb, s);
}

/* Rules and elements are one line each: made printable as a whole, which covers every name and string in them. */
static void printable_line(struct sbuf *sb, struct sbuf *line)
{
	sbuf_put_printable(sb, line->buf ? line->buf : "", line->len);
	sbuf_release(line);
}

static void put_rule(const struct rs_rule *r, unsigned flags, struct sbuf *sb)
{
	if (r->unreadable) {
		sbuf_puts(sb, r->raw_text ? r->raw_text : "# a rule tlswall cannot read");
		return;
	}
	for (size_t i = 0; i < r->nstmts; i++) {
		const struct rs_stmt *st = &r->stmts[i];

		if (i)
			sbuf_putc(sb, ' ');
		switch (st->kind) {
		case RS_STMT_MATCH:
			put_match(sb, &st->u.match);
			break;
		case RS_STMT_COUNTER:
			if (flags & EMIT_COUNTERS)
				sbuf_addf(sb, "counter packets %llu bytes %llu",
					    (unsigned long long)st->u.counter.packets,
					    (unsigned long long)st->u.counter.bytes);
			else
				sbuf_puts(sb, "counter");
			break;
		case RS_STMT_LIMIT:
			sbuf_addf(sb, "limit rate %llu/%s", (unsigned long long)st->u.limit.rate,
				    rs_rate_unit_name(st->u.limit.unit));
			if (st->u.limit.burst != 5)
				sbuf_addf(sb, " burst %u packets", st->u.limit.burst);
			break;
		case RS_STMT_LOG:
			sbuf_puts(sb, "log");
			if (st->u.log.prefix)
				sbuf_addf(sb, " prefix \"%s\"", st->u.log.prefix);
			break;
		case RS_STMT_VERDICT:
			put_verdict(sb, &st->u.verdict);
			break;
		case RS_STMT_REJECT:
			sbuf_addf(sb, "reject with %s", rs_reject_name(st->u.reject));
			break;
		case RS_STMT_CT_MARK_OR:
			sbuf_addf(sb, "ct mark set ct mark | 0x%x", st->u.mark_bits);
			break;
		case RS_STMT_CT_MARK_CLEAR:
			sbuf_addf(sb, "ct mark set ct mark & 0x%x", ~st->u.mark_bits);
			break;
		}
	}
	if (r->comment)
		sbuf_addf(sb, " comment \"%s\"", r->comment);
	if ((flags & EMIT_HANDLES) && r->handle)
		sbuf_addf(sb, " # handle %llu", (unsigned long long)r->handle);
	if ((flags & EMIT_FOREIGN) && r->foreign && !r->unreadable)
		sbuf_puts(sb, (flags & EMIT_HANDLES) && r->handle ? ", not made by tlswall" : " # not made by tlswall");
}

void emit_nft_rule(const struct rs_rule *r, unsigned flags, struct sbuf *sb)
{
	struct sbuf line = { 0 };

	if (!(flags & EMIT_PRINTABLE)) {
		put_rule(r, flags, sb);
		return;
	}
	put_rule(r, flags, &line);
	printable_line(sb, &line);
}

static void put_key(struct sbuf *sb, enum rs_keytype type, const uint8_t *first, const uint8_t *last)
{
	char buf[ADDR_TEXT_MAX];

	switch (type) {
	case RS_KEY_IPV4: {
		struct range4 r = {
			(uint32_t)first[0] << 24 | (uint32_t)first[1] << 16 | (uint32_t)first[2] << 8 | first[3],
			(uint32_t)last[0] << 24 | (uint32_t)last[1] << 16 | (uint32_t)last[2] << 8 | last[3],
		};

		range4_format(&r, buf);
		sbuf_puts(sb, buf);
		break;
	}
	case RS_KEY_IPV6: {
		struct range6 r;

		ip6_from_bytes(&r.first, first);
		ip6_from_bytes(&r.last, last);
		range6_format(&r, buf);
		sbuf_puts(sb, buf);
		break;
	}
	case RS_KEY_PORT: {
		unsigned lo = (unsigned)first[0] << 8 | first[1], hi = (unsigned)last[0] << 8 | last[1];

		if (lo == hi)
			sbuf_addf(sb, "%u", lo);
		else
			sbuf_addf(sb, "%u-%u", lo, hi);
		break;
	}
	case RS_KEY_PROTO_PORT: {
		unsigned lo = (unsigned)first[1] << 8 | first[2], hi = (unsigned)last[1] << 8 | last[2];

		selector_put_l4proto(first[0], sb);
		if (lo == hi)
			sbuf_addf(sb, " . %u", lo);
		else
			sbuf_addf(sb, " . %u-%u", lo, hi);
		break;
	}
	}
}

void emit_nft_elem(const struct rs_set *s, size_t i, unsigned flags, struct sbuf *sb)
{
	const uint8_t *e = rs_set_elem(s, i);
	struct sbuf line = { 0 };
	struct sbuf *to = flags & EMIT_PRINTABLE ? &line : sb;

	put_key(to, s->key, e, s->interval ? e + rs_keylen(s->key) : e);
	if (s->vmap) {
		sbuf_puts(to, " : ");
		put_verdict(to, &s->data[i]);
	}
	if (flags & EMIT_PRINTABLE)
		printable_line(sb, &line);
}

void emit_nft_set_header(const struct rs_set *s, const char *indent, unsigned flags, struct sbuf *sb)
{
	sbuf_addf(sb, "%stype %s%s\n", indent, set_key_of(s->key)->name, s->vmap ? " : verdict" : "");
	if (s->interval)
		sbuf_addf(sb, "%sflags interval\n", indent);
	if (s->comment) {
		sbuf_addf(sb, "%scomment \"", indent);
		put_text(sb, s->comment, flags);
		sbuf_puts(sb, "\"\n");
	}
}

/* Short sets on one line as nft prints them; long ones one element per line so a diff of two scripts reads well. */
#define INLINE_ELEMENTS 4

/* Writes out what sb holds once it is large, so a million-element set is never held as text all at once. */
static void spill(struct sbuf *sb, FILE *out)
{
	if (sb->len < 65536)
		return;
	fwrite(sb->buf, 1, sb->len, out);
	sb->len = 0;
}

static void put_set(struct sbuf *sb, const struct rs_set *s, unsigned flags, FILE *out)
{
	sbuf_addf(sb, "\t%s ", s->vmap ? "map" : "set");
	put_text(sb, s->name, flags);
	sbuf_puts(sb, " {\n");
	emit_nft_set_header(s, "\t\t", flags, sb);
	if (s->nelem == 0) {
		sbuf_puts(sb, "\t}\n");
		return;
	}
	sbuf_puts(sb, "\t\telements = {");
	for (size_t i = 0; i < s->nelem; i++) {
		if (s->nelem <= INLINE_ELEMENTS) {
			sbuf_puts(sb, i ? ", " : " ");
		} else {
			sbuf_puts(sb, i ? ",\n\t\t\t" : "\n\t\t\t");
		}
		emit_nft_elem(s, i, flags, sb);
		spill(sb, out);
	}
	sbuf_puts(sb, s->nelem <= INLINE_ELEMENTS ? " }\n" : "\n\t\t}\n");
	sbuf_puts(sb, "\t}\n");
}

static void put_chain(struct sbuf *sb, const struct rs_chain *c, unsigned flags)
{
	sbuf_puts(sb, "\tchain ");
	put_text(sb, c->name, flags);
	sbuf_puts(sb, " {\n");
	if (c->comment) {
		sbuf_puts(sb, "\t\tcomment \"");
		put_text(sb, c->comment, flags);
		sbuf_puts(sb, "\"\n");
	}
	if (c->base) {
		static const char *const hooks[] = { "prerouting", "input", "forward", "output", "postrouting", "ingress" };

		sbuf_puts(sb, "\t\ttype ");
		put_text(sb, c->type ? c->type : "filter", flags);
		sbuf_addf(sb, " hook %s priority ", c->hook < ARRAY_SIZE(hooks) ? hooks[c->hook] : "?");
		if (c->priority == 0)
			sbuf_puts(sb, "filter");
		else
			sbuf_addf(sb, "filter %c %d", c->priority < 0 ? '-' : '+', c->priority < 0 ? -c->priority : c->priority);
		sbuf_addf(sb, "; policy %s;\n", c->policy == RS_DROP ? "drop" : "accept");
	}
	for (size_t i = 0; i < c->nrules; i++) {
		sbuf_puts(sb, "\t\t");
		emit_nft_rule(c->rules[i], flags, sb);
		sbuf_putc(sb, '\n');
	}
	sbuf_puts(sb, "\t}\n");
}

void emit_nft_table(const struct rs_table *t, unsigned flags, FILE *out)
{
	struct sbuf sb = { 0 };
	bool first = true;

	sbuf_puts(&sb, "table inet ");
	put_text(&sb, t->name, flags);
	sbuf_puts(&sb, " {\n");
	if (t->dormant)
		sbuf_puts(&sb, "\tflags dormant\n");
	if (t->comment) {
		sbuf_puts(&sb, "\tcomment \"");
		put_text(&sb, t->comment, flags);
		sbuf_puts(&sb, "\"\n");
	}
	for (size_t i = 0; i < t->nsets; i++) {
		if (!first || t->comment)
			sbuf_putc(&sb, '\n');
		first = false;
		put_set(&sb, t->sets[i], flags, out);
	}
	for (size_t i = 0; i < t->nchains; i++) {
		if (!first || t->comment)
			sbuf_putc(&sb, '\n');
		first = false;
		put_chain(&sb, t->chains[i], flags);
	}
	sbuf_puts(&sb, "}\n");
	fwrite(sb.buf, 1, sb.len, out);
	sbuf_release(&sb);
}

void emit_nft_script(const struct rs_table *t, FILE *out)
{
	fprintf(out,
		"#!/usr/sbin/nft -f\n"
		"# Generated by tlswall. Loading this file replaces table inet %s in one transaction\n"
		"# and leaves every other table alone.\n"
		"\n"
		"table inet %s\n"
		"delete table inet %s\n"
		"\n",
		t->name, t->name, t->name);
	emit_nft_table(t, 0, out);
}
