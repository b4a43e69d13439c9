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
#include "tlswall/validate.h"

struct boot {
	const struct cli *cli;
	struct session s;
	struct diag_list *diags;
	struct pipeline pl;
	bool policy_ok;
};

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
	if (session_read(&b->s, t->name, true) != 0)
		return EXIT_ERROR;
	if (guard_lockout(t, b->s.live, false, b->diags) != 0) {
		diag_error(b->diags, NULL, 0, "boot: not applying %s: the live ruleset stays", origin);
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
		if (ret == EXIT_OK)
			state_event(b->s.st, "boot: %s; applied the %s", why, label);
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
		ret = try_table(b, t, "the emergency ruleset");
	if (ret == EXIT_OK)
		state_event(b->s.st, "boot: %s; applied the emergency ruleset", why);
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
			state_event(b->s.st, "boot: %s; applied the policy %s", why, b->cli->policy_path);
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
	struct boot b = { cli, { 0 }, diag_list_alloc(), { 0 }, false };
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
	cli_print_diags(cli, b.diags);
	session_close(&b.s);
	pipeline_release(&b.pl);
	diag_list_free(b.diags);
	return ret;
}
