#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/netfilter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tlswall/cli.h"
#include "tlswall/diag.h"
#include "tlswall/diff.h"
#include "tlswall/nl_decode.h"
#include "tlswall/pending.h"
#include "tlswall/pipeline.h"
#include "tlswall/prom.h"
#include "tlswall/ruleset.h"
#include "tlswall/service_counters.h"
#include "tlswall/session.h"
#include "tlswall/state.h"
#include "tlswall/table_hash.h"
#include "tlswall/timer.h"
#include "tlswall/trail.h"

/* The collector reads *.prom files: the temporary file is hidden and does not end in .prom until it is renamed. */
#define TMP_SUFFIX ".XXXXXX"

/* What one run of metrics found: the policy, the kernel, the state directory. */
struct scrape {
	const char *policy;
	bool policy_ok;
	char sha256[TABLE_HASH_LEN];
	const char *table;
	bool readable;                 /* the kernel's ruleset was read */
	uint32_t genid;
	const struct rs_table *live;   /* with its elements (from a dump or the record); NULL: no table */
	const struct rs_table *counted; /* with the kernel's counters; NULL: no table */
	int matches;                   /* live == planned: 1, 0; -1 not known */
	struct session *s;
};

static int usage(void)
{
	fprintf(stderr, "Usage: tlswall [-f FILE] metrics [--output FILE]\n");
	return EXIT_ERROR;
}

/* The directory part of path ("." for a bare name), and the name part. */
static char *dir_of(const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');

	*base = slash ? slash + 1 : path;
	if (!slash)
		return x_strdup(".");
	return slash == path ? x_strdup("/") : x_strndup(path, (size_t)(slash - path));
}

