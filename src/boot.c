#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "default_policy.h"
#include "tlswall/cli.h"
#include "tlswall/compile.h"
#include "tlswall/config.h"
#include "tlswall/deploy.h"
#include "tlswall/diag.h"
#include "tlswall/pipeline.h"
#include "tlswall/policy.h"
#include "tlswall/ruleset.h"
#include "tlswall/snapshot.h"
#include "tlswall/state.h"
#include "tlswall/validate.h"

#define EMERGENCY_ORIGIN "the built-in default policy, applied as the emergency ruleset"

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

static int fall_back(struct state *st, const struct cli *cli, const char *why)
{
	char *table = cli_table_name(cli);
	struct rs_table *t;
	int ret;

	if (state_exists(st, STATE_LKG)) {
		fprintf(stderr, "tlswall: boot: %s; applying the last-known-good ruleset\n", why);
		if (deploy_restore(st, STATE_LKG, cli->verbosity > 0) == 0) {
			state_event(st, "boot: %s; applied last-known-good", why);
			free(table);
			return EXIT_ERROR;
		}
		fprintf(stderr, "tlswall: boot: the last-known-good ruleset could not be applied\n");
	}
	fprintf(stderr, "tlswall: boot: %s and no last-known-good ruleset works; applying the emergency ruleset (the "
			"built-in default policy: loopback, established, essential ICMP, and the six TLS ports only)\n",
		why);
	t = emergency_table(table);
	ret = t ? deploy_install(st, t, table, EMERGENCY_ORIGIN, cli->verbosity > 0) : -1;
	if (ret == 0)
		state_event(st, "boot: %s; applied the emergency ruleset", why);
	else
		fprintf(stderr, "tlswall: boot: the emergency ruleset could not be applied either\n");
	rs_table_free(t);
	free(table);
	return EXIT_ERROR;
}

/* apply --boot: the policy if it is valid, else last-known-good, else the emergency ruleset. The host never comes up
 * without the table because a file was broken; every fallback is reported and exits non-zero. */
int boot_main(const struct cli *cli)
{
	struct pipeline pl = { 0 };
	struct state *st;
	struct pending p;
	bool pending = false;
	char *error = NULL;
	int ret = EXIT_ERROR;

	st = state_open(cli->state_dir, &error);
	if (!st || !state_lock(st, 60, &error)) {
		fprintf(stderr, "tlswall: boot: %s\n", error);
		free(error);
		error = NULL;
		/* without the state directory there is no last-known-good: the policy or the emergency ruleset */
	}
	if (st && !pending_read(st, &p, &pending, &error)) {
		fprintf(stderr, "tlswall: boot: %s\n", error);
		free(error);
		error = NULL;
	}
	if (st && pending) {
		/* the host went down before the change was confirmed: that change is not trusted */
		state_remove(st, STATE_PENDING);
		state_remove(st, STATE_CANDIDATE);
		ret = fall_back(st, cli, "a change was still waiting for confirmation when the host went down");
		goto out;
	}
	if (!pipeline_build(&pl, cli->policy_path, TRUST_REQUIRE)) {
		char *why = x_asprintf("the policy %s is missing or invalid (%zu error%s)", cli->policy_path,
				       diag_errors(pl.diags), diag_errors(pl.diags) == 1 ? "" : "s");

		diag_print(pl.diags, stderr);
		if (st) {
			ret = fall_back(st, cli, why);
		} else {
			char *table = cli_table_name(cli);
			struct rs_table *t = emergency_table(table);

			fprintf(stderr, "tlswall: boot: %s; applying the emergency ruleset\n", why);
			if (t)
				deploy_install(st, t, table, EMERGENCY_ORIGIN, cli->verbosity > 0);
			rs_table_free(t);
			free(table);
		}
		free(why);
		goto out;
	}
	diag_print(pl.diags, stderr);
	if (deploy_install(st, pl.table, pl.table->name, cli->policy_path, cli->verbosity > 0) != 0) {
		ret = st ? fall_back(st, cli, "the kernel refused the policy") : EXIT_ERROR;
		goto out;
	}
	if (st && !snapshot_save(st, STATE_LKG, pl.table, pl.table->name, cli->policy_path, &error))
		fprintf(stderr, "tlswall: boot: warning: the last-known-good copy was not saved: %s\n", error);
	if (cli->verbosity >= 0)
		printf("tlswall: boot: applied %s to table inet %s\n", cli->policy_path, pl.table->name);
	ret = EXIT_OK;
out:
	free(error);
	pipeline_release(&pl);
	state_close(st);
	return ret;
}
