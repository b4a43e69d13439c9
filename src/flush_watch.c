/* Who on this host will delete tlswall's table: enabled units and interface hooks that run nft with a statement that
 * flushes the ruleset or deletes the table, directly or through the files they load and include. */
#include <ctype.h>
#include <dirent.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tlswall/diag.h"
#include "tlswall/flush_watch.h"
#include "tlswall/util.h"

/* nft refuses deeper includes; it also stops include loops */
#define INCLUDE_DEPTH_MAX 16
#define STMT_WORDS 4
#define WORD_MAX 512
/* hook scripts and unit files are small; anything larger is not one */
#define SCRIPT_MAX (1024 * 1024)

/* Where systemd looks for units, in its order of precedence. */
static const char *const unit_dirs[] = {
	"/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system", "/usr/lib/systemd/system",
	"/lib/systemd/system",
};

/* Scripts that run by themselves when something happens on the host. */
static const struct hook {
	const char *path;
	bool dir;        /* every file in it (scripts: the executable ones) */
	bool interfaces; /* interfaces(5) syntax: the commands of pre-up, up, down... lines */
	const char *who;
} hooks[] = {
	{ "/etc/network/interfaces", false, true, NULL },
	{ "/etc/network/interfaces.d", true, true, NULL },
	{ "/etc/network/if-pre-up.d", true, false, "an interface comes up (ifupdown)" },
	{ "/etc/network/if-up.d", true, false, "an interface comes up (ifupdown)" },
	{ "/etc/network/if-down.d", true, false, "an interface goes down (ifupdown)" },
	{ "/etc/network/if-post-down.d", true, false, "an interface goes down (ifupdown)" },
	{ "/etc/NetworkManager/dispatcher.d", true, false, "NetworkManager reports an interface event" },
	{ "/etc/NetworkManager/dispatcher.d/pre-up.d", true, false, "NetworkManager brings an interface up" },
	{ "/etc/ppp/ip-up.d", true, false, "a PPP link comes up" },
	{ "/etc/rc.local", false, false, "the host boots (rc.local)" },
	{ "/usr/share/netfilter-persistent/plugins.d", true, false, "netfilter-persistent runs its plugins" },
};

/* What runs the text being scanned, and how it got there. */
struct origin {
	const char *table;
	struct flush_findings *out;
	const char *who;
	unsigned when;
	const char *loaded_at;   /* NULL: the statements are on the command's own line */
	const char *included_at; /* the first include on the way, or NULL */
	const char **incdirs;    /* nft -I, searched before nft's default, /etc */
	size_t nincdirs;
	int depth;
};

static void finding_add(const struct origin *o, const char *file, unsigned line, const char *statement)
{
	struct flush_findings *f = o->out;
	struct flush_finding *n;

	for (size_t i = 0; i < f->n; i++) {
		struct flush_finding *e = &f->v[i];

		/* nftables.service loads one file from ExecStart and ExecReload: one finding, both occasions */
		if (e->line == line && strcmp(e->file, file) == 0 && strcmp(e->statement, statement) == 0 &&
		    strcmp(e->who, o->who) == 0) {
			e->when |= o->when;
			return;
		}
	}
	x_grow(&f->v, &f->cap, f->n + 1, sizeof(*f->v));
	n = &f->v[f->n++];
	n->file = x_strdup(file);
	n->line = line;
	n->statement = x_strdup(statement);
	n->who = x_strdup(o->who);
	n->when = o->when;
	n->loaded_at = o->loaded_at ? x_strdup(o->loaded_at) : NULL;
	n->included_at = o->included_at ? x_strdup(o->included_at) : NULL;
}

void flush_findings_release(struct flush_findings *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].file);
		free(f->v[i].statement);
		free(f->v[i].who);
		free(f->v[i].loaded_at);
		free(f->v[i].included_at);
	}
	free(f->v);
	memset(f, 0, sizeof(*f));
}

static bool regular_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- nft files */

static void nft_scan(FILE *in, const char *file, unsigned first_line, bool fixed, const struct origin *o);

static void nft_scan_file(const char *path, const struct origin *o)
{
	FILE *in;

	if (o->depth > INCLUDE_DEPTH_MAX || !regular_file(path))
		return;
	in = fopen(path, "re");
	if (!in)
		return;
	nft_scan(in, path, 1, false, o);
	fclose(in);
}

static void nft_scan_text(const char *text, const char *file, unsigned line, bool fixed, const struct origin *o)
{
	FILE *in;

	if (!*text)
		return;
	in = fmemopen((void *)text, strlen(text), "r");
	if (!in)
		return;
	nft_scan(in, file, line, fixed, o);
	fclose(in);
}

/* nft's include: an absolute path as it is, ./ and ../ from the working directory (/ for units and hooks), any
 * other name in the -I directories and then /etc; wildcards allowed, and matching nothing is not an error. */
