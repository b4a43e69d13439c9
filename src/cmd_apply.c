#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tlswall/cli.h"
#include "tlswall/diag.h"
#include "tlswall/diff.h"
#include "tlswall/flush_watch.h"
#include "tlswall/guard.h"
#include "tlswall/pending.h"
#include "tlswall/pipeline.h"
#include "tlswall/record.h"
#include "tlswall/ruleset.h"
#include "tlswall/session.h"
#include "tlswall/shard.h"
#include "tlswall/snapshot_file.h"
#include "tlswall/state.h"
#include "tlswall/table_hash.h"
#include "tlswall/test_hooks.h"
#include "tlswall/timer.h"
#include "tlswall/trail.h"

/* The longest confirmation window: a day. Longer than that, nobody is watching. */
#define CONFIRM_MAX 86400

static void warn_foreign(const struct diff *d, struct diag_list *diags)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].kind == CHANGE_RULE_DEL && d->v[i].rule->foreign)
			diag_warning(diags, NULL, 0, "removing a rule in chain %s that tlswall did not make (handle %llu)",
				     d->v[i].object, (unsigned long long)d->v[i].rule->handle);
}

struct apply_opts {
	bool dry_run, force, boot;
	unsigned confirm; /* seconds, 0: no confirmation */
};

static int usage(void)
{
	fprintf(stderr, "Usage: tlswall [-f FILE] apply [--dry-run] [--confirm SECONDS] [--force] [--boot]\n");
	return EXIT_ERROR;
}

static bool parse(int argc, char **argv, struct apply_opts *o)
{
	static const struct option options[] = {
		{ "dry-run", no_argument, NULL, 'n' }, { "confirm", required_argument, NULL, 'c' },
		{ "force", no_argument, NULL, 'F' },   { "boot", no_argument, NULL, 'B' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	optind = 0;
	while ((c = getopt_long(argc, argv, "+nc:", options, NULL)) != -1) {
		char *end;
		unsigned long v;

		switch (c) {
		case 'n':
			o->dry_run = true;
			break;
		case 'F':
			o->force = true;
			break;
		case 'B':
			o->boot = true;
			break;
		case 'c':
			v = strtoul(optarg, &end, 10);
			if (*end || end == optarg || v < 1 || v > CONFIRM_MAX) {
				fprintf(stderr, "tlswall apply: --confirm takes seconds, 1-%d, not \"%s\"\n", CONFIRM_MAX,
					optarg);
				return false;
			}
			o->confirm = (unsigned)v;
			break;
		default:
			return false;
		}
	}
	if (cli_extra_args("apply", argc, argv, optind))
		return false;
	if (o->boot && (o->dry_run || o->confirm)) {
		fprintf(stderr, "tlswall apply: --boot runs alone (no --dry-run, no --confirm)\n");
		return false;
	}
	return true;
}

/* Saves t as file; when the record already holds exactly t, gives the record a second name instead of writing
 * a million-element snapshot again. */
static bool keep_as(struct session *s, const char *file, bool record_is_t, const struct rs_table *t, const char *name,
		    const char *origin, char **error)
{
	char *ignored = NULL;

	if (record_is_t && state_link(s->st, STATE_RECORD, file, &ignored))
		return true;
	free(ignored);
	return snapshot_save(s->st, file, t, name, origin, NULL, s->diags, error);
}

/* Before the commit: what to roll back to, and (with --confirm) the timer that will. */
static bool prepare(struct session *s, const struct cli *cli, const struct apply_opts *o, const struct rs_table *planned,
		    struct pending *pend, char **error)
{
	char *policy;

	if (!keep_as(s, STATE_PREVIOUS, s->origin == LIVE_RECORD, s->live, planned->name, "the table before the last apply",
		     error))
		return false;
	if (!o->confirm)
		return true;
	if (!snapshot_save(s->st, STATE_CANDIDATE, planned, planned->name, cli->policy_path, NULL, s->diags, error))
		return false;
	/* absolute: confirm, rollback and the timer name it from wherever they run */
	policy = absolute_path_dup(cli->policy_path);
	pending_new(pend, policy, planned->name, o->confirm);
	free(policy);
	table_sha256(planned, pend->sha256);
	/* the timer exists before the commit does: there is no moment when the new rules stand without it */
	if (!timer_start(s->st, pend, o->confirm, error))
		return false;
	if (!pending_write(s->st, pend, error)) {
		timer_stop(pend);
		return false;
	}
	/* a host that goes down before the confirmation must boot knowing the change was not confirmed */
	state_sync(s->st);
	return true;
}

/* The audit trail of a change made (boot, and what failed, are told elsewhere). */
static void log_applied(const struct cli *cli, const struct apply_opts *o, struct session *s, const struct pending *pend)
{
	struct trail *t = trail_alloc("applied", "apply");

	trail_add_path(t, "policy", cli->policy_path);
	trail_add_commit(t, s);
	if (o->confirm) {
		char when[32];
		time_t deadline = (time_t)pend->deadline;
		struct tm tm;

		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S%z", localtime_r(&deadline, &tm));
		trail_add(t, "confirm", "%u", o->confirm);
		trail_add(t, "deadline", "%s", when);
		trail_add(t, "timer_pid", "%d", (int)pend->timer_pid);
	}
	if (o->force)
		trail_add(t, "force", "yes");
	trail_send(t, s->st, TRAIL_NOTICE);
}

/* An apply that changed nothing because it failed or was refused (a dry run is not told). */
static void log_not_applied(const struct cli *cli, const struct apply_opts *o, struct state *st,
			    const struct rs_table *planned, struct diag_list *diags, int exit_code)
{
	struct trail *t = trail_alloc(exit_code == EXIT_REFUSED ? "refused" : "apply_failed", "apply");
	char sha[TABLE_HASH_LEN];

	trail_add_path(t, "policy", cli->policy_path);
	if (planned) {
		table_sha256(planned, sha);
		trail_add(t, "table", "%s", planned->name);
		trail_add(t, "sha256", "%s", sha);
	}
	if (o->force)
		trail_add(t, "force", "yes");
	trail_add_errors(t, diags, 0);
	trail_send(t, st, exit_code == EXIT_REFUSED ? TRAIL_WARNING : TRAIL_ERROR);
}

static void print_confirm_deadline(const struct apply_opts *o, const struct pending *pend)
{
	char when[32];
	time_t deadline = (time_t)pend->deadline;
	struct tm tm;

	strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&deadline, &tm));
	printf("tlswall: run \"tlswall confirm\" within %u seconds, or the previous ruleset comes back at %s "
	       "(rollback timer: pid %d)\n",
	       o->confirm, when, (int)pend->timer_pid);
}

