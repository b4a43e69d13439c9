/* What every verb shares: global options, exit codes, and the verbs' entry points. */
#ifndef TLSWALL_CLI_H
#define TLSWALL_CLI_H

#include <stdbool.h>
#include <stdio.h>

struct diag_list;

#ifndef TLSWALL_VERSION
#define TLSWALL_VERSION "0.1.0"
#endif

#ifndef TLSWALL_SYSCONFDIR
#define TLSWALL_SYSCONFDIR "/etc"
#endif

#define DEFAULT_POLICY_PATH TLSWALL_SYSCONFDIR "/tlswall/tlswall.conf"

enum exit_code {
	EXIT_OK = 0,      /* success; no changes */
	EXIT_ERROR = 1,   /* bad policy, kernel refused, I/O */
	EXIT_CHANGES = 2, /* diff or apply --dry-run found changes */
	EXIT_REFUSED = 3, /* refused for safety unless --force */
	EXIT_FINDINGS = 4, /* audit found something at warning level or above */
};

struct cli {
	const char *policy_path;
	const char *state_dir; /* NULL: $TLSWALL_STATE_DIR or the built-in default */
	int verbosity;         /* -1 quiet, 0 normal, 1 verbose */
};

/* The table the policy names, or the default when the policy cannot be read (show and remove must work even
 * when the policy is broken). */
char *cli_table_name(const struct cli *cli);

/* Each verb: argv[0] is the verb's name, its own options follow. */
int check_main(const struct cli *cli, int argc, char **argv);
int generate_main(const struct cli *cli, int argc, char **argv);
int services_main(const struct cli *cli, int argc, char **argv);
int help_main(const struct cli *cli, int argc, char **argv);
int apply_main(const struct cli *cli, int argc, char **argv);
int diff_main(const struct cli *cli, int argc, char **argv);
int show_main(const struct cli *cli, int argc, char **argv);
int remove_main(const struct cli *cli, int argc, char **argv);
int confirm_main(const struct cli *cli, int argc, char **argv);
int rollback_main(const struct cli *cli, int argc, char **argv);
int status_main(const struct cli *cli, int argc, char **argv);
int metrics_main(const struct cli *cli, int argc, char **argv);
int audit_main(const struct cli *cli, int argc, char **argv);
int rollback_timer_main(const struct cli *cli, int argc, char **argv);
/* apply --boot */
int boot_main(const struct cli *cli);

/* Prints a verb's diagnostics once, on stderr: errors always, warnings and notes unless -q. */
void cli_print_diags(const struct cli *cli, struct diag_list *diags);

void usage_print(FILE *out);
/* True, after saying so, when argv holds arguments from index first on that verb does not take. */
bool cli_extra_args(const char *verb, int argc, char **argv, int first);

#endif