static void nft_include(const char *name, const char *file, unsigned line, const struct origin *o)
{
	struct origin sub = *o;
	char *at = x_asprintf("%s:%u", file, line);
	size_t ndirs = o->nincdirs + 1;

	sub.depth++;
	if (!sub.included_at)
		sub.included_at = at;
	for (size_t d = 0; d < ndirs; d++) {
		char *pattern;
		glob_t g;
		int r;

		if (name[0] == '/')
			pattern = x_strdup(name);
		else if (strncmp(name, "./", 2) == 0 || strncmp(name, "../", 3) == 0)
			pattern = x_asprintf("/%s", name);
		else
			pattern = x_asprintf("%s/%s", d < o->nincdirs ? o->incdirs[d] : "/etc", name);
		r = glob(pattern, 0, NULL, &g);
		free(pattern);
		if (r == 0) {
			for (size_t i = 0; i < g.gl_pathc; i++)
				nft_scan_file(g.gl_pathv[i], &sub);
			globfree(&g);
			break;
		}
		if (name[0] == '/' || name[0] == '.')
			break;
	}
	free(at);
}

struct stmt {
	char w[STMT_WORDS][WORD_MAX];
	size_t n; /* words seen, which can be more than STMT_WORDS */
	unsigned line;
};

static void stmt_word(struct stmt *s, const char *word, size_t len, unsigned line)
{
	if (s->n == 0)
		s->line = line;
	if (s->n < STMT_WORDS) {
		if (len >= WORD_MAX)
			len = WORD_MAX - 1;
		memcpy(s->w[s->n], word, len);
		s->w[s->n][len] = '\0';
	}
	s->n++;
}

/* The statements that take the table away: "flush ruleset" (every family, or inet), and "delete", "destroy" or
 * "flush" of table inet <table> by name. */
static void stmt_done(struct stmt *s, const char *file, unsigned fixed_line, const struct origin *o)
{
	unsigned line = fixed_line ? fixed_line : s->line;
	char what[WORD_MAX + 64];

	if (s->n >= 2 && strcmp(s->w[0], "flush") == 0 && strcmp(s->w[1], "ruleset") == 0 &&
	    (s->n == 2 || (s->n == 3 && strcmp(s->w[2], "inet") == 0))) {
		finding_add(o, file, line, s->n == 2 ? "flush ruleset" : "flush ruleset inet");
	} else if (s->n == 4 && strcmp(s->w[1], "table") == 0 && strcmp(s->w[2], "inet") == 0 &&
		   strcmp(s->w[3], o->table) == 0 &&
		   (strcmp(s->w[0], "delete") == 0 || strcmp(s->w[0], "destroy") == 0 || strcmp(s->w[0], "flush") == 0)) {
		snprintf(what, sizeof(what), "%s table inet %s", s->w[0], o->table);
		finding_add(o, file, line, what);
	} else if (s->n == 2 && strcmp(s->w[0], "include") == 0) {
		nft_include(s->w[1], file, line, o);
	}
	s->n = 0;
}

/* nft reads statements separated by newlines and semicolons, with blocks in braces; "#" starts a comment outside a
 * string and a backslash joins lines. Only the first words of each statement matter here. */
static void nft_scan(FILE *in, const char *file, unsigned first_line, bool fixed, const struct origin *o)
{
	struct stmt s = { .n = 0 };
	char word[WORD_MAX];
	size_t len = 0;
	unsigned line = first_line, fixed_line = fixed ? first_line : 0;
	int c;

#define WORD_END()                                           \
	do {                                                 \
		if (len) {                                   \
			stmt_word(&s, word, len, line);      \
			len = 0;                             \
		}                                            \
	} while (0)

	while ((c = getc(in)) != EOF) {
		if (c == '\\') {
			int next = getc(in);

			if (next == '\n') {
				WORD_END();
				line++;
				continue;
			}
			if (next != EOF)
				ungetc(next, in);
		} else if (c == '"') {
			/* a string is one word, whatever it holds */
			WORD_END();
			while ((c = getc(in)) != EOF && c != '"' && c != '\n')
				if (len < sizeof(word))
					word[len++] = (char)c;
			stmt_word(&s, word, len, line);
			len = 0;
			if (c == '\n')
				ungetc(c, in);
			continue;
		} else if (c == '#') {
			WORD_END();
			while ((c = getc(in)) != EOF && c != '\n')
				;
			if (c == '\n')
				ungetc(c, in);
			continue;
		}
		if (c == '\n' || c == ';' || c == '{' || c == '}') {
			WORD_END();
			stmt_done(&s, file, fixed_line, o);
			if (c == '\n')
				line++;
			continue;
		}
		if (isspace(c)) {
			WORD_END();
			continue;
		}
		if (len < sizeof(word))
			word[len++] = (char)c;
	}
	WORD_END();
	stmt_done(&s, file, fixed_line, o);
#undef WORD_END
}

void flush_watch_nft_file(const char *path, const char *table, const char *who, unsigned when,
			  struct flush_findings *out)
{
	struct origin o = { .table = table, .out = out, .who = who, .when = when };

