#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tlswall/cli.h"
#include "tlswall/commit.h"
#include "tlswall/deploy.h"
#include "tlswall/diag.h"
#include "tlswall/diff.h"
#include "tlswall/flush_watch.h"
#include "tlswall/guard.h"
#include "tlswall/nl.h"
#include "tlswall/pipeline.h"
#include "tlswall/record.h"
#include "tlswall/policy.h"
#include "tlswall/ruleset.h"
#include "tlswall/state.h"

/* The longest confirmation window: a day. Longer than that, nobody is watching. */
#define CONFIRM_MAX 86400

/* Tests only: stop between reading the kernel and committing, so a test can change the ruleset in that window.
 * Creates PATH.ready, then waits (at most 30 s) for PATH to appear. */
static void test_pause(void)
{
	const char *path = getenv("TLSWALL_TEST_PAUSE_FILE");
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	struct stat st;
	char ready[4096];
	FILE *f;

	if (!path || !*path)
		return;
	snprintf(ready, sizeof(ready), "%s.ready", path);
	f = fopen(ready, "w");
	if (f)
		fclose(f);
	for (int i = 0; i < 1500 && stat(path, &st) != 0; i++)
		nanosleep(&tick, NULL);
}

/* Tests only: hang right after the commit, so a test can SIGKILL tlswall at the worst moment. */
static void test_hang_after_commit(void)
{
	const char *v = getenv("TLSWALL_TEST_HANG_AFTER_COMMIT");

	if (v && *v) {
		printf("tlswall: test hook: committed, now hanging\n");
		fflush(stdout);
		sleep(60);
	}
}

