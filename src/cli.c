/* Helpers every verb shares (the verb table itself is in main.c). */
#include <stdio.h>
#include <stdlib.h>

#include "tlswall/cli.h"
#include "tlswall/config.h"
#include "tlswall/diag.h"
#include "tlswall/policy.h"
#include "tlswall/util.h"

bool cli_extra_args(const char *verb, int argc, char **argv, int first)
{
	if (first >= argc)
		return false;
	fprintf(stderr, "tlswall %s: unexpected argument \"%s\"\n", verb, argv[first]);
	return true;
}

char *cli_table_name(const struct cli *cli)
{
	struct diag_list *quiet = diag_list_alloc();
	struct policy *p = config_load_file(cli->policy_path, TRUST_WARN, quiet);
	char *name = x_strdup(p && p->table ? p->table : POLICY_DEFAULT_TABLE);

	policy_free(p);
	diag_list_free(quiet);
	return name;
}

void cli_print_diags(const struct cli *cli, struct diag_list *diags)
{
	if (cli->verbosity >= 0)
		diag_print(diags, stderr);
	else
		diag_print_errors(diags, stderr);
}
