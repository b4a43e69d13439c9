#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "default_policy.h"
#include "tlswall/cli.h"
#include "tlswall/compile.h"
#include "tlswall/config.h"
#include "tlswall/diag.h"
#include "tlswall/guard.h"
#include "tlswall/install.h"
#include "tlswall/pipeline.h"
#include "tlswall/policy.h"
#include "tlswall/ruleset.h"
#include "tlswall/session.h"
#include "tlswall/snapshot.h"
#include "tlswall/snapshot_file.h"
#include "tlswall/state.h"
#include "tlswall/table_hash.h"
#include "tlswall/trail.h"
#include "tlswall/validate.h"

#define EMERGENCY_ORIGIN "the built-in default policy, applied as the emergency ruleset"

struct boot {
	const struct cli *cli;
	struct session s;
	struct diag_list *diags;
	struct pipeline pl;
	bool policy_ok;
	bool installed; /* something was applied (or found already in place) */
};

/* The audit trail of what boot installed: event "applied" (the policy), "fallback" (last-known-good or the
 * emergency ruleset instead of a broken policy) or "rolled_back" (an unconfirmed change undone). */
static void log_installed(struct boot *b, const char *event, const char *why, const char *what)
{
	enum trail_level level = strcmp(event, "applied") == 0 ? TRAIL_NOTICE : TRAIL_WARNING;
	struct trail *t;

	b->installed = true;
	/* the policy already in place (a reload of nftables.service that flushed nothing) is not a change; a fallback
	 * always says so */
	if (level == TRAIL_NOTICE && b->s.sent.unchanged)
		return;
	t = trail_alloc(event, "boot");
	trail_add(t, "reason", "%s", why ? why : "");
	trail_add_path(t, "policy", b->cli->policy_path);
	if (b->s.pending_exists) {
		trail_add_path(t, "unconfirmed", b->s.pending.policy);
		trail_add(t, "unconfirmed_sha256", "%s", b->s.pending.sha256);
	}
	trail_add(t, "installed", "%s", what ? what : "");
	trail_add_commit(t, &b->s);
	trail_send(t, b->s.st, level);
}

/* Refused (the lockout guard) or failed: what was tried, and the errors since `from`. */
static void log_not_installed(struct boot *b, const char *event, const struct rs_table *t, const char *origin,
			      size_t from)
{
	struct trail *tr = trail_alloc(event, "boot");
	char sha[TABLE_HASH_LEN];

	trail_add_path(tr, "policy", b->cli->policy_path);
	if (t) {
		table_sha256(t, sha);
		trail_add(tr, "installing", "%s", origin);
		trail_add(tr, "table", "%s", t->name);
		trail_add(tr, "sha256", "%s", sha);
	}
	trail_add_errors(tr, b->diags, from);
	trail_send(tr, b->s.st, strcmp(event, "refused") == 0 ? TRAIL_WARNING : TRAIL_ERROR);
}

/* The built-in default policy, compiled: the host's last line of defence. */
static struct rs_table *emergency_table(const char *table)
{
	struct diag_list *d = diag_list_alloc();
	struct policy *p = config_load_string(default_policy_text, "built-in default policy", d);
	struct rs_table *t = NULL;

	if (p) {
		free(p->table);
		p->table = x_strdup(table);
		validate_policy(p, d);
		if (!diag_errors(d))
			t = compile_policy(p);
	}
	policy_free(p);
	diag_list_free(d);
	return t;
}

/* Installs t unless that would cut a connection established now: at a real boot there is none, but "systemctl
 * restart" on a running host runs this same command, over the admin's SSH session. */
static int try_table(struct boot *b, const struct rs_table *t, const char *origin)
{
	size_t mark = diag_count(b->diags);

	if (session_read(&b->s, t->name, true) != 0)
		return EXIT_ERROR;
	if (guard_lockout(t, b->s.live, NULL, false, b->diags) != 0) {
		diag_error(b->diags, NULL, 0, "boot: not applying %s: the live ruleset stays", origin);
		log_not_installed(b, "refused", t, origin, mark);
		return EXIT_REFUSED;
	}
	return install_table(&b->s, t, t->name, origin) == 0 ? EXIT_OK : EXIT_ERROR;
}

/* A saved ruleset: never "no table", which would leave the host open. */
static int try_snapshot(struct boot *b, const char *file, const char *label, const char *why)
{
	struct rs_table *t = NULL;
	struct snapshot_info info;
	char *error = NULL;
	int ret = EXIT_ERROR;

	if (!b->s.st || !state_exists(b->s.st, file))
		return EXIT_ERROR;
	if (!snapshot_load(b->s.st, file, &t, &info, &error)) {
		diag_error(b->diags, NULL, 0, "boot: %s", error);
		free(error);
		return EXIT_ERROR;
	}
	if (t) {
		fprintf(stderr, "tlswall: boot: %s; applying the %s\n", why, label);
		ret = try_table(b, t, info.origin ? info.origin : label);
		if (ret == EXIT_OK) {
			char *what = x_asprintf("the %s (%s)", label, info.origin && *info.origin ? info.origin : "?");

			log_installed(b, b->s.pending_exists || b->s.pending_damaged ? "rolled_back" : "fallback", why, what);
			free(what);
		}
		else if (ret == EXIT_ERROR)
			diag_error(b->diags, NULL, 0, "boot: the %s could not be applied", label);
	}
	rs_table_free(t);
	snapshot_info_release(&info);
	return ret;
}

