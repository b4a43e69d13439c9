#include <stdlib.h>
#include <string.h>

#include "tlswall/diff.h"
#include "tlswall/emit_nft.h"
#include "tlswall/ruleset.h"
#include "tlswall/util.h"

static struct change *add(struct diff *d, enum change_kind kind, const char *object)
{
	struct change *c;

	x_grow(&d->v, &d->cap, d->n + 1, sizeof(*d->v));
	c = &d->v[d->n++];
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->object = object;
	if (kind != CHANGE_ELEMS)
		d->structural = true;
	return c;
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Rules of one chain aligned by longest common subsequence: what is not common was removed or added. Chains hold
 * tens of rules, so the quadratic table is small. */
static void diff_rules(struct diff *d, const struct rs_chain *p, const struct rs_chain *l)
{
	size_t m = p ? p->nrules : 0, n = l ? l->nrules : 0;
	size_t *len = x_calloc((m + 1) * (n + 1), sizeof(*len));
	const char *name = p ? p->name : l->name;
	size_t i = 0, j = 0;

#define LEN(a, b) len[(a) * (n + 1) + (b)]
	for (size_t a = m; a-- > 0;)
		for (size_t b = n; b-- > 0;)
			LEN(a, b) = rs_rule_equal(p->rules[a], l->rules[b]) ? LEN(a + 1, b + 1) + 1 :
				    LEN(a + 1, b) > LEN(a, b + 1) ? LEN(a + 1, b) : LEN(a, b + 1);
	while (i < m || j < n) {
		if (i < m && j < n && rs_rule_equal(p->rules[i], l->rules[j])) {
			i++;
			j++;
		} else if (j < n && (i == m || LEN(i, j + 1) >= LEN(i + 1, j))) {
			struct change *c = add(d, CHANGE_RULE_DEL, name);

			c->rule = l->rules[j];
			c->position = j++;
		} else {
			struct change *c = add(d, CHANGE_RULE_ADD, name);

			c->rule = p->rules[i];
			c->position = i++;
		}
	}
#undef LEN
	free(len);
}

static int cmp_elem(const struct rs_set *a, size_t i, const struct rs_set *b, size_t j)
{
	int c = memcmp(rs_set_elem(a, i), rs_set_elem(b, j), rs_set_stride(a));

	if (c || !a->vmap)
		return c;
	if (a->data[i].code != b->data[j].code)
		return a->data[i].code < b->data[j].code ? -1 : 1;
	return strcmp(a->data[i].chain ? a->data[i].chain : "", b->data[j].chain ? b->data[j].chain : "");
}

/* Both sets are sorted: one merge pass finds what to add and what to remove, however large they are. */
static void diff_elems(struct diff *d, const struct rs_set *p, const struct rs_set *l)
{
	size_t i = 0, j = 0, na = 0, nr = 0, capa = 0, capr = 0;
	size_t *added = NULL, *removed = NULL;
	struct change *c;

	/* most shards of a long list are unchanged: equal digests (ruleset.h), or one memcmp, say so */
	if (p && l && !p->vmap && !l->vmap && p->nelem == l->nelem && p->key == l->key && p->interval == l->interval &&
	    ((p->digest_known && l->digest_known && memcmp(p->digest, l->digest, RS_DIGEST_LEN) == 0) || !p->nelem ||
	     memcmp(p->elems, l->elems, p->nelem * rs_set_stride(p)) == 0))
		return;
	while (i < (p ? p->nelem : 0) || j < (l ? l->nelem : 0)) {
		int cmp = !l || j >= l->nelem ? -1 : !p || i >= p->nelem ? 1 : cmp_elem(p, i, l, j);

		if (cmp == 0) {
			i++;
			j++;
		} else if (cmp < 0) {
			x_grow(&added, &capa, na + 1, sizeof(*added));
			added[na++] = i++;
		} else {
			x_grow(&removed, &capr, nr + 1, sizeof(*removed));
			removed[nr++] = j++;
		}
	}
	if (!na && !nr)
		return;
	c = add(d, CHANGE_ELEMS, p ? p->name : l->name);
	c->planned_set = p;
	c->live_set = l;
	c->added = added;
	c->nadded = na;
	c->removed = removed;
	c->nremoved = nr;
}

static char *chain_difference(const struct rs_chain *p, const struct rs_chain *l)
{
	if (p->base != l->base)
		return x_strdup(p->base ? "becomes a base chain" : "stops being a base chain");
	if (p->base && (p->hook != l->hook || p->priority != l->priority || !str_eq(p->type, l->type)))
		return x_strdup("hook, type or priority");
	if (p->base && p->policy != l->policy)
		return x_asprintf("policy %s -> %s", l->policy == RS_DROP ? "drop" : "accept",
				  p->policy == RS_DROP ? "drop" : "accept");
	if (!str_eq(p->comment, l->comment))
		return x_strdup("comment");
	return NULL;
}

static char *set_difference(const struct rs_set *p, const struct rs_set *l)
{
	if (l->foreign)
		return x_asprintf("live set is %s", l->foreign_text);
	if (p->key != l->key || p->vmap != l->vmap)
		return x_strdup("type");
	if (p->interval != l->interval)
		return x_strdup(p->interval ? "gains flags interval" : "loses flags interval");
	if (!str_eq(p->comment, l->comment))
		return x_strdup("comment");
	return NULL;
}

void diff_tables(const struct rs_table *planned, const struct rs_table *live, struct diff *d)
{
	memset(d, 0, sizeof(*d));
	if (!live) {
		add(d, CHANGE_TABLE_ADD, planned->name);
		for (size_t i = 0; i < planned->nsets; i++) {
			add(d, CHANGE_SET_ADD, planned->sets[i]->name)->planned_set = planned->sets[i];
			diff_elems(d, planned->sets[i], NULL);
		}
		for (size_t i = 0; i < planned->nchains; i++) {
			add(d, CHANGE_CHAIN_ADD, planned->chains[i]->name);
			diff_rules(d, planned->chains[i], NULL);
		}
		return;
	}
	if (!str_eq(planned->comment, live->comment))
		add(d, CHANGE_TABLE_COMMENT, planned->name);
	if (planned->dormant != live->dormant)
		add(d, CHANGE_TABLE_FLAGS, planned->name);

	/* one cursor per walk: both tables list their objects in the same order (rs_table_find_set_from) */
	for (size_t i = 0, at = 0; i < planned->nsets; i++) {
		const struct rs_set *p = planned->sets[i], *l = rs_table_find_set_from(live, p->name, &at);
		char *why;

		if (!l) {
			add(d, CHANGE_SET_ADD, p->name)->planned_set = p;
			diff_elems(d, p, NULL);
		} else if ((why = set_difference(p, l))) {
			struct change *c = add(d, CHANGE_SET_ALTER, p->name);

			c->planned_set = p;
			c->live_set = l;
			c->detail = why;
		} else {
			diff_elems(d, p, l);
		}
	}
	for (size_t i = 0, at = 0; i < live->nsets; i++)
		if (!rs_table_find_set_from(planned, live->sets[i]->name, &at)) {
			add(d, CHANGE_SET_DEL, live->sets[i]->name)->live_set = live->sets[i];
			diff_elems(d, NULL, live->sets[i]);
		}

	for (size_t i = 0, at = 0; i < planned->nchains; i++) {
		const struct rs_chain *p = planned->chains[i], *l = rs_table_find_chain_from(live, p->name, &at);
		char *why;

		if (!l) {
			add(d, CHANGE_CHAIN_ADD, p->name);
			diff_rules(d, p, NULL);
			continue;
		}
		if ((why = chain_difference(p, l)))
			add(d, CHANGE_CHAIN_ALTER, p->name)->detail = why;
		diff_rules(d, p, l);
	}
	for (size_t i = 0, at = 0; i < live->nchains; i++)
		if (!rs_table_find_chain_from(planned, live->chains[i]->name, &at)) {
			add(d, CHANGE_CHAIN_DEL, live->chains[i]->name);
			diff_rules(d, NULL, live->chains[i]);
		}
}

void diff_release(struct diff *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].added);
		free(d->v[i].removed);
		free(d->v[i].detail);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

