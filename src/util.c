#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tlswall/util.h"

static void out_of_memory(void)
{
	fputs("tlswall: out of memory\n", stderr);
	exit(1);
}

void *x_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		out_of_memory();
	return p;
}

void *x_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		out_of_memory();
	return p;
}

void *x_reallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		out_of_memory();
	p = realloc(p, n * size > 0 ? n * size : 1);
	if (!p)
		out_of_memory();
	return p;
}

void *x_nonnull(void *p)
{
	if (!p)
		out_of_memory();
	return p;
}

char *x_strdup(const char *s)
{
	return x_strndup(s, strlen(s));
}

char *x_strndup(const char *s, size_t n)
{
	char *p = x_malloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *x_vasprintf(const char *fmt, va_list ap)
{
	va_list copy;
	int n;
	char *p;

	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		out_of_memory();
	p = x_malloc((size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *x_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = x_vasprintf(fmt, ap);
	va_end(ap);
	return p;
}

void x_grow(void *p, size_t *cap, size_t need, size_t size)
{
	void **pp = p;
	size_t n = *cap ? *cap : 8;

	if (need <= *cap)
		return;
	while (n < need)
		n = n > SIZE_MAX / 2 ? need : n * 2;
	*pp = x_reallocarray(*pp, n, size);
	*cap = n;
}

void sbuf_add(struct sbuf *sb, const char *s, size_t n)
{
	x_grow(&sb->buf, &sb->cap, sb->len + n + 1, 1);
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void sbuf_puts(struct sbuf *sb, const char *s)
{
	sbuf_add(sb, s, strlen(s));
}

void sbuf_putc(struct sbuf *sb, char c)
{
	sbuf_add(sb, &c, 1);
}

void sbuf_addf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap, copy;
	int n;

	va_start(ap, fmt);
	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		out_of_memory();
	x_grow(&sb->buf, &sb->cap, sb->len + (size_t)n + 1, 1);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
	va_end(ap);
}

size_t utf8_decode(const unsigned char *s, size_t n, unsigned *cp)
{
	size_t len;
	unsigned c, min;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2, c = s[0] & 0x1f, min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3, c = s[0] & 0x0f, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Code points a terminal acts on or that change how the text around them reads. */
static bool unprintable(unsigned cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

void sbuf_put_printable(struct sbuf *sb, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	while (p < end) {
		const unsigned char *run = p;
		unsigned cp = 0;
		size_t len;

		while (p < end && (len = utf8_decode(p, (size_t)(end - p), &cp)) && !unprintable(cp))
			p += len;
		sbuf_add(sb, (const char *)run, (size_t)(p - run));
		if (p == end)
			break;
		len = utf8_decode(p, (size_t)(end - p), &cp);
		if (len > 1) {
			sbuf_addf(sb, "\\u%04x", cp);
		} else if (len == 1 && (cp == '\t' || cp == '\n' || cp == '\r')) {
			sbuf_addf(sb, "\\%c", cp == '\t' ? 't' : cp == '\n' ? 'n' : 'r');
		} else {
			sbuf_addf(sb, "\\x%02x", *p);
			len = 1;
		}
		p += len;
	}
}

void fprintf_printable(FILE *out, const char *fmt, ...)
{
	struct sbuf sb = { 0 };
	va_list ap;
	char *text;
	size_t n;

	va_start(ap, fmt);
	text = x_vasprintf(fmt, ap);
	va_end(ap);
	n = strlen(text);
	sbuf_put_printable(&sb, text, n && text[n - 1] == '\n' ? n - 1 : n);
	if (n && text[n - 1] == '\n')
		sbuf_putc(&sb, '\n');
	if (sb.len)
		fwrite(sb.buf, 1, sb.len, out);
	sbuf_release(&sb);
	free(text);
}

bool printable_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	while (n) {
		unsigned cp;
		size_t len = utf8_decode(p, n, &cp);

		if (!len || unprintable(cp))
			return false;
		p += len;
		n -= len;
	}
	return true;
}

char *printable_dup(const char *s)
{
	struct sbuf sb = { 0 };

	sbuf_put_printable(&sb, s, strlen(s));
	return sbuf_detach(&sb);
}

char *sbuf_detach(struct sbuf *sb)
{
	char *p = sb->buf ? sb->buf : x_strdup("");

	sb->buf = NULL;
	sb->len = sb->cap = 0;
	return p;
}

void hex_encode(const void *bytes, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *b = bytes;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hex_value(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool hex_decode(const char *s, size_t n, void *out)
{
	unsigned char *b = out;

	for (size_t i = 0; i < n; i++) {
		int hi = hex_value(s[2 * i]), lo;

		/* the second digit is not looked at past a NUL that ends s early */
		if (hi < 0 || (lo = hex_value(s[2 * i + 1])) < 0)
			return false;
		b[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

char *hex_dup(const void *bytes, size_t n)
{
	char *s = x_malloc(2 * n + 1);

	hex_encode(bytes, n, s);
	return s;
}

void sbuf_add_item(struct sbuf *sb, const char *item)
{
	size_t n = strlen(item);

	for (const char *p = sb->buf; p && (p = strstr(p, item)); p += n)
		if ((p == sb->buf || (p - sb->buf >= 2 && p[-2] == ',' && p[-1] == ' ')) && (p[n] == ',' || p[n] == '\0'))
			return;
	if (sb->len)
		sbuf_puts(sb, ", ");
	sbuf_puts(sb, item);
}

void sbuf_release(struct sbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->cap = 0;
}

/* Levenshtein distance in which swapping two adjacent letters is one edit, not two (optimal string alignment):
 * "form" is a typo of "from" far more often than of "port". */
size_t levenshtein(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *rows = x_calloc(3 * (lb + 1), sizeof(*rows));
	size_t *before = rows, *prev = rows + lb + 1, *row = rows + 2 * (lb + 1);
	size_t result;

	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t *t;

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = prev[j - 1] + cost;

			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && before[j - 2] + 1 < best)
				best = before[j - 2] + 1;
			row[j] = best;
		}
		t = before;
		before = prev;
		prev = row;
		row = t;
	}
	result = prev[lb];
	free(rows);
	return result;
}

char *absolute_path_dup(const char *path)
{
	char cwd[4096];

	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return x_strdup(path);
	return x_asprintf("%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "", path);
}
