/* Prometheus's text exposition format (0.0.4), as node_exporter's textfile collector reads it: each family once,
 * with its HELP and TYPE lines, then its samples; label values escaped. */
#ifndef TLSWALL_PROM_H
#define TLSWALL_PROM_H

#include <stdint.h>

#include "tlswall/util.h"

#if defined(__GNUC__) || defined(__clang__)
#define TW_SENTINEL __attribute__((sentinel))
#else
#define TW_SENTINEL
#endif

struct sbuf;

/* type: "counter" or "gauge" */
void prom_family(struct sbuf *sb, const char *name, const char *type, const char *help);
/* One sample of the family just started; the labels are name, value pairs ending with NULL. */
void prom_u64(struct sbuf *sb, const char *name, uint64_t value, ...) TW_SENTINEL;
void prom_i64(struct sbuf *sb, const char *name, int64_t value, ...) TW_SENTINEL;

#endif
