/* Small helpers every module uses: allocation that never returns NULL, and a growable string. */
#ifndef TLSWALL_UTIL_H
#define TLSWALL_UTIL_H

#include <stdarg.h>
#include <stddef.h>

#if defined(__GNUC__) || defined(__clang__)
/* Lets -Wformat check every printf-like call site; harmless to drop on other compilers. */
#define TW_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define TW_PRINTF(fmt, args)
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A CLI that runs out of memory cannot do anything useful: these print and exit(1) instead of returning NULL.
 * Nothing has been sent to the kernel at any point where they are called. */
void *x_malloc(size_t n);
void *x_calloc(size_t n, size_t size);
void *x_reallocarray(void *p, size_t n, size_t size);
/* For constructors of other libraries (libnftnl, jansson) that return NULL only when out of memory. */
void *x_nonnull(void *p);
char *x_strdup(const char *s);
char *x_strndup(const char *s, size_t n);
char *x_asprintf(const char *fmt, ...) TW_PRINTF(1, 2);
char *x_vasprintf(const char *fmt, va_list ap) TW_PRINTF(1, 0);

/* Grow *p (holding *cap elements of size) so it can take at least need elements. */
void x_grow(void *p, size_t *cap, size_t need, size_t size);

struct sbuf {
	char *buf;
	size_t len, cap;
};

void sbuf_add(struct sbuf *sb, const char *s, size_t n);
void sbuf_puts(struct sbuf *sb, const char *s);
void sbuf_putc(struct sbuf *sb, char c);
void sbuf_addf(struct sbuf *sb, const char *fmt, ...) TW_PRINTF(2, 3);
/* Hands the buffer to the caller (never NULL) and leaves sb empty. */
char *sbuf_detach(struct sbuf *sb);
void sbuf_release(struct sbuf *sb);

/* Edit distance, for "did you mean" suggestions. */
size_t levenshtein(const char *a, const char *b);

#endif