static int try_emergency(struct boot *b, const char *why)
{
	char *table = cli_table_name(b->cli);
	struct rs_table *t = emergency_table(table);
	int ret = EXIT_ERROR;

	fprintf(stderr, "tlswall: boot: %s and no last-known-good ruleset works; applying the emergency ruleset (the "
			"built-in default policy: loopback, established, essential ICMP, and the six TLS ports only)\n",
		why);
	if (t)
		ret = try_table(b, t, EMERGENCY_ORIGIN);
	if (ret == EXIT_OK)
		log_installed(b, "fallback", why, "the emergency ruleset (the built-in default policy)");
	else if (ret == EXIT_ERROR)
		diag_error(b->diags, NULL, 0, "boot: the emergency ruleset could not be applied either");
	rs_table_free(t);
	free(table);
	return ret;
}

static int try_policy(struct boot *b)
{
	char *error = NULL;
	int ret = try_table(b, b->pl.table, b->cli->policy_path);

	if (ret != EXIT_OK)
		return ret;
	log_installed(b, "applied", NULL, NULL);
	if (b->s.st && !snapshot_save(b->s.st, STATE_LKG, b->pl.table, b->pl.table->name, b->cli->policy_path, NULL,
				      b->diags, &error))
		diag_warning(b->diags, NULL, 0, "boot: the last-known-good copy was not saved: %s", error);
	free(error);
	if (b->cli->verbosity >= 0)
		printf("tlswall: boot: applied %s to table inet %s\n", b->cli->policy_path, b->pl.table->name);
	return EXIT_OK;
}

/* Not the policy: last-known-good, else the emergency ruleset. A failure for the exit status either way, so that the
 * boot's journal shows it. A refusal (connections would be cut) keeps the live ruleset and says so. */
static int fall_back(struct boot *b, const char *why)
{
	int ret = try_snapshot(b, STATE_LKG, "last-known-good ruleset", why);

	if (ret == EXIT_ERROR)
		ret = try_emergency(b, why);
	return ret == EXIT_REFUSED ? EXIT_REFUSED : EXIT_ERROR;
}

/* A change was still waiting for confirmation when the host went down: it is not trusted. Its predecessor comes
 * back (last-known-good, or the table from before the change); when the change was the first one ever (its
 * predecessor is no table at all), the policy on disk, if it passes every check, rather than the emergency ruleset,
 * which would be stricter than both and could shut out the admin. */
static int boot_after_unconfirmed(struct boot *b)
{
	static const char why[] = "a change was still waiting for confirmation when the host went down";
	int ret = try_snapshot(b, STATE_LKG, "last-known-good ruleset", why);

	if (ret == EXIT_ERROR)
		ret = try_snapshot(b, STATE_PREVIOUS, "ruleset from before that change", why);
	if (ret == EXIT_ERROR && b->policy_ok) {
		fprintf(stderr, "tlswall: boot: %s, and it was the first: applying the policy %s\n", why,
			b->cli->policy_path);
		ret = try_table(b, b->pl.table, b->cli->policy_path);
		if (ret == EXIT_OK)
			log_installed(b, "applied", why, NULL);
	}
	if (ret == EXIT_ERROR)
		ret = try_emergency(b, why);
	state_remove(b->s.st, STATE_PENDING);
	state_remove(b->s.st, STATE_CANDIDATE);
	return ret == EXIT_REFUSED ? EXIT_REFUSED : EXIT_ERROR;
}

/* apply --boot: the policy if it is valid, else last-known-good, else the emergency ruleset. The host never comes up
 * without the table because a file was broken; every fallback is reported and exits non-zero. */
int boot_main(const struct cli *cli)
{
	struct boot b = { cli, { 0 }, diag_list_alloc(), { 0 }, false, false };
	int ret;

	/* without the state directory there is no last-known-good: the policy, or the emergency ruleset */
	session_open(&b.s, cli->state_dir, SESSION_STATE_IF_USABLE | SESSION_LOCK, b.diags);
	if (b.s.state_error)
		fprintf(stderr, "tlswall: boot: %s\n", b.s.state_error);
	b.policy_ok = pipeline_build(&b.pl, cli->policy_path, TRUST_REQUIRE);
	diag_print(b.pl.diags, stderr);
	if (b.s.pending_exists || b.s.pending_damaged) {
		ret = boot_after_unconfirmed(&b);
	} else if (!b.policy_ok) {
		char *why = x_asprintf("the policy %s is missing or invalid (%zu error%s)", cli->policy_path,
				       diag_errors(b.pl.diags), diag_errors(b.pl.diags) == 1 ? "" : "s");

		ret = fall_back(&b, why);
		free(why);
	} else {
		ret = try_policy(&b);
		if (ret == EXIT_ERROR)
			ret = fall_back(&b, "the kernel refused the policy");
	}
	if (!b.installed && ret == EXIT_ERROR)
		log_not_installed(&b, "apply_failed", NULL, NULL, 0);
	cli_print_diags(cli, b.diags);
	session_close(&b.s);
	pipeline_release(&b.pl);
	diag_list_free(b.diags);
	return ret;
}