	nft_scan_file(path, &o);
}

/* ---- shell commands: hook scripts, interfaces(5) commands, and the Exec settings of units */

enum word_kind { W_WORD, W_SEP, W_REDIRECT };

struct word {
	enum word_kind kind;
	char *text;      /* the word without its quotes, or the operator: "<", "<<", ">"... */
	unsigned line;
	bool assignment; /* NAME=value, unquoted NAME */
	char *body;      /* "<<": the here-document */
	unsigned body_line;
};

struct words {
	struct word *v;
	size_t n, cap;
};

static struct word *words_push(struct words *w, enum word_kind kind, char *text, unsigned line)
{
	struct word *n;

	x_grow(&w->v, &w->cap, w->n + 1, sizeof(*w->v));
	n = &w->v[w->n++];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->text = text;
	n->line = line;
	return n;
}

static void words_release(struct words *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->v[i].text);
		free(w->v[i].body);
	}
	free(w->v);
	memset(w, 0, sizeof(*w));
}

static bool is_assignment(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	while (isalnum((unsigned char)*s) || *s == '_')
		s++;
	return *s == '=';
}

/* The body of a here-document starting at *p, up to the line that holds only delim (after tabs, with <<-). */
static char *heredoc_read(const char **p, unsigned *line, const char *delim, bool strip_tabs)
{
	struct sbuf body = { 0 };

	while (**p) {
		const char *s = *p, *eol = strchr(s, '\n');
		size_t n = eol ? (size_t)(eol - s) : strlen(s);

		*p = eol ? eol + 1 : s + n;
		(*line)++;
		if (strip_tabs)
			while (n && *s == '\t') {
				s++;
				n--;
			}
		if (n == strlen(delim) && strncmp(s, delim, n) == 0)
			break;
		sbuf_add(&body, s, n);
		sbuf_putc(&body, '\n');
	}
	return sbuf_detach(&body);
}

/* Shell words, quotes removed; unquoted ; & | ( ) and newlines separate commands; redirections are words of their
 * own. Here-documents are read at the end of the line that opens them. Good enough for the commands hooks and units
 * run; parameter expansion and the like are taken literally. */
static void shell_split(const char *text, unsigned first_line, struct words *out)
{
	const char *p = text;
	unsigned line = first_line;
	struct sbuf word = { 0 };
	bool in_word = false, quoted = false;
	size_t heredocs_from = 0;

#define WORD_END()                                                                             \
	do {                                                                                   \
		if (in_word) {                                                                 \
			struct word *w_ = words_push(out, W_WORD, sbuf_detach(&word), line);   \
			w_->assignment = !quoted && is_assignment(w_->text);                   \
			in_word = quoted = false;                                              \
		}                                                                              \
	} while (0)

	while (*p) {
		char c = *p++;

		if (c == '\\') {
			if (*p == '\n') {
				p++;
				line++;
			} else if (*p) {
				sbuf_putc(&word, *p++);
				in_word = true;
			}
		} else if (c == '\'') {
			in_word = quoted = true;
			while (*p && *p != '\'') {
				if (*p == '\n')
					line++;
				sbuf_putc(&word, *p++);
			}
			if (*p)
				p++;
		} else if (c == '"') {
			in_word = quoted = true;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1] && strchr("\"\\$`\n", p[1]))
					p++;
				if (*p == '\n')
					line++;
				sbuf_putc(&word, *p++);
			}
			if (*p)
				p++;
		} else if (c == '#' && !in_word) {
			while (*p && *p != '\n')
				p++;
		} else if (c == '<' || c == '>') {
			char op[4] = { c, 0, 0, 0 };

			/* "2>" and "0<": the descriptor belongs to the redirection, not to the command */
			if (in_word && !quoted && word.len && strspn(word.buf, "0123456789") == word.len) {
				sbuf_release(&word);
				in_word = false;
			}
			WORD_END();
			if (*p == c || (c == '>' && *p == '&'))
				op[1] = *p++;
			if (c == '<' && op[1] == '<' && *p == '-')
				op[2] = *p++;
			words_push(out, W_REDIRECT, x_strdup(op), line);
		} else if (c == '\n' || c == ';' || c == '&' || c == '|' || c == '(' || c == ')') {
			WORD_END();
			words_push(out, W_SEP, x_strdup((char[]){ c, 0 }), line);
			if (c == '\n') {
				/* the here-documents opened on this line follow it */
				for (size_t i = heredocs_from; i < out->n; i++) {
					struct word *r = &out->v[i];

					if (r->kind != W_REDIRECT || strncmp(r->text, "<<", 2) != 0 || i + 1 >= out->n ||
					    out->v[i + 1].kind != W_WORD)
						continue;
					r->body_line = line + 1;
					r->body = heredoc_read(&p, &line, out->v[i + 1].text, r->text[2] == '-');
				}
				heredocs_from = out->n;
				line++;
			}
		} else if (isspace((unsigned char)c)) {
			WORD_END();
		} else {
			sbuf_putc(&word, c);
			in_word = true;
		}
	}
	WORD_END();
	sbuf_release(&word);