/* The summary line of a change as the admin wrote the policy (lists whole, not their shards). */
static void print_summary(const struct shard_view *view)
{
	if (view->layout_only)
		printf("the lists are unchanged; the shards of long lists are laid out anew\n");
	else
		diff_print_summary(view->d, stdout);
}

/* How often apply reads, compares and commits again when another program committed in between. */
#define APPLY_ATTEMPTS 3

enum attempt {
	APPLIED,
	AGAIN, /* someone committed between the read and the commit: nothing was applied */
	FAILED,
};

/* Withdraws what prepare() set up, after a commit that did not happen. */
static void unprepare(struct session *s, const struct apply_opts *o, const struct pending *pend)
{
	if (!o->confirm)
		return;
	timer_stop(pend);
	state_remove(s->st, STATE_PENDING);
	state_remove(s->st, STATE_CANDIDATE);
}

/* The changes of d are new (diff_tables found some): guard, keep what to roll back to, commit, report. */
static enum attempt commit_changes(const struct cli *cli, const struct apply_opts *o, const struct rs_table *planned,
				   struct session *s, const struct diff *d, int *exit_code)
{
	struct pending pend;
	struct shard_view view;
	char *error = NULL;
	int ret;

	*exit_code = EXIT_ERROR;
	if (guard_lockout(planned, s->live, d, o->force, s->diags) != 0) {
		*exit_code = EXIT_REFUSED;
		return FAILED;
	}
	if (o->dry_run) {
		shard_view_diff(&view, d, planned, s->live);
		diff_print(view.d, view.planned, view.live, cli->verbosity > 0 ? 0 : 20, stdout);
		printf("tlswall: dry run, nothing applied: ");
		print_summary(&view);
		shard_view_release(&view);
		*exit_code = EXIT_CHANGES;
		return APPLIED;
	}
	if (!prepare(s, cli, o, planned, &pend, &error)) {
		diag_error(s->diags, NULL, 0, "%s; nothing was applied", error);
		state_remove(s->st, STATE_CANDIDATE);
		free(error);
		return FAILED;
	}
	test_hook_pause();
	ret = session_commit(s, planned, d, cli->policy_path);
	if (ret) {
		unprepare(s, o, &pend);
		return ret == -ERESTART ? AGAIN : FAILED;
	}
	test_hook_hang_after_commit();
	warn_foreign(d, s->diags);
	if (cli->verbosity > 0) {
		shard_view_diff(&view, d, planned, s->live);
		diff_print(view.d, view.planned, view.live, 0, stdout);
		shard_view_release(&view);
		printf("tlswall: committed one transaction of %zu messages (%zu bytes, %s) against generation %u\n",
		       s->sent.messages, s->sent.bytes, s->sent.delta ? "elements only" : "whole table", s->genid - 1);
	}
	/* the record the commit just wrote is exactly this table */
	if (!o->confirm && !keep_as(s, STATE_LKG, true, planned, planned->name, cli->policy_path, &error))
		diag_warning(s->diags, NULL, 0, "applied, but the last-known-good copy was not saved: %s", error);
	if (cli->verbosity >= 0) {
		printf("tlswall: applied %s to table inet %s: ", cli->policy_path, planned->name);
		shard_print_summary(d, stdout);
	}
	if (o->confirm)
		print_confirm_deadline(o, &pend);
	log_applied(cli, o, s, &pend);
	free(error);
	*exit_code = EXIT_OK;
	return APPLIED;
}

