#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlswall/diag.h"
#include "tlswall/diff.h"
#include "tlswall/nl.h"
#include "tlswall/nl_decode.h"
#include "tlswall/nl_encode.h"
#include "tlswall/record.h"
#include "tlswall/ruleset.h"
#include "tlswall/session.h"
#include "tlswall/state.h"
#include "tlswall/table_hash.h"
#include "tlswall/util.h"

int session_open(struct session *s, const char *state_dir, unsigned flags, struct diag_list *diags)
{
	char *error = NULL;

	memset(s, 0, sizeof(*s));
	s->diags = diags;
	if (!(flags & (SESSION_STATE | SESSION_STATE_IF_USABLE)))
		return 0;
	s->st = state_open(state_dir, &error);
	if (s->st && (flags & SESSION_LOCK) && !state_lock(s->st, 60, &error)) {
		state_close(s->st);
		s->st = NULL;
	}
	/* a damaged confirmation must not jam everything: the verbs say what to do, rollback and the timer still work */
	if (s->st && !pending_read(s->st, &s->pending, &s->pending_exists, &s->pending_damaged))
		s->pending_exists = false;
	if (!s->st && (flags & SESSION_STATE)) {
		diag_error(diags, NULL, 0, "%s", error);
		free(error);
		return -1;
	}
	/* a read-only verb without a usable state directory dumps the kernel instead of using the record */
	s->state_error = error;
	return 0;
}

void session_close(struct session *s)
{
	rs_table_free(s->live);
	record_base_release(&s->base);
	free(s->table);
	free(s->sent.change);
	free(s->sent.origin);
	free(s->state_error);
	free(s->pending_damaged);
	/* unlocked first: the socket's last reference may go to a child (nl_close), which must not hold the lock */
	state_close(s->st);
	nl_close(s->nl);
	memset(s, 0, sizeof(*s));
}

bool session_pending_blocks(struct session *s)
{
	if (s->pending_damaged)
		diag_error(s->diags, NULL, 0,
			   "%s; run \"tlswall rollback\" to restore the ruleset from before the last apply, or \"tlswall "
			   "confirm\" to keep the live one, then try again",
			   s->pending_damaged);
	else if (s->pending_exists)
		diag_error(s->diags, NULL, 0,
			   "a change to table inet %s is waiting for confirmation (%s); run \"tlswall confirm\" or "
			   "\"tlswall rollback\" first",
			   s->pending.table, s->pending.policy);
	return s->pending_damaged || s->pending_exists;
}

static void report_kernel_error(struct session *s, int err, const char *what)
{
	if (err == -EPERM || err == -EACCES)
		diag_error(s->diags, NULL, 0, "cannot talk to netfilter: %s (run as root, or with CAP_NET_ADMIN)",
			   strerror(-err));
	else if (err == -EAGAIN)
		diag_error(s->diags, NULL, 0, "the ruleset kept changing while tlswall read it; try again");
	else
		diag_error(s->diags, NULL, 0, "%s: %s", what, strerror(-err));
}

int session_read(struct session *s, const char *table, bool use_record)
{
	uint32_t genid;
	int ret;

	/* read already, and nothing anywhere has committed since: what was read is still what the kernel holds */
	if (s->nl && !s->stale && s->origin != LIVE_UNREAD && (use_record || s->origin == LIVE_DUMP) && s->table &&
	    strcmp(s->table, table) == 0 && nl_genid(s->nl, &genid) == 0 && genid == s->genid)
		return 0;
	rs_table_free(s->live);
	s->live = NULL;
	s->origin = LIVE_UNREAD;
	s->stale = false;
	s->reads++;
	record_base_release(&s->base);
	free(s->table);
	s->table = x_strdup(table);
	if (!s->nl && (ret = nl_open(&s->nl)) != 0) {
		s->nl = NULL;
		report_kernel_error(s, ret, "cannot talk to netfilter");
		return ret;
	}
	/* unchanged since tlswall's own last commit: the record is the table, and no set is dumped */
	if (use_record && s->st && nl_genid(s->nl, &s->genid) == 0) {
		char *damaged = NULL;

		if (record_load(s->st, table, s->genid, &s->live, &damaged, &s->base)) {
			s->origin = LIVE_RECORD;
			return 0;
		}
		if (damaged)
			diag_warning(s->diags, NULL, 0, "the record of the last commit cannot be used (%s); reading the "
				     "kernel instead", damaged);
		free(damaged);
	}
	ret = nl_read_table(s->nl, table, &s->live, &s->genid);
	if (ret) {
		char *what = x_asprintf("cannot read table inet %s", table);

		report_kernel_error(s, ret, what);
		free(what);
		return ret;
	}
	s->origin = LIVE_DUMP;
	return 0;
}

