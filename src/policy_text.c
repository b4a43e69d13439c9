#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tlswall/diag.h"
#include "tlswall/policy_text.h"
#include "tlswall/util.h"

struct segment {
	unsigned first;     /* the first line of the whole text it covers */
	const char *file;   /* interned in files */
	unsigned file_line; /* that line's number in file */
};

struct policy_text {
	struct sbuf text;
	unsigned line; /* the line the end of text is on */
	struct segment *segs;
	size_t nsegs, capsegs;
	char **files;
	size_t nfiles, capfiles;
};

/* A file being expanded: a file among them that includes one of them again is a loop. */
struct frame {
	dev_t dev;
	ino_t ino;
	const char *name;
};

struct reader {
	struct policy_text *t;
	struct diag_list *d;
	bool check_trust;
	enum trust_mode trust;
	char *dir; /* relative includes are read from here: "" or a path ending in '/' */
	struct frame stack[POLICY_TEXT_MAX_INCLUDES + 1];
	size_t depth;
	unsigned nesting;
	bool failed;
};

static const char *intern(struct policy_text *t, const char *name)
{
	for (size_t i = 0; i < t->nfiles; i++)
		if (strcmp(t->files[i], name) == 0)
			return t->files[i];
	x_grow(&t->files, &t->capfiles, t->nfiles + 1, sizeof(*t->files));
	t->files[t->nfiles] = x_strdup(name);
	return t->files[t->nfiles++];
}

/* From the current end of the text on, lines come from file, starting at file_line. */
static void mark(struct policy_text *t, const char *file, unsigned file_line)
{
	struct segment *s;

	if (t->nsegs && t->segs[t->nsegs - 1].first == t->line) {
		s = &t->segs[t->nsegs - 1]; /* what the last mark announced holds no line: an empty file */
	} else {
		x_grow(&t->segs, &t->capsegs, t->nsegs + 1, sizeof(*t->segs));
		s = &t->segs[t->nsegs++];
	}
	s->first = t->line;
	s->file = file;
	s->file_line = file_line;
}

static void put(struct policy_text *t, const char *s, size_t n)
{
	for (const char *p = s, *end = s + n; (p = memchr(p, '\n', (size_t)(end - p))); p++)
		t->line++;
	sbuf_add(&t->text, s, n);
}

static void fail(struct reader *r, const char *file, unsigned line, const char *fmt, ...) TW_PRINTF(4, 5);