bool diff_empty(const struct diff *d)
{
	return d->n == 0;
}

static void count(struct sbuf *sb, size_t n, const char *one, const char *many, char sign)
{
	if (n)
		sbuf_addf(sb, "%s%c%zu %s", sb->len ? ", " : "", sign, n, n == 1 ? one : many);
}

void diff_print_summary(const struct diff *d, FILE *out)
{
	size_t n[CHANGE_RULE_DEL + 1] = { 0 };
	struct sbuf sb = { 0 };

	for (size_t i = 0; i < d->n; i++)
		n[d->v[i].kind]++;
	if (n[CHANGE_TABLE_ADD])
		sbuf_puts(&sb, "new table");
	count(&sb, n[CHANGE_CHAIN_ADD], "chain", "chains", '+');
	count(&sb, n[CHANGE_CHAIN_DEL], "chain", "chains", '-');
	count(&sb, n[CHANGE_CHAIN_ALTER], "chain changed", "chains changed", '~');
	count(&sb, n[CHANGE_SET_ADD], "set", "sets", '+');
	count(&sb, n[CHANGE_SET_DEL], "set", "sets", '-');
	count(&sb, n[CHANGE_SET_ALTER], "set redefined", "sets redefined", '~');
	count(&sb, n[CHANGE_RULE_ADD], "rule", "rules", '+');
	count(&sb, n[CHANGE_RULE_DEL], "rule", "rules", '-');
	for (size_t i = 0; i < d->n; i++) {
		const struct change *c = &d->v[i];

		/* elements of sets that come or go are part of that change */
		if (c->kind != CHANGE_ELEMS || !c->live_set || !c->planned_set)
			continue;
		sbuf_puts(&sb, sb.len ? ", " : "");
		sbuf_put_printable(&sb, c->object, strlen(c->object));
		sbuf_puts(&sb, ": ");
		if (c->nadded)
			sbuf_addf(&sb, "+%zu", c->nadded);
		if (c->nremoved)
			sbuf_addf(&sb, "%s-%zu", c->nadded ? " " : "", c->nremoved);
		sbuf_puts(&sb, c->nadded + c->nremoved == 1 ? " element" : " elements");
	}
	if (n[CHANGE_TABLE_COMMENT])
		sbuf_addf(&sb, "%stable comment", sb.len ? ", " : "");
	if (n[CHANGE_TABLE_FLAGS])
		sbuf_addf(&sb, "%stable woken (it was dormant)", sb.len ? ", " : "");
	fprintf(out, "%s\n", sb.len ? sb.buf : "no changes");
	sbuf_release(&sb);
}

