/* Unit tests for flush_watch.c: which nft files, units and hook scripts take tlswall's table away. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "tlswall/flush_watch.h"
#include "tlswall/util.h"

struct fixture {
	char dir[64];
	struct flush_findings f;
};

static int setup(void **state)
{
	struct fixture *fx = x_calloc(1, sizeof(*fx));

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/tw-flush.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char *cmd = x_asprintf("rm -rf '%s'", fx->dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	flush_findings_release(&fx->f);
	free(fx);
	return 0;
}

/* Writes dir/name (creating subdirectories) and returns its path; "^" in text stands for the directory. */
static char *put(struct fixture *fx, const char *name, const char *text, mode_t mode)
{
	char *path = x_asprintf("%s/%s", fx->dir, name);
	struct sbuf body = { 0 };
	FILE *out;

	for (char *slash = strchr(path + strlen(fx->dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	for (const char *p = text; *p; p++)
		if (*p == '^')
			sbuf_puts(&body, fx->dir);
		else
			sbuf_putc(&body, *p);
	out = fopen(path, "w");
	assert_non_null(out);
	fputs(body.buf ? body.buf : "", out);
	fclose(out);
	chmod(path, mode);
	sbuf_release(&body);
	return path;
}

/* The findings, one per line: "FILE:LINE statement | who when | loaded_at | included_at", with the temporary
 * directory written as "^". */
static char *render(struct fixture *fx)
{
	struct sbuf sb = { 0 };
	struct sbuf out = { 0 };
	size_t dl = strlen(fx->dir);

	for (size_t i = 0; i < fx->f.n; i++) {
		const struct flush_finding *e = &fx->f.v[i];

		sbuf_addf(&sb, "%s:%u %s | %s %u | %s | %s\n", e->file, e->line, e->statement, e->who, e->when,
			  e->loaded_at ? e->loaded_at : "-", e->included_at ? e->included_at : "-");
	}
	for (const char *p = sb.buf ? sb.buf : ""; *p;) {
		if (strncmp(p, fx->dir, dl) == 0) {
			sbuf_putc(&out, '^');
			p += dl;
		} else {
			sbuf_putc(&out, *p++);
		}
	}
	sbuf_release(&sb);
	return sbuf_detach(&out);
}

#define assert_findings(fx, expected)                         \
	do {                                                  \
		char *got_ = render(fx);                      \
		assert_string_equal(got_, expected);          \
		free(got_);                                   \
	} while (0)

/* Debian's stock /etc/nftables.conf, word for word. */
static const char debian_nftables_conf[] = "#!/usr/sbin/nft -f\n"
					   "\n"
					   "flush ruleset\n"
					   "\n"
					   "table inet filter {\n"
					   "\tchain input {\n"
					   "\t\ttype filter hook input priority filter;\n"
					   "\t}\n"
					   "\tchain forward {\n"
					   "\t\ttype filter hook forward priority filter;\n"
					   "\t}\n"
					   "\tchain output {\n"
					   "\t\ttype filter hook output priority filter;\n"
					   "\t}\n"
					   "}\n";

static void test_debian_default(void **state)
{
	struct fixture *fx = *state;
	char *path = put(fx, "nftables.conf", debian_nftables_conf, 0755);

	flush_watch_nft_file(path, "tlswall", "nftables.service", FLUSH_ON_START, &fx->f);
	assert_findings(fx, "^/nftables.conf:3 flush ruleset | nftables.service 1 | - | -\n");
	free(path);
}

/* Comments, strings, families and other tables are not flushes; semicolons and braces end statements. */
static void test_nft_syntax(void **state)
{
	struct fixture *fx = *state;
	char *path = put(fx, "a.nft",
			 "# flush ruleset\n"                                  /* 1: comment */
			 "define reason = \"flush ruleset\"\n"                /* 2: a string */
			 "flush ruleset ip\n"                                 /* 3: ip tables only */
			 "flush ruleset ip6 ; flush ruleset inet\n"           /* 4: the inet part counts */
			 "table inet tlswall { comment \"flush ruleset\"; }\n" /* 5 */
			 "delete table inet other\n"                          /* 6: another table */
			 "delete table tlswall\n"                             /* 7: family ip, not inet */
			 "delete table inet \"tlswall\" # the table\n"        /* 8 */
			 "table inet x { chain c { } }; flush table inet tlswall\n" /* 9 */
			 "destroy \\\n  table inet tlswall\n"                 /* 10-11: continued line */
			 "list ruleset\n"
			 "flush  ruleset\t",                                  /* 13: no newline at the end */
			 0644);

	flush_watch_nft_file(path, "tlswall", "u.service", FLUSH_ON_RELOAD, &fx->f);
	assert_findings(fx, "^/a.nft:4 flush ruleset inet | u.service 2 | - | -\n"
			    "^/a.nft:8 delete table inet tlswall | u.service 2 | - | -\n"
			    "^/a.nft:9 flush table inet tlswall | u.service 2 | - | -\n"
			    "^/a.nft:10 destroy table inet tlswall | u.service 2 | - | -\n"
			    "^/a.nft:13 flush ruleset | u.service 2 | - | -\n");
	free(path);
}

/* Includes: absolute, with wildcards (sorted, no match is fine), nested; the first include on the way is named. */
static void test_nft_includes(void **state)
{
	struct fixture *fx = *state;
	char *top = put(fx, "top.nft",
			"include \"^/d/*.nft\"\n"
			"include \"^/none/*.nft\"\n"
			"include \"^/missing.nft\"\n",
			0644);
	char *b = put(fx, "d/b.nft", "include \"^/deep.nft\"\n", 0644);
	char *a = put(fx, "d/a.nft", "table inet t {}\nflush ruleset\n", 0644);
	char *deep = put(fx, "deep.nft", "\n\ndelete table inet tlswall\n", 0644);

	flush_watch_nft_file(top, "tlswall", "u.service", FLUSH_ON_START, &fx->f);
	assert_findings(fx, "^/d/a.nft:2 flush ruleset | u.service 1 | - | ^/top.nft:1\n"
			    "^/deep.nft:3 delete table inet tlswall | u.service 1 | - | ^/top.nft:1\n");
	free(top);
	free(a);
	free(b);
	free(deep);
}

/* A file that includes itself stops at nft's include depth instead of looping; its flush is found once. */
static void test_nft_include_loop(void **state)
{
	struct fixture *fx = *state;
	char *self = put(fx, "self.nft", "include \"^/self.nft\"\nflush ruleset\n", 0644);

	flush_watch_nft_file(self, "tlswall", "u.service", FLUSH_ON_START, &fx->f);
	assert_findings(fx, "^/self.nft:2 flush ruleset | u.service 1 | - | ^/self.nft:1\n");
	free(self);
}

/* Debian's nftables.service: the file it loads on start and reload, and its own flush on stop. */
static void test_unit_debian(void **state)
{
	struct fixture *fx = *state;
	char *conf = put(fx, "nftables.conf", debian_nftables_conf, 0755);
	char *unit = put(fx, "nftables.service",
			 "[Unit]\nDescription=nftables\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\n"
			 "ExecStart=/usr/sbin/nft -f ^/nftables.conf\n"
			 "ExecReload=/usr/sbin/nft -f ^/nftables.conf\n"
			 "ExecStop=/usr/sbin/nft flush ruleset\n\n[Install]\nWantedBy=sysinit.target\n",
			 0644);
	const char *files[] = { unit };

	flush_watch_unit("nftables.service", files, 1, "tlswall", &fx->f);
	assert_findings(fx, "^/nftables.conf:3 flush ruleset | nftables.service 3 | ^/nftables.service:7 | -\n"
			    "^/nftables.service:9 flush ruleset | nftables.service 4 | - | -\n");
	free(conf);
	free(unit);
}

/* Drop-ins: an empty Exec setting clears the earlier ones; prefixes, @argv0, "nft -c", sh -c, continuations, other
 * sections and settings are read as systemd does. */
static void test_unit_dropins(void **state)
{
	struct fixture *fx = *state;
	char *conf = put(fx, "rules.nft", "flush ruleset\n", 0644);
	char *unit = put(fx, "fw.service",
			 "[Unit]\nExecStart=/usr/sbin/nft flush ruleset\n"
			 "[Service]\nExecStart=/usr/sbin/nft -f ^/rules.nft\n"
			 "ExecStop=-/usr/sbin/nft flush ruleset\n",
			 0644);
	char *drop = put(fx, "fw.service.d/override.conf",
			 "[Service]\n"
			 "ExecStart=\n"                                                   /* 2: clears line 4 above */
			 "ExecStart=-@/usr/sbin/nft nft-wrapper -c -f ^/rules.nft\n"        /* 3: check only */
			 "ExecStartPre=/bin/sh -c 'echo start; nft \"flush ruleset\"'\n"  /* 4 */
			 "ExecReload=/usr/sbin/nft --file=^/rules.nft ; /bin/true\n"      /* 5 */
			 "ExecStopPost=/usr/sbin/nft \\\n"                                /* 6 */
			 "# a comment inside the continued line\n"
			 "   delete table inet tlswall\n"
			 "Environment=X=\"nft flush ruleset\"\n",
			 0644);
	const char *files[] = { unit, drop };

	flush_watch_unit("fw.service", files, 2, "tlswall", &fx->f);
	assert_findings(fx, "^/fw.service:5 flush ruleset | fw.service 4 | - | -\n"
			    "^/fw.service.d/override.conf:4 flush ruleset | fw.service 1 | - | -\n"
			    "^/rules.nft:1 flush ruleset | fw.service 2 | ^/fw.service.d/override.conf:5 | -\n"
			    "^/fw.service.d/override.conf:6 delete table inet tlswall | fw.service 4 | - | -\n");
	free(conf);
	free(unit);
	free(drop);
}

/* Hook scripts: comments, quoting, redirections, here-documents, wrappers, sh -c, and nft commands that read. */
static void test_script(void **state)
{
	struct fixture *fx = *state;
	char *rules = put(fx, "rules.nft", "\nflush ruleset\n", 0644);
	char *script = put(fx, "hook",
			   "#!/bin/sh\n"
			   "# nft flush ruleset\n"                                 /* 2: comment */
			   "echo \"nft flush ruleset\"\n"                          /* 3: an argument */
			   "nft list ruleset | grep flush\n"                       /* 4 */
			   "nft -c -f ^/rules.nft\n"                               /* 5: check only */
			   "[ -x /usr/sbin/nft ] && FOO=1 exec /usr/sbin/nft 'flush ruleset' 2>/dev/null\n" /* 6 */
			   "nft -f - <<'EOF'\n"                                    /* 7 */
			   "table inet x { }\n"                                    /* 8 */
			   "flush ruleset\n"                                       /* 9 */
			   "EOF\n"                                                 /* 10 */
			   "nft -f /dev/stdin < ^/rules.nft\n"                     /* 11 */
			   "if true; then sh -c \"nft delete table inet tlswall\"; fi\n" /* 12 */
			   "nft \\\n  flush ruleset\n",                            /* 13-14 */
			   0755);

	flush_watch_script(script, false, "an interface comes up", "tlswall", &fx->f);
	assert_findings(fx, "^/hook:6 flush ruleset | an interface comes up 0 | - | -\n"
			    "^/hook:9 flush ruleset | an interface comes up 0 | - | -\n"
			    "^/rules.nft:2 flush ruleset | an interface comes up 0 | ^/hook:11 | -\n"
			    "^/hook:12 delete table inet tlswall | an interface comes up 0 | - | -\n"
			    "^/hook:13 flush ruleset | an interface comes up 0 | - | -\n");
	free(rules);
	free(script);
}

/* interfaces(5): only the commands of pre-up, up, post-up, down, pre-down and post-down lines. */
static void test_interfaces(void **state)
{
	struct fixture *fx = *state;
	char *rules = put(fx, "rules.nft", "flush ruleset\n", 0644);
	char *path = put(fx, "interfaces",
			 "auto eth0\n"
			 "iface eth0 inet dhcp\n"
			 "    pre-up nft -f ^/rules.nft\n"            /* 3 */
			 "    # up nft flush ruleset\n"
			 "    post-down /usr/sbin/nft flush \\\n"     /* 5 */
			 "        ruleset\n"
			 "    hostname nft flush ruleset\n",
			 0644);

	flush_watch_script(path, true, NULL, "tlswall", &fx->f);
	assert_findings(fx, "^/rules.nft:1 flush ruleset | an interface comes up (ifupdown) 0 | ^/interfaces:3 | -\n"
			    "^/interfaces:5 flush ruleset | an interface goes down (ifupdown) 0 | - | -\n");
	free(rules);
	free(path);
}

/* Another table name: "delete table inet tlswall" is not about a policy whose table is called edge. */
static void test_table_name(void **state)
{
	struct fixture *fx = *state;
	char *path = put(fx, "x.nft", "delete table inet tlswall\nflush table inet edge\n", 0644);

	flush_watch_nft_file(path, "edge", "u.service", FLUSH_ON_START, &fx->f);
	assert_findings(fx, "^/x.nft:2 flush table inet edge | u.service 1 | - | -\n");
	free(path);
}

/* Files that are not there, directories, and binary junk give nothing, and do not crash. */
static void test_unreadable(void **state)
{
	struct fixture *fx = *state;
	char *junk = put(fx, "junk", "\"\\\n\\\"{{{}}};;;#\n\xff\xfe flush\n", 0644);
	const char *files[] = { "/nonexistent/unit.service", fx->dir, junk };

	flush_watch_nft_file("/nonexistent/x.nft", "tlswall", "u", FLUSH_ON_START, &fx->f);
	flush_watch_nft_file(fx->dir, "tlswall", "u", FLUSH_ON_START, &fx->f);
	flush_watch_nft_file(junk, "tlswall", "u", FLUSH_ON_START, &fx->f);
	flush_watch_script(junk, false, "a hook", "tlswall", &fx->f);
	flush_watch_script(junk, true, NULL, "tlswall", &fx->f);
	flush_watch_unit("u.service", files, 3, "tlswall", &fx->f);
	assert_int_equal(fx->f.n, 0);
	free(junk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_debian_default, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nft_syntax, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nft_includes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nft_include_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unit_debian, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unit_dropins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_script, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interfaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