static void fail(struct reader *r, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = x_vasprintf(fmt, ap);
	va_end(ap);
	diag_error(r->d, file, line, "%s", msg);
	free(msg);
	r->failed = true;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_xdigit(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* libconfig's names: [A-Za-z*][-A-Za-z0-9_*]* (true and false are names here too). */
static bool is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '*';
}

static bool is_name_char(char c)
{
	return is_name_start(c) || is_digit(c) || c == '-' || c == '_';
}

static int xdigit_value(char c)
{
	return is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* The end of an exponent [eE][-+]?[0-9]+ starting at i, or i when there is none. */
static size_t exponent_end(const char *s, size_t i, size_t len)
{
	size_t j = i + 1;

	if (i >= len || (s[i] != 'e' && s[i] != 'E'))
		return i;
	if (j < len && (s[j] == '-' || s[j] == '+'))
		j++;
	if (j >= len || !is_digit(s[j]))
		return i;
	while (j < len && is_digit(s[j]))
		j++;
	return j;
}

/* The end of an L or LL suffix at i (i when there is none). */
static size_t suffix_end(const char *s, size_t i, size_t len)
{
	if (i < len && s[i] == 'L')
		i++;
	if (i < len && s[i] == 'L')
		i++;
	return i;
}

/*
 * A number token at i, matched the way libconfig's scanner does (the longest of its float, integer and hex
 * patterns). libconfig 1.5 keeps an integer written without an L suffix in 32 bits: 4294967739 becomes 443, and
 * 0x1000001bb too. Such an integer gets its L here, which makes libconfig keep all 64 bits, so the setting's own
 * range check sees the number that was written. Beyond 64 bits libconfig saturates, and that is an error here.
 * Returns the end of the token.
 */
static size_t number(struct reader *r, const char *file, unsigned line, const char *s, size_t len, size_t i,
		     size_t *copied)
{
	size_t j = i + (s[i] == '-' || s[i] == '+'), digits_end = j, float_end = 0, int_end = 0, hex_end = 0, end;
	uint64_t mag = 0;
	bool overflow = false, has_suffix, hex = false;

	while (digits_end < len && is_digit(s[digits_end]))
		digits_end++;
	if (digits_end > j)
		int_end = suffix_end(s, digits_end, len);
	if (digits_end < len && s[digits_end] == '.') {
		size_t k = digits_end + 1;

		while (k < len && is_digit(s[k]))
			k++;
		float_end = exponent_end(s, k, len);
	} else if (digits_end > j && exponent_end(s, digits_end, len) > digits_end) {
		float_end = exponent_end(s, digits_end, len);
	}
	if (j == i && s[i] == '0' && i + 2 < len && (s[i + 1] == 'x' || s[i + 1] == 'X') && is_xdigit(s[i + 2])) {
		size_t k = i + 2;

		while (k < len && is_xdigit(s[k]))
			k++;
		hex_end = suffix_end(s, k, len);
		digits_end = k;
		hex = true;
	}
	if (float_end > int_end && float_end > hex_end)
		return float_end;
	if (!hex && !int_end)
		return i + 1; /* a sign on its own: libconfig's syntax error */
	end = hex ? hex_end : int_end;
	has_suffix = end > digits_end;
	for (size_t k = hex ? i + 2 : j; k < digits_end; k++) {
		unsigned base = hex ? 16 : 10, digit = (unsigned)(hex ? xdigit_value(s[k]) : s[k] - '0');

		if (mag > (UINT64_MAX - digit) / base)
			overflow = true;
		else
			mag = mag * base + digit;
	}
	if (overflow || mag > (s[i] == '-' ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX)) {
		fail(r, file, line, "the number %.*s is out of range: every number in a policy is a port (1-65535) or the "
				    "version (1)",
		     (int)(end - i), s + i);
		return end;
	}
	if (!has_suffix && mag > (s[i] == '-' ? (uint64_t)INT_MAX + 1 : (uint64_t)INT_MAX)) {
		put(r->t, s + *copied, digits_end - *copied);
		put(r->t, "L", 1);
		*copied = digits_end;
	}
	return end;
}

/*
 * `^[ \t]*@include[ \t]+"NAME"` at the start of a line, as libconfig's scanner matches it. Returns the length of the
 * line (its newline left out) with the name in *name, or 0 when the line is not an include. A line that is one but
 * is malformed is reported, and its length returned all the same.
 */
static size_t include_line(struct reader *r, const char *file, unsigned line, const char *s, size_t len,
			   struct sbuf *name)
{
	size_t i = 0, k;

	while (i < len && is_blank(s[i]))
		i++;
	if (len - i < 8 || memcmp(s + i, "@include", 8) != 0)
		return 0;
	k = i + 8;
	while (k < len && is_blank(s[k]))
		k++;
	if (k == i + 8 || k >= len || s[k] != '"')
		return 0; /* not an include to libconfig either: a syntax error it reports */
	for (k++; k < len && s[k] != '"' && s[k] != '\n'; k++) {
		if (s[k] == '\\' && k + 1 < len && (s[k + 1] == '\\' || s[k + 1] == '"'))
			k++;
		sbuf_putc(name, s[k]);
	}
	if (k >= len || s[k] != '"') {
		fail(r, file, line, "@include: the file name has no closing '\"' on this line");
		return k;
	}
	/* libconfig skips carriage returns and form feeds as it does blanks: a CRLF file includes as well */
	for (k++; k < len && (is_blank(s[k]) || s[k] == '\r' || s[k] == '\f'); k++)
		;
	if (k < len && s[k] != '\n' && s[k] != '#' && !(s[k] == '/' && k + 1 < len && s[k + 1] == '/')) {
		fail(r, file, line, "@include \"%s\" must be on a line of its own", name->buf ? name->buf : "");
		return k;
	}
	while (k < len && s[k] != '\n')
		k++;
	return k;
}

static void expand(struct reader *r, const char *file, const char *s, size_t len);

static bool read_all(int fd, char **buf, size_t *len)
{
	size_t cap = 4096;

	*len = 0;
	*buf = x_malloc(cap);
	for (;;) {
		ssize_t n;

		if (*len == cap) {
			cap *= 2;
			*buf = x_reallocarray(*buf, cap, 1);
		}
		n = read(fd, *buf + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(*buf);
			*buf = NULL;
			return false;
		}
		if (n == 0)
			return true;
		*len += (size_t)n;
	}
}

static void include_file(struct reader *r, const char *from, unsigned line, const char *name)
{
	char *path = name[0] == '/' ? x_strdup(name) : x_asprintf("%s%s", r->dir, name);
	const char *label;
	char *text = NULL;
	struct stat st;
	size_t len;
	int fd = -1;

	if (!name[0]) {
		fail(r, from, line, "@include \"\" names no file");
		goto out;
	}
	if (r->depth > POLICY_TEXT_MAX_INCLUDES) {
		fail(r, from, line, "@include \"%s\": included files are nested more than %d deep", name,
		     POLICY_TEXT_MAX_INCLUDES);
		goto out;
	}
	/* O_NONBLOCK: a FIFO is refused below instead of waiting for a writer */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) != 0) {
		fail(r, from, line, "@include \"%s\": cannot read %s: %s", name, path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(r, from, line, "@include \"%s\": %s is not a regular file", name, path);
		goto out;
	}
	label = intern(r->t, path);
	for (size_t i = 0; i < r->depth; i++)
		if (r->stack[i].dev == st.st_dev && r->stack[i].ino == st.st_ino) {
			struct sbuf chain = { 0 };

			for (size_t k = i; k < r->depth; k++)
				sbuf_addf(&chain, "%s -> ", r->stack[k].name);
			sbuf_puts(&chain, label);
			fail(r, from, line, "@include \"%s\" makes a loop (%s): a file cannot include itself", name,
			     chain.buf);
			sbuf_release(&chain);
			goto out;
		}
	if (r->check_trust)
		trust_check_fd(fd, label, r->trust, r->d);
	if (!read_all(fd, &text, &len)) {
		fail(r, from, line, "@include \"%s\": cannot read %s: %s", name, path, strerror(errno));
		goto out;
	}
	r->stack[r->depth++] = (struct frame){ st.st_dev, st.st_ino, label };
	expand(r, label, text, len);
	r->depth--;
out:
	if (fd >= 0)
		close(fd);
	free(text);
	free(path);
}

static void expand(struct reader *r, const char *file, const char *s, size_t len)
{
	enum { CODE, STRING, COMMENT } state = CODE;
	const char *nul = memchr(s, '\0', len);
	unsigned line = 1, opened = 0;
	size_t i = 0, copied;
	bool bol = true;

	if (nul) {
		for (const char *p = s; (p = memchr(p, '\n', (size_t)(nul - p))); p++)
			line++;
		fail(r, file, line, "the file holds a NUL byte, so it is not a policy");
		return;
	}
	/* Some editors start UTF-8 files with a byte order mark; it is not part of the text. */
	if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	copied = i;
	mark(r->t, file, 1);
	while (i < len && !r->failed) {
		char c = s[i];

		if (c == '\n') {
			line++;
			bol = true;
			i++;
			continue;
		}
		if (state == STRING) {
			if (c == '\\' && i + 1 < len && (s[i + 1] == '"' || s[i + 1] == '\\'))
				i++;
			else if (c == '"')
				state = CODE;
			bol = false;
			i++;
			continue;
		}
		if (state == COMMENT) {
			if (c == '*' && i + 1 < len && s[i + 1] == '/') {
				state = CODE;
				i++;
			}
			bol = false;
			i++;
			continue;
		}
		if (bol) {
			struct sbuf name = { 0 };
			size_t n = include_line(r, file, line, s + i, len - i, &name);

			bol = false;
			if (n && !r->failed) {
				/* the include replaces its line; what follows starts a line, as it does for libconfig */
				put(r->t, s + copied, i - copied);
				include_file(r, file, line, name.buf ? name.buf : "");
				if (r->t->text.len && r->t->text.buf[r->t->text.len - 1] != '\n')
					put(r->t, "\n", 1);
				i += n;
				if (i < len) {
					i++;
					line++;
					bol = true;
				}
				copied = i;
				mark(r->t, file, line);
			}
			sbuf_release(&name);
			if (n)
				continue;
		}
		bol = false;
		if (c == '"') {
			state = STRING;
			opened = line;
		} else if (c == '/' && i + 1 < len && s[i + 1] == '*') {
			state = COMMENT;
			opened = line;
			i++;
		} else if (c == '#' || (c == '/' && i + 1 < len && s[i + 1] == '/')) {
			while (i + 1 < len && s[i + 1] != '\n')
				i++;
		} else if (is_name_start(c)) {
			while (i + 1 < len && is_name_char(s[i + 1]))
				i++;
		} else if (is_digit(c) || c == '.' || c == '-' || c == '+') {
			i = number(r, file, line, s, len, i, &copied);
			continue;
		} else if (c == '(' || c == '[' || c == '{') {
			if (++r->nesting > POLICY_TEXT_MAX_NESTING)
				fail(r, file, line, "groups, lists and arrays are nested more than %d deep here; a policy "
						    "needs three levels at most",
				     POLICY_TEXT_MAX_NESTING);
		} else if ((c == ')' || c == ']' || c == '}') && r->nesting) {
			r->nesting--;
		}
		i++;
	}
	if (r->failed)
		return;
	put(r->t, s + copied, len - copied);
	if (state == STRING)
		fail(r, file, opened, "this string is not closed: a '\"' is missing");
	else if (state == COMMENT)
		fail(r, file, opened, "this comment is not closed: a '*/' is missing");
}

static struct policy_text *read_text(struct reader *r, const char *name, const char *text, size_t len,
				     const struct stat *st)
{
	const char *slash = strrchr(name, '/');
	struct policy_text *t = x_calloc(1, sizeof(*t));

	t->line = 1;
	r->t = t;
	r->dir = slash ? x_strndup(name, (size_t)(slash - name) + 1) : x_strdup("");
	r->stack[0] = (struct frame){ st ? st->st_dev : 0, st ? st->st_ino : 0, intern(t, name) };
	r->depth = 1;
	expand(r, r->stack[0].name, text, len);
	free(r->dir);
	sbuf_puts(&t->text, ""); /* an empty text is still a string */
	if (r->failed) {
		policy_text_free(t);
		return NULL;
	}
	return t;
}

struct policy_text *policy_text_read_file(const char *path, enum trust_mode trust, struct diag_list *diags)
{
	struct reader r = { .d = diags, .check_trust = true, .trust = trust };
	struct policy_text *t = NULL;
	struct stat st;
	bool have_st;
	char *text;
	size_t len;
	int fd;

	/* O_NONBLOCK: a FIFO is refused below instead of waiting for a writer (at boot, for ever) */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		diag_error(diags, path, 0, "cannot read policy file: %s", strerror(errno));
		return NULL;
	}
	have_st = fstat(fd, &st) == 0;
	if (have_st && !S_ISREG(st.st_mode)) {
		diag_error(diags, path, 0, "cannot read policy file: %s", S_ISDIR(st.st_mode) ? "it is a directory" :
					   "it is not a regular file");
		close(fd);
		return NULL;
	}
	trust_check_fd(fd, path, trust, diags);
	if (!read_all(fd, &text, &len))
		diag_error(diags, path, 0, "cannot read policy file: %s", strerror(errno));
	else
		t = read_text(&r, path, text, len, have_st ? &st : NULL);
	free(text);
	close(fd);
	return t;
}

struct policy_text *policy_text_from_string(const char *text, const char *name, struct diag_list *diags)
{
	struct reader r = { .d = diags };

	return read_text(&r, name, text, strlen(text), NULL);
}

void policy_text_free(struct policy_text *t)
{
	if (!t)
		return;
	sbuf_release(&t->text);
	for (size_t i = 0; i < t->nfiles; i++)
		free(t->files[i]);
	free(t->files);
	free(t->segs);
	free(t);
}

const char *policy_text_get(const struct policy_text *t)
{
	return t->text.buf;
}

void policy_text_locate(const struct policy_text *t, unsigned line, const char **file, unsigned *file_line)
{
	size_t lo = 0, hi = t->nsegs;

	/* the last segment that starts at or before line */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->segs[mid].first <= line)
			lo = mid;
		else
			hi = mid;
	}
	*file = t->segs[lo].file;
	*file_line = line >= t->segs[lo].first ? t->segs[lo].file_line + (line - t->segs[lo].first) : 0;
}