static void warn_foreign(const struct diff *d)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].kind == CHANGE_RULE_DEL && d->v[i].rule->foreign)
			fprintf(stderr, "tlswall: warning: removing a rule in chain %s that tlswall did not make (handle %llu)\n",
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
static bool keep_as(struct state *st, const char *file, bool record_is_t, const struct rs_table *t, const char *name,
		    const char *origin, char **error)
{
	char *ignored = NULL;

	if (record_is_t && state_link(st, STATE_RECORD, file, &ignored))
		return true;
	free(ignored);
	return snapshot_save(st, file, t, name, origin, error);
}

/* Before the commit: what to roll back to, and (with --confirm) the timer that will. */
static bool prepare(struct state *st, const struct cli *cli, const struct apply_opts *o, const struct rs_table *planned,
		    const struct rs_table *live, bool from_record, struct pending *pend, char **error)
{
	if (!keep_as(st, STATE_PREVIOUS, from_record, live, planned->name, "the table before the last apply", error))
		return false;
	if (!o->confirm)
		return true;
	if (!snapshot_save(st, STATE_CANDIDATE, planned, planned->name, cli->policy_path, error))
		return false;
	pending_new(pend, cli->policy_path, planned->name, o->confirm);
	/* the timer exists before the commit does: there is no moment when the new rules stand without it */
	if (!timer_start(st, pend, o->confirm, error))
		return false;
	if (!pending_write(st, pend, error)) {
		timer_stop(pend);
		return false;
	}
	return true;
}

int apply_main(const struct cli *cli, int argc, char **argv)
{
	struct apply_opts o;
	struct pipeline pl;
	struct state *st = NULL;
	struct nl *nl = NULL;
	struct rs_table *live = NULL;
	struct diff d = { 0 };
	struct pending pend;
	uint32_t genid = 0;
	bool pending_exists = false, from_record = false;
	char *error = NULL;
	int ret = EXIT_ERROR;

	if (!parse(argc, argv, &o))
		return usage();
	if (o.boot)
		return boot_main(cli);

	/* load, validate, compile: a policy with any error never reaches the kernel */
	if (!pipeline_build(&pl, cli->policy_path, TRUST_REQUIRE)) {
		diag_print(pl.diags, stderr);
		fprintf(stderr, "%s: %zu error%s; nothing was changed\n", cli->policy_path, diag_errors(pl.diags),
			diag_errors(pl.diags) == 1 ? "" : "s");
		goto out;
	}
	if (cli->verbosity >= 0)
		diag_print(pl.diags, stderr);

	st = deploy_open(cli->state_dir, true, &pend, &pending_exists);
	if (!st)
		goto out;
	if (pending_exists && !o.dry_run) {
		fprintf(stderr,
			"tlswall: a change to table inet %s is waiting for confirmation (%s); run \"tlswall confirm\" or "
			"\"tlswall rollback\" first\n",
			pend.table, pend.policy);
		goto out;
	}
	if (live_read(pl.table->name, st, &nl, &live, &genid, &from_record))
		goto out;
	diff_tables(pl.table, live, &d);
	if (diff_empty(&d)) {
		/* an apply killed between its commit and saving last-known-good left it stale: this run finishes it */
		if (!o.dry_run && !o.confirm && !pending_exists &&
		    !keep_as(st, STATE_LKG, from_record, pl.table, pl.table->name, cli->policy_path, &error)) {
			fprintf(stderr, "tlswall: warning: the last-known-good copy was not saved: %s\n", error);
		}
		if (cli->verbosity >= 0)
			printf("tlswall: no changes: table inet %s already matches %s%s\n", pl.table->name,
			       cli->policy_path, o.confirm ? "; nothing to confirm" : "");
		ret = EXIT_OK;
		goto out;
	}
	if (guard_lockout(pl.table, live, o.force) != 0) {
		ret = EXIT_REFUSED;
		goto out;
	}
	guard_coexistence(nl, pl.table, stderr);
	if (cli->verbosity >= 0)
		flush_watch_warn(pl.table->name, stderr);
	if (o.dry_run) {
		diff_print(&d, pl.table, live, cli->verbosity > 0 ? 0 : 20, stdout);
		printf("tlswall: dry run, nothing applied: ");
		diff_print_summary(&d, stdout);
		ret = EXIT_CHANGES;
		goto out;
	}
	warn_foreign(&d);
	if (cli->verbosity > 0)
		diff_print(&d, pl.table, live, 0, stdout);
	if (!prepare(st, cli, &o, pl.table, live, from_record, &pend, &error)) {
		fprintf(stderr, "tlswall: %s; nothing was applied\n", error);
		state_remove(st, STATE_CANDIDATE);
		goto out;
	}
	test_pause();
	if (commit_table(nl, st, pl.table, &d, pl.table->name, genid, cli->policy_path, cli->verbosity > 0) != 0) {
		if (o.confirm) {
			timer_stop(&pend);
			state_remove(st, STATE_PENDING);
			state_remove(st, STATE_CANDIDATE);
		}
		goto out;
	}
	test_hang_after_commit();
	/* the record commit_table just wrote is exactly this table */
	if (!o.confirm && !keep_as(st, STATE_LKG, true, pl.table, pl.table->name, cli->policy_path, &error))
		fprintf(stderr, "tlswall: warning: applied, but the last-known-good copy was not saved: %s\n", error);
	if (cli->verbosity >= 0) {
		printf("tlswall: applied %s to table inet %s: ", cli->policy_path, pl.table->name);
		diff_print_summary(&d, stdout);
	}
	if (o.confirm) {
		char when[32];
		time_t deadline = (time_t)pend.deadline;
		struct tm tm;

		strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&deadline, &tm));
		printf("tlswall: run \"tlswall confirm\" within %u seconds, or the previous ruleset comes back at %s "
		       "(rollback timer: pid %d)\n",
		       o.confirm, when, (int)pend.timer_pid);
		state_event(st, "applied %s with --confirm %u (timer pid %d)", cli->policy_path, o.confirm,
			    (int)pend.timer_pid);
	}
	ret = EXIT_OK;
out:
	diff_release(&d);
	rs_table_free(live);
	nl_close(nl);
	state_close(st);
	free(error);
	pipeline_release(&pl);
	return ret;
}
