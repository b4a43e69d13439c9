/* One kernel transaction for a verb: replace tlswall's table with a planned one, or delete it, guarded by the
 * generation the plan was made against, with every kernel error reported against the object and policy line. */
#ifndef TLSWALL_COMMIT_H
#define TLSWALL_COMMIT_H

#include <stdbool.h>
#include <stdint.h>

struct diff;
struct nl;
struct rs_table;
struct state;

/* planned NULL deletes table inet name. With d (planned vs live) showing only element changes, only those are sent
 * (counters keep counting); otherwise the table is replaced whole. With st, the result is recorded so the next
 * read can skip the dump. Returns 0 once committed, or -errno (already reported on stderr). */
int commit_table(struct nl *nl, struct state *st, const struct rs_table *planned, const struct diff *d, const char *name,
		 uint32_t genid, const char *origin, bool verbose);

/* "Permission denied"-style reasons for failing to reach the kernel at all, with the usual cause. */
void commit_report_open_error(int err);

/* Opens netfilter and reads table inet name (NULL in *live when absent), from tlswall's record when nothing has been
 * committed since tlswall's own last commit (st may be NULL: always dump; *from_record, if given, says which).
 * 0, or -errno already reported. */
int live_read(const char *name, struct state *st, struct nl **nl, struct rs_table **live, uint32_t *genid,
	      bool *from_record);

#endif