static bool in_list(const struct diff *d, enum change_kind kind, const char *object, const struct rs_rule *rule)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].kind == kind && d->v[i].rule == rule && strcmp(d->v[i].object, object) == 0)
			return true;
	return false;
}

/* Names, comments and rules can hold anything the kernel was given: they reach the terminal made printable. */
static void put(FILE *out, const char *s)
{
	char *p = printable_dup(s);

	fputs(p, out);
	free(p);
}

static void print_rule(FILE *out, char mark, const struct rs_rule *r)
{
	struct sbuf sb = { 0 };

	emit_nft_rule(r, EMIT_PRINTABLE | (mark == '-' ? EMIT_FOREIGN | EMIT_HANDLES : 0), &sb);
	fprintf(out, "%c\t\t%s\n", mark, sb.buf);
	sbuf_release(&sb);
}

static void print_chain(const struct diff *d, const struct rs_chain *p, const struct rs_chain *l, FILE *out)
{
	size_t i = 0, j = 0, m = p ? p->nrules : 0, n = l ? l->nrules : 0;
	const char *name = p ? p->name : l->name;
	char mark = !l ? '+' : !p ? '-' : ' ';

	fprintf(out, "%c\tchain ", mark);
	put(out, name);
	fputs(" {\n", out);
	while (i < m || j < n) {
		if (j < n && in_list(d, CHANGE_RULE_DEL, name, l->rules[j])) {
			print_rule(out, '-', l->rules[j++]);
		} else if (i < m && in_list(d, CHANGE_RULE_ADD, name, p->rules[i])) {
			print_rule(out, '+', p->rules[i++]);
		} else {
			print_rule(out, ' ', p ? p->rules[i] : l->rules[j]);
			i++;
			j++;
		}
	}
	fprintf(out, "%c\t}\n", mark);
}

static void print_elems(const struct change *c, size_t max, FILE *out)
{
	struct sbuf sb = { 0 };

	for (size_t k = 0; k < c->nremoved && (max == 0 || k < max); k++) {
		sb.len = 0;
		emit_nft_elem(c->live_set, c->removed[k], EMIT_PRINTABLE, &sb);
		fprintf(out, "-\t\t\t%s\n", sb.buf);
	}
	if (max && c->nremoved > max)
		fprintf(out, "-\t\t\t... and %zu more removed (tlswall -v diff lists all)\n", c->nremoved - max);
	for (size_t k = 0; k < c->nadded && (max == 0 || k < max); k++) {
		sb.len = 0;
		emit_nft_elem(c->planned_set, c->added[k], EMIT_PRINTABLE, &sb);
		fprintf(out, "+\t\t\t%s\n", sb.buf);
	}
	if (max && c->nadded > max)
		fprintf(out, "+\t\t\t... and %zu more added (tlswall -v diff lists all)\n", c->nadded - max);
	sbuf_release(&sb);
}

