#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "tlswall/prom.h"
#include "tlswall/util.h"

/* HELP text escapes \ and newline; a label value also ". Both must be UTF-8: a chain name from the kernel can hold
 * any bytes, and each one that is not valid UTF-8, or is a control character, becomes U+FFFD (as in --json). */
static void put_escaped(struct sbuf *sb, const char *s, bool quotes)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned cp;
		size_t len;

		if (*p == '\\' || (*p == '"' && quotes)) {
			sbuf_putc(sb, '\\');
			sbuf_putc(sb, (char)*p++);
		} else if (*p == '\n') {
			sbuf_puts(sb, "\\n");
			p++;
		} else if (*p < 0x20 || *p == 0x7f) {
			sbuf_puts(sb, "\xef\xbf\xbd");
			p++;
		} else if (*p < 0x80) {
			sbuf_putc(sb, (char)*p++);
		} else if ((len = utf8_decode(p, strnlen((const char *)p, 4), &cp))) {
			sbuf_add(sb, (const char *)p, len);
			p += len;
		} else {
			sbuf_puts(sb, "\xef\xbf\xbd");
			p++;
		}
	}
}

void prom_family(struct sbuf *sb, const char *name, const char *type, const char *help)
{
	sbuf_addf(sb, "# HELP %s ", name);
	put_escaped(sb, help, false);
	sbuf_addf(sb, "\n# TYPE %s %s\n", name, type);
}

static void put_labels(struct sbuf *sb, va_list ap)
{
	const char *key;
	bool first = true;

	while ((key = va_arg(ap, const char *))) {
		const char *value = va_arg(ap, const char *);

		sbuf_puts(sb, first ? "{" : ",");
		sbuf_addf(sb, "%s=\"", key);
		put_escaped(sb, value ? value : "", true);
		sbuf_putc(sb, '"');
		first = false;
	}
	if (!first)
		sbuf_putc(sb, '}');
}

void prom_u64(struct sbuf *sb, const char *name, uint64_t value, ...)
{
	va_list ap;

	sbuf_puts(sb, name);
	va_start(ap, value);
	put_labels(sb, ap);
	va_end(ap);
	sbuf_addf(sb, " %" PRIu64 "\n", value);
}

void prom_i64(struct sbuf *sb, const char *name, int64_t value, ...)
{
	va_list ap;

	sbuf_puts(sb, name);
	va_start(ap, value);
	put_labels(sb, ap);
	va_end(ap);
	sbuf_addf(sb, " %" PRId64 "\n", value);
}
