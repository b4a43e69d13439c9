#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tlswall/audit.h"
#include "tlswall/audit_report.h"
#include "tlswall/cli.h"
#include "tlswall/diag.h"
#include "tlswall/emit_json.h"
#include "tlswall/listeners.h"
#include "tlswall/pipeline.h"
#include "tlswall/policy.h"
#include "tlswall/probe.h"
#include "tlswall/published.h"
#include "tlswall/util.h"

#define DEFAULT_TIMEOUT_MS 2000
#define DEFAULT_EXPIRY_DAYS 30

static void usage(void)
{
	fprintf(stderr, "Usage: tlswall [-f FILE] audit [--json] [--no-probe] [--timeout SECONDS] [--expiry DAYS] "
			"[--name NAME]\n");
}

static bool parse_timeout(const char *s, unsigned *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0.1 && v <= 60))
		return false;
	*ms = (unsigned)(v * 1000 + 0.5);
	return true;
}

static bool parse_days(const char *s, unsigned *days)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > 3650)
		return false;
	*days = (unsigned)v;
	return true;
}

static long long elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (long long)(t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

int audit_main(const struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },	     { "no-probe", no_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' }, { "expiry", required_argument, NULL, 'e' },
		{ "name", required_argument, NULL, 'N' },    { NULL, 0, NULL, 0 },
	};
	struct pipeline pl;
	struct listener *ls = NULL;
	struct published_list pub = { 0 };
	struct audit *a = NULL;
	struct timespec t0;
	char host[256] = "";
	const char *name = NULL;
	bool json = false, probe = true;
	unsigned timeout_ms = DEFAULT_TIMEOUT_MS, expiry_days = DEFAULT_EXPIRY_DAYS;
	size_t nls = 0;
	int ret = EXIT_ERROR, c, err;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+jn", options, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'n':
			probe = false;
			break;
		case 't':
			if (!parse_timeout(optarg, &timeout_ms)) {
				fprintf(stderr, "tlswall audit: --timeout \"%s\": expected seconds between 0.1 and 60\n",
					optarg);
				return EXIT_ERROR;
			}
			break;
		case 'e':
			if (!parse_days(optarg, &expiry_days)) {
				fprintf(stderr, "tlswall audit: --expiry \"%s\": expected days between 0 and 3650\n", optarg);
				return EXIT_ERROR;
			}
			break;
		case 'N':
			name = optarg;
			break;
		default:
			usage();
			return EXIT_ERROR;
		}
	}
	if (cli_extra_args("audit", argc, argv, optind))
		return EXIT_ERROR;
	if (!name && gethostname(host, sizeof(host) - 1) == 0 && host[0])
		name = host;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* the policy compiled, never the kernel: the audit asks what this policy lets in, and touches no ruleset */
	if (!pipeline_build(&pl, cli->policy_path, TRUST_WARN))
		goto out;
	err = listeners_read(&ls, &nls);
	if (err) {
		diag_error(pl.diags, NULL, 0, "cannot list this host's sockets (sock_diag): %s", strerror(-err));
		goto out;
	}
	err = published_read(&pub);
	if (err)
		fprintf(stderr, "tlswall: warning: cannot read the other tables for published ports: %s\n", strerror(-err));
	a = audit_classify(&pl, ls, nls, &pub);
	if (probe) {
		struct probe_options po = { timeout_ms, name, !json && isatty(STDOUT_FILENO) };

		if (!probe_all(a, &po))
			goto out;
	}
	{
		struct judge_options jo = { expiry_days, timeout_ms, name };
		struct report_options ro = { cli->policy_path, timeout_ms, expiry_days, name,
					     (unsigned long)elapsed_ms(&t0) };

		audit_judge(a, &jo);
		if (json)
			audit_report_json(a, &ro, stdout);
		else
			audit_report_text(a, &ro, stdout);
	}
	ret = audit_worst(a) >= (int)SEV_WARNING ? EXIT_FINDINGS : EXIT_OK;
out:
	if (ret == EXIT_ERROR && json)
		emit_json_failure(pl.policy ? pl.policy->table : NULL, pl.diags, stdout);
	else if (ret == EXIT_ERROR)
		diag_print_errors(pl.diags, stderr);
	if (ret == EXIT_ERROR && !json && !pl.table)
		fprintf(stderr, "%s: the policy has errors; nothing was audited\n", cli->policy_path);
	audit_free(a);
	pipeline_release(&pl);
	return ret;
}
