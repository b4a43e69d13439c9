/* Small helpers every module uses: allocation that never returns NULL, and a growable string. */
#ifndef TLSWALL_UTIL_H
#define TLSWALL_UTIL_H

#include <endian.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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
/* Adds item to the ", "-separated list in sb unless it is an entry already (a whole entry: "443/tcp" is not one of
 * "8443/tcp"). */
void sbuf_add_item(struct sbuf *sb, const char *item);
/* Text from files and the kernel as it may reach a terminal: control characters (C0, DEL, C1), bidirectional
 * overrides, line separators and bytes that are not UTF-8 are written as \t, \n, \r, \xNN or \uNNNN, so no
 * input can clear the screen, move the cursor, retitle the window or reorder what is shown. Anything else,
 * valid UTF-8 included, is written as it is. */
void sbuf_put_printable(struct sbuf *sb, const char *s, size_t n);
/* The same, as a new string. */
char *printable_dup(const char *s);
/* fprintf for a message that quotes names from the kernel or text from files: all of it is written as
 * sbuf_put_printable makes it, but a final newline. */
void fprintf_printable(FILE *out, const char *fmt, ...) TW_PRINTF(2, 3);
/* Whether s is valid UTF-8 that sbuf_put_printable would leave as it is. */
bool printable_text(const char *s);
/* The length of the valid UTF-8 sequence at s (at most n bytes), with its code point in *cp; 0 when the bytes there
 * are not one (overlong, surrogate, beyond U+10FFFF, cut short). */
size_t utf8_decode(const unsigned char *s, size_t n, unsigned *cp);
/* n bytes as 2n lower-case hex digits and a NUL, into out (2n + 1 bytes). */
void hex_encode(const void *bytes, size_t n, char *out);
/* The same, as a new string. */
char *hex_dup(const void *bytes, size_t n);
/* n bytes from the 2n lower-case hex digits at s (what hex_encode writes), into out; false at any other character. */
bool hex_decode(const char *s, size_t n, void *out);
/* Big-endian (network order) words at unaligned addresses: a byte swap, one instruction, on the little-endian hosts
 * tlswall runs on; a million-range list goes through these, so they are inline. */
static inline uint32_t be32_load(const uint8_t *b)
{
	uint32_t v;

	memcpy(&v, b, 4);
	return be32toh(v);
}

static inline uint64_t be64_load(const uint8_t *b)
{
	uint64_t v;

	memcpy(&v, b, 8);
	return be64toh(v);
}

static inline void be32_store(uint32_t v, uint8_t *b)
{
	v = htobe32(v);
	memcpy(b, &v, 4);
}

static inline void be64_store(uint64_t v, uint8_t *b)
{
	v = htobe64(v);
	memcpy(b, &v, 8);
}

/* Hands the buffer to the caller (never NULL) and leaves sb empty. */
char *sbuf_detach(struct sbuf *sb);
void sbuf_release(struct sbuf *sb);

/* Edit distance, for "did you mean" suggestions. */
size_t levenshtein(const char *a, const char *b);

/* path made absolute against the working directory (symbolic links are not resolved): what a path means once the
 * shell it was typed in is gone. */
char *absolute_path_dup(const char *path);

#endif
