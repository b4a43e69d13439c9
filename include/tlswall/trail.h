/* The audit trail: every change tlswall makes to the firewall, and every change it refused or failed to make, as
 * one line of key=value pairs that starts with what happened:
 *
 *   applied via=apply policy=/etc/tlswall/tlswall.conf table=tlswall generation=42 sha256=9f86...
 *     change="+1 rule, blocklist.v4: +3 elements" by="uid=0(root) login=1000(alice) ssh=192.0.2.7"
 *
 * sent to syslog(3) (ident tlswall, facility daemon) and appended to the state directory's events.log, which status
 * and the metrics read back: one path, so the journal and status never tell different stories. */
#ifndef TLSWALL_TRAIL_H
#define TLSWALL_TRAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlswall/util.h"

struct diag_list;
struct session;
struct state;

enum trail_level {
	TRAIL_NOTICE,  /* a change made as asked */
	TRAIL_WARNING, /* refused for safety; a fallback; a change undone because nobody confirmed it */
	TRAIL_ERROR,   /* a change that failed */
};

struct trail;

/* A line about event ("applied", "confirmed", ...), made by via (the verb: "apply", "rollback timer", ...). */
struct trail *trail_alloc(const char *event, const char *via);
void trail_free(struct trail *t);

/* key=value; a value holding blanks, quotes or '=' is quoted ("..." with \" and \\), anything unprintable escaped
 * as status prints it. An empty value is left out. */
void trail_add(struct trail *t, const char *key, const char *fmt, ...) TW_PRINTF(3, 4);
/* A file's path, made absolute (a relative path says nothing once the shell it was typed in is gone). */
void trail_add_path(struct trail *t, const char *key, const char *path);
/* What the session's last commit did: table=, generation=, sha256= (none: it deleted the table), change=. */
void trail_add_commit(struct trail *t, const struct session *s);
/* reason=: the errors in diags since the first `from` of them, joined with "; ". */
void trail_add_errors(struct trail *t, struct diag_list *diags, size_t from);

/* The line so far (without by=, which trail_send adds). */
const char *trail_text(const struct trail *t);

/* Adds by= (who: the real uid, the login uid, sudo's user, the SSH client), then sends the line to syslog and,
 * when st is not NULL, to events.log. Frees t. */
void trail_send(struct trail *t, struct state *st, enum trail_level level);

/* One line of events.log, read back. */
struct trail_line {
	int64_t time;  /* seconds since the epoch; 0 when the line's stamp cannot be read */
	char *event;   /* its first word after the stamp: "applied", ... */
	char *text;    /* the line as written, stamp first */
};

/* The last `last` lines of events.log (every line: 0), oldest first. false with *error when it cannot be read;
 * *n is 0 when there is none. */
bool trail_read(struct state *st, size_t last, struct trail_line **out, size_t *n, char **error);
void trail_lines_free(struct trail_line *lines, size_t n);

#endif