#undef WORD_END
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static void shell_scan_text(const char *text, const char *file, unsigned line, bool fixed, const struct origin *o);

/* nft's own command line: -f FILE (also "-", read from a redirection or here-document), -I DIR, -c (check only,
 * nothing is committed), and the command itself in the remaining words. */
static void nft_command(struct word *w, size_t n, const char *file, unsigned line, const struct origin *o)
{
	struct origin sub = *o;
	struct sbuf cmd = { 0 };
	const char *load = NULL, *stdin_file = NULL, *here = NULL;
	unsigned here_line = 0;
	bool check = false, options = true;
	const char **incdirs = NULL;
	size_t nincdirs = 0, cap = 0;

	for (size_t i = 0; i < n; i++) {
		const char *a = w[i].text;

		if (w[i].kind == W_REDIRECT) {
			if (strcmp(a, "<") == 0 && i + 1 < n)
				stdin_file = w[i + 1].text;
			else if (strncmp(a, "<<", 2) == 0 && w[i].body) {
				here = w[i].body;
				here_line = w[i].body_line;
			}
			i++; /* its target */
			continue;
		}
		if (options && strcmp(a, "--") == 0) {
			options = false;
		} else if (options && strncmp(a, "--", 2) == 0) {
			const char *eq = strchr(a, '=');
			size_t klen = eq ? (size_t)(eq - a) : strlen(a);
			const char *val = eq ? eq + 1 : (i + 1 < n ? w[i + 1].text : NULL);
			bool takes = (klen == 6 && strncmp(a, "--file", 6) == 0) ||
				     (klen == 13 && strncmp(a, "--includepath", 13) == 0) ||
				     (klen == 8 && strncmp(a, "--define", 8) == 0) ||
				     (klen == 7 && strncmp(a, "--debug", 7) == 0);

			if (klen == 7 && strncmp(a, "--check", 7) == 0)
				check = true;
			if (takes && !eq && i + 1 < n)
				i++;
			if (takes && val && klen == 6)
				load = val;
			else if (takes && val && klen == 13) {
				x_grow(&incdirs, &cap, nincdirs + 1, sizeof(*incdirs));
				incdirs[nincdirs++] = val;
			}
		} else if (options && a[0] == '-' && a[1]) {
			/* a cluster of short options; f, I, D and d take the rest of it or the next word */
			for (const char *c = a + 1; *c; c++) {
				const char *val;

				if (*c == 'c')
					check = true;
				if (!strchr("fIDd", *c))
					continue;
				val = c[1] ? c + 1 : (i + 1 < n ? w[++i].text : NULL);
				if (*c == 'f')
					load = val;
				else if (*c == 'I' && val) {
					x_grow(&incdirs, &cap, nincdirs + 1, sizeof(*incdirs));
					incdirs[nincdirs++] = val;
				}
				break;
			}
		} else {
			sbuf_addf(&cmd, "%s%s", cmd.len ? " " : "", a);
		}
	}
	sub.incdirs = incdirs;
	sub.nincdirs = nincdirs;
	if (!check) {
		char *at = x_asprintf("%s:%u", file, line);

		sub.loaded_at = o->loaded_at ? o->loaded_at : at;
		if (load && (strcmp(load, "-") == 0 || strcmp(load, "/dev/stdin") == 0)) {
			if (stdin_file)
				nft_scan_file(stdin_file, &sub);
			else if (here)
				nft_scan_text(here, file, here_line, false, o);
		} else if (load) {
			nft_scan_file(load, &sub);
		} else if (cmd.buf) {
			nft_scan_text(cmd.buf, file, line, true, o);
		}
		free(at);
	}
	free(incdirs);
	sbuf_release(&cmd);
}

/* One simple command: leading assignments and wrappers (exec, sudo, env...) skipped; nft, or a shell's -c script. */
static void shell_command(struct word *w, size_t n, const char *file, unsigned line, bool fixed, const struct origin *o)
{
	static const char *const skip[] = { "exec", "command", "sudo", "env", "nice", "nohup", "time",
					    "if", "then", "else", "elif", "do", "while", "until", "!", "{", "}" };
	size_t i = 0;
	const char *cmd;

	while (i < n) {
		bool skipped = w[i].assignment;

		for (size_t k = 0; k < ARRAY_SIZE(skip) && !skipped; k++)
			skipped = w[i].kind == W_WORD && strcmp(w[i].text, skip[k]) == 0;
		if (!skipped)
			break;
		i++;
	}
	if (i >= n || w[i].kind != W_WORD)
		return;
	cmd = base_name(w[i].text);
	if (!fixed)
		line = w[i].line;
	if (strcmp(cmd, "nft") == 0) {
		nft_command(w + i + 1, n - i - 1, file, line, o);
	} else if (strcmp(cmd, "sh") == 0 || strcmp(cmd, "bash") == 0 || strcmp(cmd, "dash") == 0) {
		for (size_t k = i + 1; k + 1 < n; k++)
			if (w[k].kind == W_WORD && strcmp(w[k].text, "-c") == 0 && o->depth <= INCLUDE_DEPTH_MAX) {
				struct origin sub = *o;

				sub.depth++;
				shell_scan_text(w[k + 1].text, file, line, true, &sub);
				break;
			}
	}
}

