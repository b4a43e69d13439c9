#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlswall/commit.h"
#include "tlswall/diff.h"
#include "tlswall/record.h"
#include "tlswall/nl.h"
#include "tlswall/nl_decode.h"
#include "tlswall/nl_encode.h"
#include "tlswall/ruleset.h"
#include "tlswall/util.h"

static size_t test_fault_at(void)
{
	const char *v = getenv("TLSWALL_TEST_FAULT_AT");

	return v && *v ? (size_t)strtoul(v, NULL, 10) : 0;
}

static void report(const struct nl_commit_result *res, const struct nl_origins *origins, int err)
{
	if (err == -ERESTART) {
		fprintf(stderr, "tlswall: the ruleset changed while tlswall was working (another program committed "
				"in between); nothing was applied: run the command again\n");
		return;
	}
	if (res->nfailures == 0) {
		fprintf(stderr, "tlswall: the kernel did not confirm the transaction: %s; check the result with "
				"\"tlswall diff\"\n",
			strerror(-err));
		return;
	}
	fprintf(stderr, "tlswall: the kernel refused the transaction; nothing was applied:\n");
	for (size_t i = 0; i < res->nfailures; i++) {
		const struct nl_failure *f = &res->failures[i];
		const struct nl_origin *o = nl_origins_find(origins, f->seq);
		struct sbuf sb = { 0 };

		if (o && o->file && o->line)
			sbuf_addf(&sb, "%s:%u: error: ", o->file, o->line);
		else if (o && o->file)
			sbuf_addf(&sb, "%s: error: ", o->file);
		else
			sbuf_puts(&sb, "tlswall: error: ");
		if (o)
			sbuf_addf(&sb, "%s", o->what);
		else if (f->seq == res->begin_seq || f->seq == res->end_seq)
			sbuf_puts(&sb, "the transaction as a whole");
		else
			sbuf_addf(&sb, "message %u", f->seq);
		if (f->where)
			sbuf_addf(&sb, ", %s", f->where);
		sbuf_addf(&sb, ": %s", strerror(-f->error));
		if (f->message)
			sbuf_addf(&sb, " (kernel: %s)", f->message);
		fprintf(stderr, "%s\n", sb.buf);
		sbuf_release(&sb);
	}
}

int commit_table(struct nl *nl, struct state *st, const struct rs_table *planned, const struct diff *d, const char *name,
		 uint32_t genid, const char *origin, bool verbose)
{
	bool delta = planned && d && !d->structural && !diff_empty(d);
	struct nl_encode_opts opts = { test_fault_at() };
	struct nl_origins origins = { 0 };
	struct nl_commit_result res;
	struct nl_batch *b = nl_batch_alloc(nl, &genid);
	char *error = NULL;
	int ret;

	if (delta) {
		/* only elements changed: send just those, and every counter keeps counting */
		nl_encode_delta(b, planned, d, &opts, &origins);
	} else if (planned) {
		ret = nl_encode_replace(b, planned, &opts, &origins, &error);
		if (ret) {
			fprintf(stderr, "tlswall: %s; nothing was applied\n", error ? error : strerror(-ret));
			free(error);
			goto out;
		}
	} else {
		nl_encode_delete_table(b, name, &origins);
	}
	if (verbose)
		printf("tlswall: committing one transaction of %zu messages (%zu bytes, %s) against generation %u\n",
		       nl_batch_messages(b), nl_batch_bytes(b), delta ? "elements only" : "whole table", genid);
	ret = nl_batch_commit(nl, b, &res);
	if (ret)
		report(&res, &origins, ret);
	else
		record_save(st, nl, planned, name, origin, genid + 1); /* a guarded commit makes exactly the next generation */
	nl_commit_result_release(&res);
out:
	nl_origins_release(&origins);
	nl_batch_free(b);
	return ret;
}

void commit_report_open_error(int err)
{
	if (err == -EPERM || err == -EACCES)
		fprintf(stderr, "tlswall: cannot talk to netfilter: %s (run as root, or with CAP_NET_ADMIN)\n",
			strerror(-err));
	else
		fprintf(stderr, "tlswall: cannot talk to netfilter: %s\n", strerror(-err));
}

int live_read(const char *name, struct state *st, struct nl **nl, struct rs_table **live, uint32_t *genid,
	      bool *from_record)
{
	int ret = nl_open(nl);

	*live = NULL;
	if (from_record)
		*from_record = false;
	if (ret) {
		commit_report_open_error(ret);
		return ret;
	}
	/* unchanged since tlswall's own last commit: the record is the table, and no set is dumped */
	if (st && nl_genid(*nl, genid) == 0 && record_load(st, *nl, name, *genid, live)) {
		if (from_record)
			*from_record = true;
		return 0;
	}
	ret = nl_read_table(*nl, name, live, genid);
	if (ret == -EPERM || ret == -EACCES) {
		commit_report_open_error(ret);
	} else if (ret == -EAGAIN) {
		fprintf(stderr, "tlswall: the ruleset kept changing while tlswall read it; try again\n");
	} else if (ret) {
		fprintf(stderr, "tlswall: cannot read table inet %s: %s\n", name, strerror(-ret));
	}
	if (ret) {
		nl_close(*nl);
		*nl = NULL;
	}
	return ret;
}