static const struct change *find_change(const struct diff *d, enum change_kind kind, const char *object)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].kind == kind && strcmp(d->v[i].object, object) == 0)
			return &d->v[i];
	return NULL;
}

static void print_set(const struct diff *d, const struct rs_set *p, const struct rs_set *l, size_t max, FILE *out)
{
	const struct rs_set *s = p ? p : l;
	const struct change *elems = find_change(d, CHANGE_ELEMS, s->name);
	const struct change *alter = find_change(d, CHANGE_SET_ALTER, s->name);
	char mark = !l ? '+' : !p ? '-' : ' ';
	struct sbuf sb = { 0 };

	if (l && p && !elems && !alter)
		return;
	fprintf(out, "%c\t%s ", alter ? '~' : mark, s->vmap ? "map" : "set");
	put(out, s->name);
	if (alter) {
		fputs(" {\t# redefined: ", out);
		put(out, alter->detail);
		fputc('\n', out);
	} else {
		fputs(" {", out);
		if (elems)
			fprintf(out, "\t# +%zu -%zu elements", elems->nadded, elems->nremoved);
		fputc('\n', out);
	}
	if (s->foreign) {
		fprintf(out, "%c\t\t# ", mark);
		put(out, s->foreign_text);
		fputc('\n', out);
	} else {
		emit_nft_set_header(s, "", EMIT_PRINTABLE, &sb);
		for (char *line = strtok(sb.buf, "\n"); line; line = strtok(NULL, "\n"))
			fprintf(out, "%c\t\t%s\n", mark, line);
	}
	if (elems)
		print_elems(elems, max, out);
	fprintf(out, "%c\t}\n", mark);
	sbuf_release(&sb);
}

void diff_print(const struct diff *d, const struct rs_table *planned, const struct rs_table *live, size_t max_elems,
		FILE *out)
{
	if (diff_empty(d))
		return;
	fputs("--- live    table inet ", out);
	put(out, live ? live->name : planned->name);
	fprintf(out, "%s\n+++ planned table inet ", live ? "" : " (not in the kernel)");
	put(out, planned->name);
	fputc('\n', out);
	if (find_change(d, CHANGE_TABLE_FLAGS, planned->name))
		fprintf(out, "-\tflags dormant;\t# switched off: none of its rules applies\n");
	if (find_change(d, CHANGE_TABLE_COMMENT, planned->name)) {
		fputs("-\tcomment \"", out);
		put(out, live->comment ? live->comment : "");
		fputs("\"\n+\tcomment \"", out);
		put(out, planned->comment ? planned->comment : "");
		fputs("\"\n", out);
	}
	for (size_t i = 0; i < planned->nsets; i++)
		print_set(d, planned->sets[i], live ? rs_table_find_set(live, planned->sets[i]->name) : NULL, max_elems,
			  out);
	for (size_t i = 0; live && i < live->nsets; i++)
		if (!rs_table_find_set(planned, live->sets[i]->name))
			print_set(d, NULL, live->sets[i], max_elems, out);
	for (size_t i = 0; i < planned->nchains; i++) {
		const struct rs_chain *p = planned->chains[i];
		const struct rs_chain *l = live ? rs_table_find_chain(live, p->name) : NULL;
		bool changed = !l;

		for (size_t k = 0; k < d->n && !changed; k++)
			changed = (d->v[k].kind == CHANGE_RULE_ADD || d->v[k].kind == CHANGE_RULE_DEL ||
				   d->v[k].kind == CHANGE_CHAIN_ALTER) &&
				  strcmp(d->v[k].object, p->name) == 0;
		if (!changed)
			continue;
		if (l) {
			const struct change *alter = find_change(d, CHANGE_CHAIN_ALTER, p->name);

			if (alter) {
				fputs("~\tchain ", out);
				put(out, p->name);
				fputs(": ", out);
				put(out, alter->detail);
				fputc('\n', out);
			}
		}
		print_chain(d, p, l, out);
	}
	for (size_t i = 0; live && i < live->nchains; i++)
		if (!rs_table_find_chain(planned, live->chains[i]->name))
			print_chain(d, NULL, live->chains[i], out);
}
