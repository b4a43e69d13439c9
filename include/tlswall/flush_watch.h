/* Who on this host will delete tlswall's table behind its back: an enabled unit or an interface hook that runs
 * "nft flush ruleset", or loads an nft file that does (Debian's /etc/nftables.conf begins with it), or that deletes
 * or empties the table by name. Read-only: it reads unit files, hook scripts and nft files, and runs nothing. */
#ifndef TLSWALL_FLUSH_WATCH_H
#define TLSWALL_FLUSH_WATCH_H

#include <stdbool.h>
#include <stddef.h>

struct diag_list;

/* When a unit runs the statement: which of its Exec settings hold it. */
enum flush_when {
	FLUSH_ON_START = 1,  /* ExecStart, ExecStartPre/Post, ExecCondition: at boot when enabled, start, restart */
	FLUSH_ON_RELOAD = 2, /* ExecReload */
	FLUSH_ON_STOP = 4,   /* ExecStop, ExecStopPost: stop, restart */
};

struct flush_finding {
	char *file;        /* where the statement is written */
	unsigned line;
	char *statement;   /* as nft reads it: "flush ruleset", "delete table inet tlswall" */
	char *who;         /* what runs it: "nftables.service", "an interface comes up (ifupdown)" */
	unsigned when;     /* enum flush_when bits for a unit, 0 for a hook */
	char *loaded_at;   /* FILE:LINE of the command that loads file, or NULL when the statement is on that line */
	char *included_at; /* FILE:LINE of the first include on the way to file, or NULL */
};

struct flush_findings {
	struct flush_finding *v;
	size_t n, cap;
	bool reapply_enabled; /* tlswall-reapply.service runs after nftables.service */
};

/* Every enabled unit and interface hook of this host that deletes (or empties) table inet `table` when it runs. */
void flush_watch_scan(const char *table, struct flush_findings *out);
void flush_findings_release(struct flush_findings *f);

/* Scans the host and adds one warning per finding to diags, located at the statement ("FILE:LINE: warning:
 * \"flush ruleset\" deletes table inet tlswall whenever nftables.service starts, restarts or reloads (loaded by
 * FILE:LINE)"), then a note on what puts the table back. Returns the number of findings. For apply, check --live,
 * and status when the table is missing. */
size_t flush_watch_report(const char *table, struct diag_list *diags);

/* The scanners flush_watch_scan is made of, one kind of file each (for the unit tests). */
/* An nft file and the files it includes; who runs it (a unit with when bits, or a hook). */
void flush_watch_nft_file(const char *path, const char *table, const char *who, unsigned when, struct flush_findings *out);
/* A unit: its file and drop-ins in the order systemd reads them (an empty Exec setting clears earlier ones). */
void flush_watch_unit(const char *name, const char *const *files, size_t nfiles, const char *table,
		      struct flush_findings *out);
/* A shell script, or with interfaces set, an ifupdown interfaces(5) file (only its pre-up, up... commands). */
void flush_watch_script(const char *path, bool interfaces, const char *who, const char *table,
			struct flush_findings *out);

#endif