static void no_changes(const struct cli *cli, const struct apply_opts *o, const struct rs_table *planned,
		       struct session *s)
{
	char *error = NULL;

	/* an apply killed between its commit and saving last-known-good left it stale: this run finishes it */
	if (!o->dry_run && !o->confirm &&
	    !keep_as(s, STATE_LKG, s->origin == LIVE_RECORD, planned, planned->name, cli->policy_path, &error))
		diag_warning(s->diags, NULL, 0, "the last-known-good copy was not saved: %s", error);
	free(error);
	if (cli->verbosity >= 0)
		printf("tlswall: no changes: table inet %s already matches %s%s\n", planned->name, cli->policy_path,
		       o->confirm ? "; nothing to confirm" : "");
}

/* Everything after the policy compiled: read the kernel, compare, guard, keep what to roll back to, commit. The
 * coexistence guard reads other tools' tables, which can take a while: it runs before the read that the commit's
 * generation guard is taken from, so that their commits do not fall into that window. */
static int apply_planned(const struct cli *cli, const struct apply_opts *o, struct pipeline *pl, struct session *s)
{
	const struct rs_table *planned = pl->logical;
	unsigned laid_out_for = 0;

	bool coexistence_checked = false;
	int exit_code = EXIT_ERROR;

	if (!o->dry_run && session_pending_blocks(s))
		return EXIT_ERROR;
	for (int attempt = 0; attempt < APPLY_ATTEMPTS;) {
		size_t mark = diag_count(s->diags);
		enum attempt a;
		struct diff d;

		if (session_read(s, planned->name, true))
			return EXIT_ERROR;
		/* the shards keep the boundaries the kernel has, so that a change touches only the shards it changes */
		if (s->reads != laid_out_for) {
			pipeline_layout(pl, s->live);
			laid_out_for = s->reads;
		}
		planned = pl->table;
		diff_tables(planned, s->live, &d);
		if (diff_empty(&d)) {
			diff_release(&d);
			no_changes(cli, o, planned, s);
			return EXIT_OK;
		}
		if (!coexistence_checked) {
			diff_release(&d);
			guard_coexistence(planned, s->diags);
			flush_watch_report(planned->name, s->diags);
			coexistence_checked = true;
			continue;
		}
		a = commit_changes(cli, o, planned, s, &d, &exit_code);
		diff_release(&d);
		if (a != AGAIN || ++attempt == APPLY_ATTEMPTS)
			break;
		diag_forget_after(s->diags, mark); /* nothing was applied; it is tried again */
	}
	return exit_code;
}

int apply_main(const struct cli *cli, int argc, char **argv)
{
	struct apply_opts o;
	struct pipeline pl;
	struct session s;
	int ret = EXIT_ERROR;

	if (!parse(argc, argv, &o))
		return usage();
	if (o.boot)
		return boot_main(cli);

	/* load, validate, compile: a policy with any error never reaches the kernel */
	if (!pipeline_build_logical(&pl, cli->policy_path, TRUST_REQUIRE, cli->state_dir)) {
		/* to syslog only: the state directory is not opened for a policy that never got that far */
		if (!o.dry_run)
			log_not_applied(cli, &o, NULL, NULL, pl.diags, EXIT_ERROR);
		cli_print_diags(cli, pl.diags);
		fprintf(stderr, "%s: %zu error%s; nothing was changed\n", cli->policy_path, diag_errors(pl.diags),
			diag_errors(pl.diags) == 1 ? "" : "s");
		pipeline_release(&pl);
		return EXIT_ERROR;
	}
	if (session_open(&s, cli->state_dir, SESSION_STATE | SESSION_LOCK, pl.diags) == 0)
		ret = apply_planned(cli, &o, &pl, &s);
	if (ret != EXIT_OK && !o.dry_run)
		log_not_applied(cli, &o, s.st, pl.table, pl.diags, ret);
	cli_print_diags(cli, pl.diags);
	session_close(&s);
	pipeline_release(&pl);
	return ret;
}