/* Before any work: the file's directory must exist and be one, and the name must name a file. */
static bool output_usable(const char *path, char **error)
{
	const char *base;
	char *dir = dir_of(path, &base);
	struct stat st;
	bool ok = false;

	if (!*base)
		*error = x_asprintf("cannot write metrics to %s: that names a directory, not a file", path);
	else if (stat(dir, &st) != 0)
		*error = x_asprintf("cannot write metrics to %s: directory %s: %s", path, dir,
				    errno == ENOENT ? "does not exist" : strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		*error = x_asprintf("cannot write metrics to %s: %s is not a directory", path, dir);
	else if (access(dir, W_OK | X_OK) != 0)
		*error = x_asprintf("cannot write metrics to %s: directory %s: %s", path, dir, strerror(errno));
	else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		*error = x_asprintf("cannot write metrics to %s: it is a directory", path);
	else
		ok = true;
	free(dir);
	return ok;
}

/* A temporary file in the same directory, synced, renamed over path: the collector reads the old file or the new
 * one, never half of one. Mode 0644: node_exporter does not run as root. */
static bool write_atomic(const char *path, const char *data, size_t len, char **error)
{
	const char *base;
	char *dir = dir_of(path, &base), *tmp = x_asprintf("%s/.%s" TMP_SUFFIX, dir, base);
	size_t done = 0;
	bool ok = false;
	int fd = mkstemp(tmp), dfd;

	if (fd < 0) {
		*error = x_asprintf("cannot create a temporary file in %s: %s", dir, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0644) != 0) {
		*error = x_asprintf("cannot chmod %s: %s", tmp, strerror(errno));
		goto out;
	}
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error = x_asprintf("cannot write %s: %s", tmp, strerror(errno));
			goto out;
		}
		done += (size_t)n;
	}
	if (fsync(fd) != 0) {
		*error = x_asprintf("cannot sync %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, path) != 0) {
		*error = x_asprintf("cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto out;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	ok = true;
out:
	if (fd >= 0)
		close(fd);
	if (fd >= 0 && !ok)
		unlink(tmp);
	free(tmp);
	free(dir);
	return ok;
}

/* "svc.imaps" -> imaps, service; "exempt.ssh" -> ssh, exemption; a chain someone added: its name, other */
static const char *service_of(const char *chain, const char **kind)
{
	if (strncmp(chain, "svc.", 4) == 0) {
		*kind = "service";
		return chain + 4;
	}
	if (strncmp(chain, "exempt.", 7) == 0) {
		*kind = "exemption";
		return chain + 7;
	}
	*kind = "other";
	return chain;
}

static void put_service(struct sbuf *sb, const char *name, uint64_t value, const struct scrape *m, const char *chain)
{
	const char *kind, *service = service_of(chain, &kind);

	prom_u64(sb, name, value, "table", m->table, "service", service, "kind", kind, NULL);
}

static void put_counters(struct sbuf *sb, const struct scrape *m)
{
	struct table_counters tc;
	bool checked = false;

	table_counters(m->counted, &tc);
	prom_family(sb, "tlswall_service_accepted_packets_total", "counter",
		    "Packets the service's or exemption's chain accepted: new connections and flows, since the table was "
		    "last replaced.");
	for (size_t i = 0; i < tc.nservices; i++)
		put_service(sb, "tlswall_service_accepted_packets_total", tc.services[i].packets, m,
			    tc.services[i].chain);
	prom_family(sb, "tlswall_service_accepted_bytes_total", "counter",
		    "Bytes of the packets the service's or exemption's chain accepted.");
	for (size_t i = 0; i < tc.nservices; i++)
		put_service(sb, "tlswall_service_accepted_bytes_total", tc.services[i].bytes, m, tc.services[i].chain);
	for (size_t i = 0; i < tc.nservices; i++)
		checked |= tc.services[i].checked;
	if (checked) {
		prom_family(sb, "tlswall_service_plaintext_dropped_packets_total", "counter",
			    "Packets dropped by the service's payload checks (require_tls, guard_credentials): plaintext "
			    "where TLS was required.");
		for (size_t i = 0; i < tc.nservices; i++)
			if (tc.services[i].checked)
				put_service(sb, "tlswall_service_plaintext_dropped_packets_total",
					    tc.services[i].plaintext_packets, m, tc.services[i].chain);
		prom_family(sb, "tlswall_service_plaintext_dropped_bytes_total", "counter",
			    "Bytes of the packets dropped by the service's payload checks.");
		for (size_t i = 0; i < tc.nservices; i++)
			if (tc.services[i].checked)
				put_service(sb, "tlswall_service_plaintext_dropped_bytes_total",
					    tc.services[i].plaintext_bytes, m, tc.services[i].chain);
	}
	prom_family(sb, "tlswall_dropped_packets_total", "counter",
		    "Packets the input chain dropped or rejected: invalid, denied, and whatever no entry accepted.");
	prom_u64(sb, "tlswall_dropped_packets_total", tc.dropped_packets, "table", m->table, NULL);
	prom_family(sb, "tlswall_dropped_bytes_total", "counter", "Bytes of the packets the input chain dropped or rejected.");
	prom_u64(sb, "tlswall_dropped_bytes_total", tc.dropped_bytes, "table", m->table, NULL);
	if (tc.forwarding) {
		prom_family(sb, "tlswall_forwarded_dropped_packets_total", "counter",
			    "Packets the forward chain dropped or rejected: new connections to published ports that the policy "
			    "refused.");
		prom_u64(sb, "tlswall_forwarded_dropped_packets_total", tc.forwarded_dropped_packets, "table", m->table,
			 NULL);
		prom_family(sb, "tlswall_forwarded_dropped_bytes_total", "counter",
			    "Bytes of the packets the forward chain dropped or rejected.");
		prom_u64(sb, "tlswall_forwarded_dropped_bytes_total", tc.forwarded_dropped_bytes, "table", m->table, NULL);
	}
	table_counters_release(&tc);
}

static void put_kernel(struct sbuf *sb, const struct scrape *m)
{
	prom_family(sb, "tlswall_ruleset_readable", "gauge",
		    "Whether the kernel's ruleset could be read (0: the table's metrics are missing; see tlswall status).");
	prom_i64(sb, "tlswall_ruleset_readable", m->readable, NULL);
	if (!m->readable)
		return;
	prom_family(sb, "tlswall_ruleset_generation", "gauge",
		    "The kernel's ruleset generation: every commit, by any program, increases it.");
	prom_i64(sb, "tlswall_ruleset_generation", m->genid, NULL);
	prom_family(sb, "tlswall_table_present", "gauge",
		    "Whether the table is in the kernel (0: tlswall filters nothing).");
	prom_i64(sb, "tlswall_table_present", m->live != NULL, "table", m->table, NULL);
	if (m->counted) {
		prom_family(sb, "tlswall_table_dormant", "gauge",
			    "Whether the table is dormant: present, but none of its rules applies.");
		prom_i64(sb, "tlswall_table_dormant", m->counted->dormant, "table", m->table, NULL);
	}
	if (m->matches >= 0) {
		prom_family(sb, "tlswall_table_matches_policy", "gauge",
			    "Whether the table in the kernel is the one the policy compiles to (what tlswall diff compares).");
		prom_i64(sb, "tlswall_table_matches_policy", m->matches, "table", m->table, "policy", m->policy, NULL);
	}
	if (m->counted)
		put_counters(sb, m);
}

/* The newest stamp of events among the audit trail's lines. */
static int64_t last_event(const struct trail_line *lines, size_t n, const char *const *events)
{
	for (size_t i = n; i-- > 0;)
		for (const char *const *e = events; *e; e++)
			if (lines[i].time && strcmp(lines[i].event, *e) == 0)
				return lines[i].time;
	return 0;
}

static void put_state(struct sbuf *sb, const struct scrape *m)
{
	static const char *const applied[] = { "applied", NULL };
	static const char *const changed[] = { "applied", "rolled_back", "fallback", "removed", NULL };
	struct session *s = m->s;
	struct trail_line *lines = NULL;
	size_t n = 0;
	char *error = NULL;
	int64_t t;

	prom_family(sb, "tlswall_state_readable", "gauge",
		    "Whether the state directory could be read (0: the confirmation and history metrics are missing).");
	prom_i64(sb, "tlswall_state_readable", s->st != NULL, NULL);
	if (!s->st)
		return;
	prom_family(sb, "tlswall_confirmation_pending", "gauge",
		    "Whether a change applied with --confirm waits for tlswall confirm (it rolls back at the deadline).");
	prom_i64(sb, "tlswall_confirmation_pending", s->pending_exists || s->pending_damaged, NULL);
	if (s->pending_exists) {
		prom_family(sb, "tlswall_confirmation_deadline_timestamp_seconds", "gauge",
			    "When the pending change rolls back unless confirmed, in seconds since the epoch.");
		prom_i64(sb, "tlswall_confirmation_deadline_timestamp_seconds", s->pending.deadline, "table",
			 s->pending.table, "policy", s->pending.policy, NULL);
		prom_family(sb, "tlswall_rollback_timer_running", "gauge",
			    "Whether the rollback timer of the pending change is running (0: nothing will roll it back).");
		prom_i64(sb, "tlswall_rollback_timer_running", timer_alive(&s->pending), NULL);
		prom_family(sb, "tlswall_rollback_failures", "gauge",
			    "How many times the rollback timer has failed to restore the previous ruleset so far.");
		prom_i64(sb, "tlswall_rollback_failures", s->pending.restore_failures, NULL);
	}
	prom_family(sb, "tlswall_last_known_good_present", "gauge",
		    "Whether a last-known-good ruleset is saved for boot to fall back to.");
	prom_i64(sb, "tlswall_last_known_good_present", state_exists(s->st, STATE_LKG), NULL);
	if (!trail_read(s->st, 0, &lines, &n, &error))
		free(error);
	if ((t = last_event(lines, n, applied))) {
		prom_family(sb, "tlswall_last_apply_timestamp_seconds", "gauge",
			    "When tlswall last applied a policy (apply, or apply --boot), in seconds since the epoch.");
		prom_i64(sb, "tlswall_last_apply_timestamp_seconds", t, NULL);
	}
	if ((t = last_event(lines, n, changed))) {
		prom_family(sb, "tlswall_last_change_timestamp_seconds", "gauge",
			    "When tlswall last changed the table (apply, rollback, boot's fallbacks, remove), in seconds since "
			    "the epoch.");
		prom_i64(sb, "tlswall_last_change_timestamp_seconds", t, NULL);
	}
	trail_lines_free(lines, n);
}

static void render(const struct scrape *m, struct sbuf *sb)
{
	prom_family(sb, "tlswall_policy_valid", "gauge",
		    "Whether the policy file loads, validates and compiles without errors, as apply requires "
		    "(0: see tlswall check).");
	prom_i64(sb, "tlswall_policy_valid", m->policy_ok, "policy", m->policy, NULL);
	if (m->policy_ok) {
		prom_family(sb, "tlswall_policy_info", "gauge",
			    "The policy's table and the SHA-256 of the ruleset it compiles to (the hash the audit trail and "
			    "status use).");
		prom_i64(sb, "tlswall_policy_info", 1, "policy", m->policy, "table", m->table, "sha256", m->sha256, NULL);
	}
	put_kernel(sb, m);
	put_state(sb, m);
}

/* The table with the kernel's counters: the live one when it was dumped, else (it came from the record of
 * tlswall's last commit) a read of its chains and rules without set elements, which can be millions. */
static int read_counted(struct session *s, const char *table, struct rs_table **own, const struct rs_table **counted)
{
	uint32_t genid;
	int ret;

	*own = NULL;
	if (s->origin == LIVE_DUMP || !s->live) {
		*counted = s->live;
		return 0;
	}
	ret = nl_read_table_family(s->nl, NFPROTO_INET, table, false, own, &genid);
	if (ret)
		diag_error(s->diags, NULL, 0, "cannot read table inet %s: %s", table, strerror(-ret));
	*counted = *own;
	return ret;
}

int metrics_main(const struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *output = NULL;
	struct scrape m = { 0 };
	struct diag_list *diags = NULL;
	struct rs_table *own = NULL;
	struct pipeline pl = { 0 };
	struct session s = { 0 };
	struct sbuf sb = { 0 };
	char *table = NULL, *error = NULL;
	int ret = EXIT_ERROR, c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+o:", options, NULL)) != -1) {
		if (c != 'o')
			return usage();
		output = optarg;
	}
	if (cli_extra_args("metrics", argc, argv, optind))
		return EXIT_ERROR;
	if (output && !output_usable(output, &error)) {
		fprintf(stderr, "tlswall metrics: %s\n", error);
		free(error);
		return EXIT_ERROR;
	}
	diags = diag_list_alloc();
	/* a broken policy is a value (tlswall_policy_valid 0), not a failed scrape: its diagnostics are check's to print */
	m.policy = cli->policy_path;
	m.policy_ok = pipeline_build(&pl, cli->policy_path, TRUST_REQUIRE);
	if (m.policy_ok)
		table_sha256(pl.table, m.sha256);
	table = m.policy_ok ? x_strdup(pl.table->name) : cli_table_name(cli);
	m.table = table;
	m.matches = -1;
	m.s = &s;
	session_open(&s, cli->state_dir, SESSION_STATE_IF_USABLE, diags);
	if (session_read(&s, table, true) == 0 && read_counted(&s, table, &own, &m.counted) == 0) {
		struct diff d;

		m.readable = true;
		m.genid = s.genid;
		m.live = s.live;
		if (m.policy_ok) {
			diff_tables(pl.table, s.live, &d);
			m.matches = diff_empty(&d);
			diff_release(&d);
		}
	}
	render(&m, &sb);
	if (output) {
		if (!write_atomic(output, sb.buf, sb.len, &error))
			diag_error(diags, NULL, 0, "%s", error);
	} else if (fwrite(sb.buf, 1, sb.len, stdout) != sb.len || fflush(stdout) != 0) {
		diag_error(diags, NULL, 0, "cannot write the metrics to standard output");
	}
	if (!diag_errors(diags))
		ret = EXIT_OK;
	cli_print_diags(cli, diags);
	sbuf_release(&sb);
	rs_table_free(own);
	session_close(&s);
	pipeline_release(&pl);
	diag_list_free(diags);
	free(table);
	free(error);
	return ret;
}
