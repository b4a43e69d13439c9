/* What a live table counted, per policy entry: the packets and bytes its chain accepted, and what its payload
 * checks refused. What show, show --json and the metrics report. */
#ifndef TLSWALL_SERVICE_COUNTERS_H
#define TLSWALL_SERVICE_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rs_table;

struct service_counters {
	const char *chain;                /* svc.NAME, exempt.NAME (or a chain someone added by hand) */
	uint64_t packets, bytes;
	bool checked;                     /* its payload is checked (require_tls, guard_credentials) */
	uint64_t plaintext_packets, plaintext_bytes; /* what the checks refused */
};

struct table_counters {
	struct service_counters *services;
	size_t nservices;
	uint64_t dropped_packets, dropped_bytes; /* what the input chain dropped or rejected */
	/* what the forward chain dropped or rejected: new connections to published ports. The service chains count
	 * local and forwarded connections together: both pass through them, judged by the same rules. */
	bool forwarding; /* the table has a forward chain (published_ports) */
	uint64_t forwarded_dropped_packets, forwarded_dropped_bytes;
};

void table_counters(const struct rs_table *t, struct table_counters *out);
void table_counters_release(struct table_counters *c);

#endif