/* Every failing message of a refused batch, at the policy line behind the object it creates. */
static void report_refusal(struct session *s, const struct nl_commit_result *res, const struct nl_origins *origins,
			   int err)
{
	if (err == -ERESTART) {
		diag_error(s->diags, NULL, 0,
			   "the ruleset changed while tlswall was working (another program committed in between); "
			   "nothing was applied: run the command again");
		return;
	}
	if (res->nfailures == 0) {
		diag_error(s->diags, NULL, 0,
			   "the kernel did not confirm the transaction: %s; check the result with \"tlswall diff\"",
			   strerror(-err));
		return;
	}
	diag_error(s->diags, NULL, 0, "the kernel refused the transaction; nothing was applied");
	for (size_t i = 0; i < res->nfailures; i++) {
		const struct nl_failure *f = &res->failures[i];
		const struct nl_origin *o = nl_origins_find(origins, f->seq);
		struct sbuf sb = { 0 };

		if (o)
			sbuf_puts(&sb, o->what);
		else if (f->seq == res->begin_seq || f->seq == res->end_seq)
			sbuf_puts(&sb, "the transaction as a whole");
		else
			sbuf_addf(&sb, "message %u", f->seq);
		if (f->where)
			sbuf_addf(&sb, ", %s", f->where);
		sbuf_addf(&sb, ": %s", strerror(-f->error));
		if (f->message)
			sbuf_addf(&sb, " (kernel: %s)", f->message);
		diag_error(s->diags, o ? o->file : NULL, o ? o->line : 0, "%s", sb.buf);
		sbuf_release(&sb);
	}
}

/* What a commit did, for the audit trail. */
static void describe_commit(struct session *s, const struct rs_table *planned, const struct diff *d, const char *origin,
			    bool guarded)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	free(s->sent.change);
	free(s->sent.origin);
	s->sent.origin = origin ? x_strdup(origin) : NULL;
	if (!planned) {
		s->sent.change = x_strdup("table deleted");
	} else if (!d) {
		s->sent.change = x_strdup("whole table replaced");
	} else if ((f = open_memstream(&text, &len))) {
		diff_print_summary(d, f);
		fclose(f);
		if (len && text[len - 1] == '\n')
			text[len - 1] = '\0';
		s->sent.change = text;
	} else {
		s->sent.change = x_strdup("?");
	}
	table_sha256(planned, s->sent.sha256);
	s->sent.genid = guarded ? s->genid : 0;
	s->sent.unchanged = false;
}

void session_unchanged(struct session *s, const struct rs_table *t, const char *origin)
{
	free(s->sent.change);
	free(s->sent.origin);
	s->sent.change = x_strdup("none: the kernel already held it");
	s->sent.origin = origin ? x_strdup(origin) : NULL;
	table_sha256(t, s->sent.sha256);
	s->sent.genid = s->genid;
	s->sent.unchanged = true;
}

/* One transaction: guarded by the generation the live table was read at, or (guarded false) not at all. */
static int commit(struct session *s, const struct rs_table *planned, const struct diff *d, const char *origin,
		  bool guarded)
{
	bool delta = planned && d && !d->structural && !diff_empty(d);
	struct nl_origins origins = { 0 };
	struct nl_commit_result res;
	struct nl_batch *b = nl_batch_alloc(s->nl, guarded ? &s->genid : NULL);
	char *error = NULL;
	int ret = 0;

	if (delta) {
		/* only elements changed: send just those, and every counter keeps counting */
		nl_encode_delta(b, planned, d, &origins);
	} else if (planned) {
		ret = nl_encode_replace(b, planned, &origins, &error);
		if (ret) {
			diag_error(s->diags, NULL, 0, "%s; nothing was applied", error ? error : strerror(-ret));
			free(error);
			goto out;
		}
	} else {
		nl_encode_delete_table(b, s->table, &origins);
	}
	s->sent.messages = nl_batch_messages(b);
	s->sent.bytes = nl_batch_bytes(b);
	s->sent.delta = delta;
	ret = nl_batch_commit(s->nl, b, &res);
	if (ret) {
		report_refusal(s, &res, &origins, ret);
	} else if (guarded) {
		s->genid++; /* a guarded commit makes exactly the next generation */
		record_save(s->st, planned, s->table, origin, s->genid, &s->base, s->live);
		s->stale = true; /* live is the table from before: the next read reads again */
	} else {
		record_forget(s->st); /* which generation it made is not known: the next read dumps */
	}
	if (!ret)
		describe_commit(s, planned, d, origin, guarded);
	nl_commit_result_release(&res);
out:
	nl_origins_release(&origins);
	nl_batch_free(b);
	return ret;
}

int session_commit(struct session *s, const struct rs_table *planned, const struct diff *d, const char *origin)
{
	return commit(s, planned, d, origin, true);
}

int session_replace(struct session *s, const struct rs_table *want, const char *name, const char *origin)
{
	int ret;

	rs_table_free(s->live);
	s->live = NULL;
	s->origin = LIVE_UNREAD;
	free(s->table);
	s->table = x_strdup(name);
	if (!s->nl && (ret = nl_open(&s->nl)) != 0) {
		s->nl = NULL;
		report_kernel_error(s, ret, "cannot talk to netfilter");
		return ret;
	}
	return commit(s, want, NULL, origin, false);
}
