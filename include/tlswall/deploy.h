/* Safe deployment: snapshots to roll back to, the pending confirmation, and the rollback timer that enforces it.
 * The timer is a separate, detached process (started before the commit), so killing tlswall, losing the SSH
 * session that ran it, or a crash cannot stop the rollback; it stays in the network namespace apply ran in. */
#ifndef TLSWALL_DEPLOY_H
#define TLSWALL_DEPLOY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct rs_table;
struct state;

struct pending {
	char token[33];        /* identifies this confirmation: a stale timer never acts on a newer one */
	int64_t applied_at;    /* wall clock, seconds */
	int64_t deadline;      /* wall clock, seconds, for status */
	uint64_t netns;        /* inode of the network namespace apply ran in */
	pid_t timer_pid;
	uint64_t timer_start;  /* the timer's start time in /proc/PID/stat, so a reused pid is never signalled */
	char policy[4096];
	char table[64];
};

/* Opens the state directory (dir NULL: the default), locks it when lock is set, and reads the pending confirmation.
 * NULL, after saying why on stderr, when any of it fails. */
struct state *deploy_open(const char *dir, bool lock, struct pending *p, bool *exists);

/* false with *error when the file exists but cannot be read; *exists says whether there is one. */
bool pending_read(struct state *st, struct pending *p, bool *exists, char **error);
bool pending_write(struct state *st, const struct pending *p, char **error);
void pending_new(struct pending *p, const char *policy, const char *table, unsigned seconds);

/* The inode of this process's network namespace: what tells namespaces apart. */
uint64_t deploy_netns(void);

/* Starts the rollback timer for p (fills timer_pid and timer_start). */
bool timer_start(struct state *st, struct pending *p, unsigned seconds, char **error);
/* Stops it, if it is still the process that was started. */
void timer_stop(const struct pending *p);
bool timer_alive(const struct pending *p);

/* Saves t (NULL: "no table") as a snapshot file in the state directory. */
bool snapshot_save(struct state *st, const char *file, const struct rs_table *t, const char *table_name,
		   const char *origin, char **error);
/* Loads a snapshot file; false with *error if missing or damaged. *t NULL means "no table". */
bool snapshot_load(struct state *st, const char *file, struct rs_table **t, char **table_name, char **origin,
		   char **error);

/* Makes the kernel hold want (NULL: no table inet name), in one transaction, retried if someone commits in
 * between. origin says where want came from (a policy path, ...): the record of the commit keeps it, and status
 * shows it once an apply saves that record as the table it replaced. 0 or -errno, reported on stderr. */
int deploy_install(struct state *st, const struct rs_table *want, const char *name, const char *origin, bool verbose);
/* Makes the kernel hold snapshot file (one transaction, retried if someone commits in between). 0 or -errno,
 * reported on stderr. */
int deploy_restore(struct state *st, const char *file, bool verbose);

#endif