/* fixed: every command is reported at line (a unit's Exec setting, an interfaces(5) line, sh -c). */
static void shell_scan_text(const char *text, const char *file, unsigned line, bool fixed, const struct origin *o)
{
	struct words w = { 0 };
	size_t start = 0;

	shell_split(text, line, &w);
	for (size_t i = 0; i <= w.n; i++) {
		if (i < w.n && w.v[i].kind != W_SEP)
			continue;
		if (i > start)
			shell_command(w.v + start, i - start, file, line, fixed, o);
		start = i + 1;
	}
	words_release(&w);
}

static char *slurp(const char *path)
{
	FILE *in;
	char *buf;
	size_t len;
	struct stat st;

	in = fopen(path, "re");
	if (!in)
		return NULL;
	if (fstat(fileno(in), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > SCRIPT_MAX) {
		fclose(in);
		return NULL;
	}
	buf = x_malloc((size_t)st.st_size + 1);
	len = fread(buf, 1, (size_t)st.st_size, in);
	buf[len] = '\0';
	fclose(in);
	return buf;
}

/* interfaces(5): "pre-up", "up", "post-up", "down"... lines hold shell commands; a backslash continues a line. */
static void interfaces_scan(const char *text, const char *file, const struct origin *o)
{
	static const char *const up[] = { "pre-up", "up", "post-up" };
	static const char *const down[] = { "down", "pre-down", "post-down" };
	const char *p = text;
	unsigned line = 1;

	while (*p) {
		struct sbuf logical = { 0 };
		unsigned start = line;
		const char *s;
		size_t klen;
		struct origin sub = *o;

		for (;;) {
			const char *eol = strchr(p, '\n');
			size_t n = eol ? (size_t)(eol - p) : strlen(p);
			bool more = n && p[n - 1] == '\\';

			sbuf_add(&logical, p, more ? n - 1 : n);
			p += n + (eol ? 1 : 0);
			line++;
			if (!more || !*p)
				break;
		}
		s = logical.buf ? logical.buf : "";
		while (isspace((unsigned char)*s))
			s++;
		klen = strcspn(s, " \t");
		sub.who = NULL;
		for (size_t k = 0; k < ARRAY_SIZE(up); k++) {
			if (strlen(up[k]) == klen && strncmp(s, up[k], klen) == 0)
				sub.who = "an interface comes up (ifupdown)";
			if (strlen(down[k]) == klen && strncmp(s, down[k], klen) == 0)
				sub.who = "an interface goes down (ifupdown)";
		}
		if (sub.who)
			shell_scan_text(s + klen, file, start, true, &sub);
		sbuf_release(&logical);
	}
}

void flush_watch_script(const char *path, bool interfaces, const char *who, const char *table,
			struct flush_findings *out)
{
	struct origin o = { .table = table, .out = out, .who = who };
	char *text = slurp(path);

	if (!text)
		return;
	if (interfaces)
		interfaces_scan(text, path, &o);
	else if (who)
		shell_scan_text(text, path, 1, false, &o);
	free(text);
}

/* ---- units */

static const struct exec_key {
	const char *name;
	unsigned when;
} exec_keys[] = {
	{ "ExecCondition", FLUSH_ON_START }, { "ExecStartPre", FLUSH_ON_START }, { "ExecStart", FLUSH_ON_START },
	{ "ExecStartPost", FLUSH_ON_START }, { "ExecReload", FLUSH_ON_RELOAD },   { "ExecStop", FLUSH_ON_STOP },
	{ "ExecStopPost", FLUSH_ON_STOP },
};

struct exec_line {
	size_t key;
	char *value, *file;
	unsigned line;
};

struct exec_lines {
	struct exec_line *v;
	size_t n, cap;
};

static void exec_lines_clear(struct exec_lines *e, size_t key)
{
	size_t kept = 0;

	for (size_t i = 0; i < e->n; i++) {
		if (e->v[i].key == key) {
			free(e->v[i].value);
			free(e->v[i].file);
		} else {
			e->v[kept++] = e->v[i];
		}
	}
	e->n = kept;
}

/* The Exec settings of one unit file's [Service] section, added to (or, when empty, clearing) those before. */
static void unit_file_read(const char *path, struct exec_lines *e)
{
	char *text = slurp(path);
	const char *p = text;
	unsigned line = 0;
	bool service = false;

	while (p && *p) {
		struct sbuf logical = { 0 };
		unsigned start = line + 1;
		char *text_line, *s, *eq, *end;

		for (;;) {
			const char *eol = strchr(p, '\n');
			size_t n = eol ? (size_t)(eol - p) : strlen(p);
			const char *t = p;
			bool more;

			p += n + (eol ? 1 : 0);
			line++;
			while (n && isspace((unsigned char)t[n - 1]))
				n--;
			/* comment lines inside a continued setting are skipped, as systemd does */
			if (logical.len && (*t == '#' || *t == ';'))
				continue;
			more = n && t[n - 1] == '\\';
			sbuf_add(&logical, t, more ? n - 1 : n);
			if (!more || !*p)
				break;
			sbuf_putc(&logical, ' ');
		}
		text_line = sbuf_detach(&logical);
		s = text_line;
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '[') {
			service = strncmp(s, "[Service]", 9) == 0;
		} else if (service && *s != '#' && *s != ';' && (eq = strchr(s, '='))) {
			for (end = eq; end > s && isspace((unsigned char)end[-1]);)
				end--;
			*end = '\0';
			eq++;
			while (isspace((unsigned char)*eq))
				eq++;
			for (size_t k = 0; k < ARRAY_SIZE(exec_keys); k++) {
				if (strcmp(s, exec_keys[k].name) != 0)
					continue;
				if (!*eq) {
					exec_lines_clear(e, k);
				} else {
					x_grow(&e->v, &e->cap, e->n + 1, sizeof(*e->v));
					e->v[e->n++] = (struct exec_line){ k, x_strdup(eq), x_strdup(path), start };
				}
			}
		}
		free(text_line);
	}
	free(text);
}

