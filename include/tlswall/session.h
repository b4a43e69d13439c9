/* One verb's conversation with the kernel and the state directory: the netfilter socket, the state directory
 * (locked when the verb changes anything) with its pending confirmation, tlswall's live table and the generation it
 * belongs to, and one diagnostics list that every failure on the way goes into, for the verb to print once. */
#ifndef TLSWALL_SESSION_H
#define TLSWALL_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlswall/pending.h"
#include "tlswall/table_hash.h"
#include "tlswall/record.h"

struct diag_list;
struct diff;
struct nl;
struct rs_table;
struct state;

enum session_flags {
	SESSION_STATE = 1 << 0,           /* the state directory is needed: not opening it is an error */
	SESSION_STATE_IF_USABLE = 1 << 1, /* used when it opens (a read-only verb goes on without it) */
	SESSION_LOCK = 1 << 2,            /* serialized with other tlswall runs: every verb that changes anything */
};

enum live_origin {
	LIVE_UNREAD,
	LIVE_DUMP,   /* dumped from the kernel */
	LIVE_RECORD, /* tlswall's record of its own last commit, which nothing has changed since */
};

struct session {
	struct diag_list *diags;  /* the verb's own */
	struct state *st;         /* NULL: no state directory */
	char *state_error;        /* SESSION_STATE_IF_USABLE: why it could not be used */
	struct pending pending;
	bool pending_exists;
	char *pending_damaged;    /* why the pending confirmation cannot be read (pending_exists is false then) */
	struct nl *nl;            /* opened by the first read */
	char *table;              /* the table read last */
	struct rs_table *live;    /* as the kernel holds it; NULL: it does not exist */
	enum live_origin origin;
	uint32_t genid;           /* the ruleset generation live belongs to */
	bool stale;               /* committed since live was read: live is what the kernel held before */
	unsigned reads;           /* counts the reads that replaced live (a read that found it current does not) */
	struct record_base base;  /* what the record read is based on: the next record is written against it */
	struct {
		size_t messages, bytes;
		bool delta; /* elements only */
		/* for the audit trail: */
		char *change;                  /* what it changed, in one line ("+1 rule, office.v4: +3 elements") */
		char *origin;                  /* what the table it left is: a policy path, "..., restored from ..." */
		char sha256[TABLE_HASH_LEN];   /* the table it left (table_sha256); "" when it deleted the table */
		uint32_t genid;                /* the generation it produced; 0: not known (an unguarded commit) */
		bool unchanged;                /* there was nothing to commit (session_unchanged) */
	} sent;                   /* the last commit's batch */
};

/* 0, or -1 with the reason in diags. */
int session_open(struct session *s, const char *state_dir, unsigned flags, struct diag_list *diags);
void session_close(struct session *s);

/* Whether a change waiting for confirmation (or a confirmation that cannot be read) stops a verb that would change
 * the table: the rollback timer would undo it behind the admin's back. True after saying what to do, in diags. */
bool session_pending_blocks(struct session *s);

/* Reads table inet `table` (replacing what was read before): from the record of tlswall's last commit when
 * use_record allows and nothing anywhere has committed since, else from a dump. 0 or -errno (in diags). */
int session_read(struct session *s, const char *table, bool use_record);

/* Turns the table read last into planned (NULL: deletes it), in one transaction guarded by the generation it was
 * read at. d (planned vs live) holding only element changes sends just those. The record is updated; origin says
 * what the table is (a policy path...). 0 once committed, or -errno with every failure in diags, located at the
 * policy line behind it; -ERESTART when someone else committed in between (nothing was applied). */
int session_commit(struct session *s, const struct rs_table *planned, const struct diff *d, const char *origin);
/* For the audit trail: the kernel was found holding t (NULL: no table) already, so nothing was committed to make it
 * so (what sent says). */
void session_unchanged(struct session *s, const struct rs_table *t, const char *origin);
/* Replaces table inet name with want (NULL: deletes it) whatever the kernel holds: one transaction without a
 * generation guard, for restoring a saved table while other programs keep committing (what it replaces does not
 * matter, so nothing they commit can make it wrong). 0, or -errno in diags. */
int session_replace(struct session *s, const struct rs_table *want, const char *name, const char *origin);

#endif
