/* Planned ruleset x live ruleset -> the changes that turn live into planned, object by object. */
#ifndef TLSWALL_DIFF_H
#define TLSWALL_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct rs_rule;
struct rs_set;
struct rs_table;

enum change_kind {
	CHANGE_TABLE_ADD,     /* no table yet */
	CHANGE_TABLE_COMMENT,
	CHANGE_TABLE_FLAGS,   /* the live table is dormant */
	CHANGE_CHAIN_ADD,
	CHANGE_CHAIN_DEL,
	CHANGE_CHAIN_ALTER,   /* hook, priority, policy or comment differ */
	CHANGE_SET_ADD,
	CHANGE_SET_DEL,
	CHANGE_SET_ALTER,     /* type or flags differ: the set must be recreated */
	CHANGE_ELEMS,         /* elements added and/or removed in a set that stays */
	CHANGE_RULE_ADD,
	CHANGE_RULE_DEL,
};

struct change {
	enum change_kind kind;
	const char *object;          /* chain or set name */
	const struct rs_rule *rule;  /* RULE_ADD: planned rule; RULE_DEL: live rule */
	size_t position;             /* rule's index in its chain (planned for ADD, live for DEL) */
	const struct rs_set *planned_set, *live_set;
	size_t *added, *removed;     /* ELEMS: element indexes in planned_set / live_set */
	size_t nadded, nremoved;
	char *detail;                /* ALTER: what differs */
};

struct diff {
	struct change *v;
	size_t n, cap;
	bool structural; /* anything beyond elements of sets that stay: the table must be replaced */
};

/* live may be NULL (no table in the kernel). Both tables must outlive the diff. */
void diff_tables(const struct rs_table *planned, const struct rs_table *live, struct diff *out);
void diff_release(struct diff *d);
bool diff_empty(const struct diff *d);

/* One line per kind of change: "+2 rules, -1 rule, +100 elements in blocklist.v4". */
void diff_print_summary(const struct diff *d, FILE *out);
/* Readable like a unified diff. At most max_elems elements are listed per set (0: all). */
void diff_print(const struct diff *d, const struct rs_table *planned, const struct rs_table *live,
		size_t max_elems, FILE *out);

#endif
