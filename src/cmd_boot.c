#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "default_policy.h"
#include "tlswall/cli.h"
#include "tlswall/compile.h"
#include "tlswall/config.h"
#include "tlswall/diag.h"
#include "tlswall/install.h"
#include "tlswall/pipeline.h"
#include "tlswall/policy.h"
#include "tlswall/ruleset.h"
#include "tlswall/session.h"
#include "tlswall/snapshot_file.h"
#include "tlswall/state.h"
#include "tlswall/validate.h"

/* The built-in default policy, compiled: the host's last line of defence at boot. */
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

static void apply_emergency(struct session *s, const struct cli *cli, const char *why)
{
	char *table = cli_table_name(cli);
	struct rs_table *t = emergency_table(table);

	fprintf(stderr, "tlswall: boot: %s and no last-known-good ruleset works; applying the emergency ruleset (the "
			"built-in default policy: loopback, established, essential ICMP, and the six TLS ports only)\n",
		why);
	if (t && install_table(s, t, table, "the emergency ruleset") == 0)
		state_event(s->st, "boot: %s; applied the emergency ruleset", why);
	else
		diag_error(s->diags, NULL, 0, "boot: the emergency ruleset could not be applied either");
	rs_table_free(t);
	free(table);
}

/* Whatever the policy could not be: last-known-good, else the emergency ruleset. Always a failure for the exit
 * status, so that the boot's journal shows it. */
static int fall_back(struct session *s, const struct cli *cli, const char *why)
{
	if (s->st && state_exists(s->st, STATE_LKG)) {
		fprintf(stderr, "tlswall: boot: %s; applying the last-known-good ruleset\n", why);
		if (install_snapshot(s, STATE_LKG) == 0) {
			state_event(s->st, "boot: %s; applied last-known-good", why);
			return EXIT_ERROR;
		}
		diag_error(s->diags, NULL, 0, "boot: the last-known-good ruleset could not be applied");
	}
	apply_emergency(s, cli, why);
	return EXIT_ERROR;
}

/* apply --boot: the policy if it is valid, else last-known-good, else the emergency ruleset. The host never comes up
 * without the table because a file was broken; every fallback is reported and exits non-zero. */
int boot_main(const struct cli *cli)
{
	struct pipeline pl = { 0 };
	struct diag_list *diags = diag_list_alloc();
	struct session s;
	char *error = NULL;
	int ret = EXIT_ERROR;

	/* without the state directory there is no last-known-good: the policy, or the emergency ruleset */
	session_open(&s, cli->state_dir, SESSION_STATE_IF_USABLE | SESSION_LOCK, diags);
	if (s.state_error)
		fprintf(stderr, "tlswall: boot: %s\n", s.state_error);
	if (s.pending_exists) {
		/* the host went down before the change was confirmed: that change is not trusted */
		state_remove(s.st, STATE_PENDING);
		state_remove(s.st, STATE_CANDIDATE);
		ret = fall_back(&s, cli, "a change was still waiting for confirmation when the host went down");
		goto out;
	}
	if (!pipeline_build(&pl, cli->policy_path, TRUST_REQUIRE)) {
		char *why = x_asprintf("the policy %s is missing or invalid (%zu error%s)", cli->policy_path,
				       diag_errors(pl.diags), diag_errors(pl.diags) == 1 ? "" : "s");

		diag_print(pl.diags, stderr);
		ret = fall_back(&s, cli, why);
		free(why);
		goto out;
	}
	diag_print(pl.diags, stderr);
	if (install_table(&s, pl.table, pl.table->name, cli->policy_path) != 0) {
		ret = fall_back(&s, cli, "the kernel refused the policy");
		goto out;
	}
	if (s.st && !snapshot_save(s.st, STATE_LKG, pl.table, pl.table->name, cli->policy_path, diags, &error))
		diag_warning(diags, NULL, 0, "boot: the last-known-good copy was not saved: %s", error);
	if (cli->verbosity >= 0)
		printf("tlswall: boot: applied %s to table inet %s\n", cli->policy_path, pl.table->name);
	ret = EXIT_OK;
out:
	cli_print_diags(cli, diags);
	free(error);
	session_close(&s);
	pipeline_release(&pl);
	diag_list_free(diags);
	return ret;
}
