/* Located diagnostics: every error, warning and note of a verb (from its policy, its list files and the kernel),
 * collected, then printed once, sorted, gcc style; or as JSON. */
#ifndef TLSWALL_DIAG_H
#define TLSWALL_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "tlswall/util.h"

enum diag_severity {
	DIAG_WARNING,
	DIAG_ERROR,
	DIAG_NOTE, /* what the admin may want to know: not a problem */
};

struct diag {
	const char *file;   /* owned by the list; NULL for diagnostics about no file */
	unsigned line;      /* 0: the file as a whole */
	enum diag_severity severity;
	char *message;
	size_t seq;         /* emission order, keeps the sort stable */
	size_t file_rank;   /* order in which the file was first named */
};

struct diag_list;

struct diag_list *diag_list_alloc(void);
void diag_list_free(struct diag_list *list);

void diag_error(struct diag_list *list, const char *file, unsigned line, const char *fmt, ...) TW_PRINTF(4, 5);
void diag_warning(struct diag_list *list, const char *file, unsigned line, const char *fmt, ...) TW_PRINTF(4, 5);
void diag_note(struct diag_list *list, const char *file, unsigned line, const char *fmt, ...) TW_PRINTF(4, 5);

size_t diag_errors(const struct diag_list *list);
size_t diag_warnings(const struct diag_list *list);

/* Sorted by file (in order of first mention), then line, then emission order. */
size_t diag_count(const struct diag_list *list);
const struct diag *diag_at(struct diag_list *list, size_t i);

/* "FILE:LINE: error: message" lines; returns the number of errors printed. */
size_t diag_print(struct diag_list *list, FILE *out);
/* The same, errors only (for -q). */
size_t diag_print_errors(struct diag_list *list, FILE *out);
const char *diag_severity_name(enum diag_severity severity);

/* Forgets every diagnostic added after the first `keep` (an attempt that will be retried). */
void diag_forget_after(struct diag_list *list, size_t keep);

/* Names a file before any diagnostic about it, so its diagnostics sort before those of files named later. */
void diag_note_file(struct diag_list *list, const char *file);

/* Lets a bad list file stop reporting after a while instead of printing a million lines. */
bool diag_file_saturated(const struct diag_list *list, const char *file, size_t limit);

#endif