/* One Exec setting: commands separated by a lone ";", each executable after its prefixes (- @ : + !); with @ the
 * word after it is argv[0] only. */
static void exec_scan(const char *value, const char *file, unsigned line, const struct origin *o)
{
	struct words w = { 0 };
	size_t start = 0;

	shell_split(value, line, &w);
	for (size_t i = 0; i <= w.n; i++) {
		struct word *cmd;
		bool argv0;
		size_t n, prefix;

		if (i < w.n && !(w.v[i].kind == W_SEP && strcmp(w.v[i].text, ";") == 0))
			continue;
		cmd = w.v + start;
		n = i - start;
		start = i + 1;
		if (!n || cmd->kind != W_WORD)
			continue;
		prefix = strspn(cmd->text, "-@:+!");
		argv0 = memchr(cmd->text, '@', prefix) != NULL;
		memmove(cmd->text, cmd->text + prefix, strlen(cmd->text + prefix) + 1);
		if (argv0 && n > 1) {
			/* keep the executable, drop the argv[0] override */
			free(cmd[1].text);
			cmd[1].text = x_strdup(cmd->text);
			cmd++;
			n--;
		}
		cmd->assignment = false;
		shell_command(cmd, n, file, line, true, o);
	}
	words_release(&w);
}

void flush_watch_unit(const char *name, const char *const *files, size_t nfiles, const char *table,
		      struct flush_findings *out)
{
	struct exec_lines e = { 0 };

	for (size_t i = 0; i < nfiles; i++)
		unit_file_read(files[i], &e);
	for (size_t i = 0; i < e.n; i++) {
		struct origin o = { .table = table, .out = out, .who = name, .when = exec_keys[e.v[i].key].when };

		exec_scan(e.v[i].value, e.v[i].file, e.v[i].line, &o);
	}
	for (size_t i = 0; i < e.n; i++) {
		free(e.v[i].value);
		free(e.v[i].file);
	}
	free(e.v);
}

struct names {
	char **v;
	size_t n, cap;
};

static void names_add(struct names *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return;
	x_grow(&l->v, &l->cap, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = x_strdup(s);
}

static void names_release(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_base(const void *a, const void *b)
{
	return strcmp(base_name(*(char *const *)a), base_name(*(char *const *)b));
}

/* qsort with an empty list may be handed NULL, which it must not be */
static void names_sort(char **v, size_t n, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp);
}

/* The entries of dir whose names end in suffix (any name when NULL), sorted, as full paths or bare names. */
static void dir_list(const char *dir, const char *suffix, bool full, struct names *out)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t first = out->n;

	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name), sl = suffix ? strlen(suffix) : 0;
		char *path;

		if (de->d_name[0] == '.' || n <= sl || (suffix && strcmp(de->d_name + n - sl, suffix) != 0))
			continue;
		path = x_asprintf("%s/%s", dir, de->d_name);
		names_add(out, full ? path : de->d_name);
		free(path);
	}
	closedir(d);
	names_sort(out->v + first, out->n - first, cmp_str);
}

/* One of systemd's unit directories, listed once: looking a unit up is then a search in memory, not a readlink, a
 * stat and an opendir per unit and directory (that probing was 1,000 system calls and 2-7 ms of every apply). */
struct unit_dir {
	const char *path;
	struct unit_entry {
		char *name;
		unsigned char type; /* DT_REG, DT_LNK, DT_DIR...; DT_UNKNOWN on file systems that do not say */
	} *v;
	size_t n, cap;
};

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct unit_entry *)a)->name, ((const struct unit_entry *)b)->name);
}

