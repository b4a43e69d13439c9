#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlswall/cli.h"
#include "tlswall/state.h"
#include "tlswall/util.h"

static const struct verb {
	const char *name;
	int (*main)(const struct cli *cli, int argc, char **argv);
	const char *options;     /* the verb's own options, for the usage text */
	const char *description; /* NULL: internal, not listed */
} verbs[] = {
	{ "check", check_main, "[--json] [--live]", "validate the policy and list what it opens (--live: against this host)" },
	{ "generate", generate_main, "", "print an nft script that installs the policy (load it with nft -f)" },
	{ "apply", apply_main, "[--dry-run] [--confirm SECONDS] [--force] [--boot]",
	  "make the kernel match the policy, in one transaction" },
	{ "diff", diff_main, "[--json]", "show what apply would change: planned vs the live table (exit 2: changes)" },
	{ "show", show_main, "[--json] [--table NAME]", "print the live table with per-service counters and drops" },
	{ "remove", remove_main, "", "delete tlswall's table (and nothing else)" },
	{ "confirm", confirm_main, "", "keep a change applied with --confirm (it becomes last-known-good)" },
	{ "rollback", rollback_main, "", "restore the ruleset from before the last apply, now" },
	{ "status", status_main, "[--json]", "say whether a confirmation is pending, and how long is left" },
	{ "metrics", metrics_main, "[--output FILE]",
	  "write Prometheus metrics (counters, drift, pending confirmation) for node_exporter's textfile collector" },
	{ "audit", audit_main, "[--json] [--no-probe] [--timeout SECONDS] [--expiry DAYS] [--name NAME]",
	  "list listening sockets against the policy and prove the allowed ones speak TLS (exit 4: findings)" },
	/* internal: the detached timer apply --confirm starts */
	{ "rollback-timer", rollback_timer_main, "TOKEN SECONDS", NULL },
	{ "services", services_main, "[SERVICE...]", "print the service catalogue, or the entries named" },
	{ "help", help_main, "", "show this help" },
};

void usage_print(FILE *out)
{
	fprintf(out,
		"Usage: tlswall [-f FILE] [-v|-q] VERB [ARGS]\n"
		"\n"
		"Allow inbound traffic only on TLS-secured service ports, through one nftables table.\n"
		"\n"
		"Verbs:\n");
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++) {
		if (!verbs[i].description)
			continue;
		fprintf(out, "  %-10s %s\n", verbs[i].name, verbs[i].description);
		if (*verbs[i].options)
			fprintf(out, "  %-10s   %s %s\n", "", verbs[i].name, verbs[i].options);
	}
	fprintf(out,
		"\n"
		"Options:\n"
		"  -f, --file FILE  policy file (default %s)\n"
		"      --state-dir DIR  state directory (default $TLSWALL_STATE_DIR or %s)\n"
		"  -v, --verbose    say more\n"
		"  -q, --quiet      print only errors\n"
		"  -h, --help       show this help\n"
		"  -V, --version    print the version\n"
		"\n"
		"Exit status: 0 success, 1 error, 2 changes found (diff), 3 refused for safety, 4 findings (audit).\n"
		"See tlswall(8) and tlswall.conf(5).\n",
		DEFAULT_POLICY_PATH, TLSWALL_STATEDIR);
}

int help_main(const struct cli *cli, int argc, char **argv)
{
	(void)cli;
	(void)argc;
	(void)argv;
	usage_print(stdout);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "file", required_argument, NULL, 'f' }, { "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },      { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },    { "state-dir", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli cli = { DEFAULT_POLICY_PATH, NULL, 0 };
	int c;

	/* line-buffered: reports on stdout and diagnostics on stderr stay in order when both go to one log */
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* A million-range list passes through a few arrays of about 15 MB (the file, the parsed list, the sets, the
	 * record). Kept in the heap once freed, each is reused by the next instead of being mapped afresh and faulted
	 * in page by page: a third of the page faults of an apply at that size. */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	/* '+': options stop at the verb, which parses its own */
	while ((c = getopt_long(argc, argv, "+f:vqhV", options, NULL)) != -1) {
		switch (c) {
		case 'f':
			cli.policy_path = optarg;
			break;
		case 'v':
			cli.verbosity = 1;
			break;
		case 'S':
			cli.state_dir = optarg;
			break;
		case 'q':
			cli.verbosity = -1;
			break;
		case 'h':
			usage_print(stdout);
			return EXIT_OK;
		case 'V':
			printf("tlswall %s\n", TLSWALL_VERSION);
			return EXIT_OK;
		default:
			usage_print(stderr);
			return EXIT_ERROR;
		}
	}
	if (optind >= argc) {
		usage_print(stderr);
		return EXIT_ERROR;
	}
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (strcmp(argv[optind], verbs[i].name) == 0) {
			optind++;
			return verbs[i].main(&cli, argc - optind + 1, argv + optind - 1);
		}
	fprintf(stderr, "tlswall: unknown verb \"%s\"; try \"tlswall help\"\n", argv[optind]);
	return EXIT_ERROR;
}