/* The entries of each directory of unit_dirs, sorted; one that is another's under a second name (/lib and /usr/lib
 * on a merged /usr) is left empty, as the earlier one already answers every lookup the same way. */
static void unit_dirs_read(struct unit_dir dirs[ARRAY_SIZE(unit_dirs)])
{
	struct stat seen[ARRAY_SIZE(unit_dirs)];

	for (size_t i = 0; i < ARRAY_SIZE(unit_dirs); i++) {
		struct unit_dir *u = &dirs[i];
		DIR *d = opendir(unit_dirs[i]);
		struct dirent *de;
		bool again = false;

		memset(u, 0, sizeof(*u));
		u->path = unit_dirs[i];
		memset(&seen[i], 0, sizeof(seen[i]));
		if (!d)
			continue;
		if (fstat(dirfd(d), &seen[i]) == 0)
			for (size_t k = 0; k < i; k++)
				again |= seen[k].st_ino == seen[i].st_ino && seen[k].st_dev == seen[i].st_dev;
		while (!again && (de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			x_grow(&u->v, &u->cap, u->n + 1, sizeof(*u->v));
			u->v[u->n++] = (struct unit_entry){ x_strdup(de->d_name), de->d_type };
		}
		closedir(d);
		if (u->n > 1)
			qsort(u->v, u->n, sizeof(*u->v), cmp_entry);
	}
}

static void unit_dirs_release(struct unit_dir dirs[ARRAY_SIZE(unit_dirs)])
{
	for (size_t i = 0; i < ARRAY_SIZE(unit_dirs); i++) {
		for (size_t k = 0; k < dirs[i].n; k++)
			free(dirs[i].v[k].name);
		free(dirs[i].v);
	}
}

static const struct unit_entry *unit_dir_find(const struct unit_dir *u, const char *name)
{
	struct unit_entry key = { (char *)name, 0 };

	return u->n ? bsearch(&key, u->v, u->n, sizeof(*u->v), cmp_entry) : NULL;
}

/* Units something pulls in: links in the .wants and .requires directories. */
static void enabled_units(const struct unit_dir dirs[ARRAY_SIZE(unit_dirs)], struct names *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(unit_dirs); i++) {
		for (size_t k = 0; k < dirs[i].n; k++) {
			const char *name = dirs[i].v[k].name;
			size_t n = strlen(name);
			char *path;

			if (!(n > 6 && strcmp(name + n - 6, ".wants") == 0) &&
			    !(n > 9 && strcmp(name + n - 9, ".requires") == 0))
				continue;
			path = x_asprintf("%s/%s", dirs[i].path, name);
			dir_list(path, ".service", false, out);
			free(path);
		}
	}
	names_sort(out->v, out->n, cmp_str);
}

/* The unit's file (the first in precedence order; a template's for an instance) and its drop-ins, in the order
 * systemd applies them. False when the unit is masked or has no file. */
static bool unit_files(const struct unit_dir dirs[ARRAY_SIZE(unit_dirs)], const char *name, struct names *files)
{
	struct names dropins = { 0 };
	char *template = NULL, *dropin_dir;
	const char *at = strchr(name, '@'), *dot = strrchr(name, '.');
	bool found = false;

	if (at && dot && at + 1 != dot)
		template = x_asprintf("%.*s%s", (int)(at - name + 1), name, dot);
	for (size_t pass = 0; pass < 2 && !found; pass++) {
		const char *want = pass ? template : name;

		for (size_t i = 0; want && i < ARRAY_SIZE(unit_dirs) && !found; i++) {
			const struct unit_entry *e = unit_dir_find(&dirs[i], want);
			bool link = e && (e->type == DT_LNK || e->type == DT_UNKNOWN);
			char *path, target[64];
			struct stat st;
			ssize_t n;

			if (!e)
				continue;
			path = x_asprintf("%s/%s", dirs[i].path, want);
			n = link ? readlink(path, target, sizeof(target) - 1) : -1;
			if (n > 0) {
				target[n] = '\0';
				if (strcmp(target, "/dev/null") == 0) {
					free(path);
					free(template);
					return false;
				}
			}
			if (e->type == DT_REG || (link && stat(path, &st) == 0 && S_ISREG(st.st_mode))) {
				names_add(files, path);
				found = true;
			}
			free(path);
		}
	}
	dropin_dir = x_asprintf("%s.d", name);
	for (size_t i = 0; found && i < ARRAY_SIZE(unit_dirs); i++) {
		struct names here = { 0 };
		char *dir;

		if (!unit_dir_find(&dirs[i], dropin_dir))
			continue;
		dir = x_asprintf("%s/%s", dirs[i].path, dropin_dir);
		dir_list(dir, ".conf", true, &here);
		for (size_t k = 0; k < here.n; k++) {
			bool shadowed = false;

			/* a drop-in of the same name in a directory of higher precedence replaces this one */
			for (size_t j = 0; j < dropins.n; j++)
				shadowed |= strcmp(base_name(dropins.v[j]), base_name(here.v[k])) == 0;
			if (!shadowed)
				names_add(&dropins, here.v[k]);
		}
		names_release(&here);
		free(dir);
	}
	free(dropin_dir);
	names_sort(dropins.v, dropins.n, cmp_base);
	for (size_t i = 0; i < dropins.n; i++)
		names_add(files, dropins.v[i]);
	names_release(&dropins);
	free(template);
	return found;
}

void flush_watch_scan(const char *table, struct flush_findings *out)
{
	struct unit_dir dirs[ARRAY_SIZE(unit_dirs)];
	struct names units = { 0 };

	memset(out, 0, sizeof(*out));
	unit_dirs_read(dirs);
	enabled_units(dirs, &units);
	for (size_t i = 0; i < units.n; i++) {
		struct names files = { 0 };

		if (unit_files(dirs, units.v[i], &files))
			flush_watch_unit(units.v[i], (const char *const *)files.v, files.n, table, out);
		names_release(&files);
	}
	names_release(&units);
	for (size_t i = 0; i < ARRAY_SIZE(unit_dirs) && !out->reapply_enabled; i++) {
		const struct unit_entry *wants = unit_dir_find(&dirs[i], "nftables.service.wants");
		char *link = x_asprintf("%s/nftables.service.wants/tlswall-reapply.service", unit_dirs[i]);
		struct stat st;

		out->reapply_enabled = wants && lstat(link, &st) == 0;
		free(link);
	}
	unit_dirs_release(dirs);
	for (size_t i = 0; i < ARRAY_SIZE(hooks); i++) {
		struct names scripts = { 0 };

		if (hooks[i].dir)
			dir_list(hooks[i].path, NULL, true, &scripts);
		else
			names_add(&scripts, hooks[i].path);
		for (size_t k = 0; k < scripts.n; k++) {
			struct stat st;

			/* a hook runs only when executable; interfaces(5) files are read, not run */
			if (!hooks[i].interfaces &&
			    (stat(scripts.v[k], &st) != 0 || !S_ISREG(st.st_mode) || !(st.st_mode & S_IXUSR)))
				continue;
			flush_watch_script(scripts.v[k], hooks[i].interfaces, hooks[i].who, table, out);
		}
		names_release(&scripts);
	}
}

/* ---- reports */

/* "starts, restarts or reloads": the occasions a unit's Exec settings run on */
static void when_text(unsigned when, struct sbuf *sb)
{
	const char *words[4];
	size_t n = 0;

	if (when & FLUSH_ON_START)
		words[n++] = "starts";
	if (when & (FLUSH_ON_START | FLUSH_ON_STOP))
		words[n++] = "restarts";
	if (when & FLUSH_ON_RELOAD)
		words[n++] = "reloads";
	if (when & FLUSH_ON_STOP)
		words[n++] = "stops";
	for (size_t i = 0; i < n; i++)
		sbuf_addf(sb, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", words[i]);
}

/* "\"flush ruleset\" deletes table inet tlswall whenever nftables.service starts, restarts or reloads (loaded by
 * FILE:LINE)" */
static char *finding_message(const struct flush_finding *f, const char *table)
{
	struct sbuf sb = { 0 };

	sbuf_addf(&sb, "\"%s\" %s table inet %s whenever %s", f->statement,
		  strncmp(f->statement, "flush table", 11) == 0 ? "empties" : "deletes", table, f->who);
	if (f->when) {
		sbuf_putc(&sb, ' ');
		when_text(f->when, &sb);
	}
	if (f->loaded_at)
		sbuf_addf(&sb, " (loaded by %s%s%s)", f->loaded_at, f->included_at ? ", included at " : "",
			  f->included_at ? f->included_at : "");
	return sbuf_detach(&sb);
}

size_t flush_watch_report(const char *table, struct diag_list *diags)
{
	struct flush_findings f;
	bool nftables = false, others = false;
	size_t n;

	flush_watch_scan(table, &f);
	for (size_t i = 0; i < f.n; i++) {
		char *msg = finding_message(&f.v[i], table);

		diag_warning(diags, f.v[i].file, f.v[i].line, "%s", msg);
		free(msg);
		if (strcmp(f.v[i].who, "nftables.service") == 0)
			nftables = true;
		else
			others = true;
	}
	if (nftables && f.reapply_enabled)
		diag_note(diags, NULL, 0, "tlswall-reapply.service is enabled: it applies the policy again after "
					  "nftables.service starts, restarts or reloads");
	else if (nftables)
		diag_note(diags, NULL, 0, "\"systemctl enable tlswall\" orders tlswall after nftables.service at boot and "
					  "enables tlswall-reapply.service, which applies the policy again after "
					  "nftables.service starts, restarts or reloads");
	if (others)
		diag_note(diags, NULL, 0, "after such a flush, \"systemctl reload tlswall\" or \"tlswall apply\" puts the "
					  "table back");
	n = f.n;
	flush_findings_release(&f);
	return n;
}
