#include <stdlib.h>
#include <string.h>

#include "tlswall/diag.h"

struct diag_list {
	struct diag *items;
	size_t n, cap;
	struct diag_file {
		char *name;
		size_t count;
	} *files;            /* interned file names; index is the file's rank */
	size_t nfiles, capfiles;
	size_t errors, warnings;
	bool sorted;
};

struct diag_list *diag_list_alloc(void)
{
	return x_calloc(1, sizeof(struct diag_list));
}

void diag_list_free(struct diag_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->n; i++)
		free(list->items[i].message);
	for (size_t i = 0; i < list->nfiles; i++)
		free(list->files[i].name);
	free(list->items);
	free(list->files);
	free(list);
}

static size_t intern_file(struct diag_list *list, const char *file)
{
	size_t i;

	for (i = 0; i < list->nfiles; i++)
		if (strcmp(list->files[i].name, file) == 0)
			return i;
	x_grow(&list->files, &list->capfiles, list->nfiles + 1, sizeof(*list->files));
	list->files[i].name = x_strdup(file);
	list->files[i].count = 0;
	list->nfiles++;
	return i;
}

/* Marked printf-like so clang's -Wformat-nonliteral accepts the vasprintf of a format it was handed. */
static void add(struct diag_list *list, enum diag_severity sev, const char *file, unsigned line, const char *fmt,
		va_list ap) TW_PRINTF(5, 0);

static void add(struct diag_list *list, enum diag_severity sev, const char *file, unsigned line, const char *fmt,
		va_list ap)
{
	struct diag *d;

	x_grow(&list->items, &list->cap, list->n + 1, sizeof(*list->items));
	d = &list->items[list->n];
	d->severity = sev;
	d->line = line;
	d->seq = list->n++;
	d->message = x_vasprintf(fmt, ap);
	if (file) {
		d->file_rank = intern_file(list, file);
		d->file = list->files[d->file_rank].name;
		list->files[d->file_rank].count++;
	} else {
		d->file = NULL;
		d->file_rank = (size_t)-1;
	}
	if (sev == DIAG_ERROR)
		list->errors++;
	else if (sev == DIAG_WARNING)
		list->warnings++;
	list->sorted = false;
}

void diag_forget_after(struct diag_list *list, size_t keep)
{
	size_t out = 0;

	for (size_t i = 0; i < list->n; i++) {
		struct diag *d = &list->items[i];

		if (d->seq < keep) {
			list->items[out++] = *d;
			continue;
		}
		if (d->severity == DIAG_ERROR)
			list->errors--;
		else if (d->severity == DIAG_WARNING)
			list->warnings--;
		if (d->file)
			list->files[d->file_rank].count--;
		free(d->message);
	}
	list->n = out;
}

void diag_note_file(struct diag_list *list, const char *file)
{
	intern_file(list, file);
}

void diag_error(struct diag_list *list, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add(list, DIAG_ERROR, file, line, fmt, ap);
	va_end(ap);
}

void diag_warning(struct diag_list *list, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add(list, DIAG_WARNING, file, line, fmt, ap);
	va_end(ap);
}

void diag_note(struct diag_list *list, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add(list, DIAG_NOTE, file, line, fmt, ap);
	va_end(ap);
}

const char *diag_severity_name(enum diag_severity severity)
{
	return severity == DIAG_ERROR ? "error" : severity == DIAG_WARNING ? "warning" : "note";
}

size_t diag_errors(const struct diag_list *list)
{
	return list->errors;
}

size_t diag_warnings(const struct diag_list *list)
{
	return list->warnings;
}

bool diag_file_saturated(const struct diag_list *list, const char *file, size_t limit)
{
	for (size_t i = 0; i < list->nfiles; i++)
		if (strcmp(list->files[i].name, file) == 0)
			return list->files[i].count >= limit;
	return false;
}

static int compare(const void *a, const void *b)
{
	const struct diag *x = a, *y = b;

	if (x->file_rank != y->file_rank)
		return x->file_rank < y->file_rank ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void sort(struct diag_list *list)
{
	if (list->sorted)
		return;
	if (list->n)
		qsort(list->items, list->n, sizeof(*list->items), compare);
	list->sorted = true;
}

size_t diag_count(const struct diag_list *list)
{
	return list->n;
}

const struct diag *diag_at(struct diag_list *list, size_t i)
{
	sort(list);
	return i < list->n ? &list->items[i] : NULL;
}

static size_t print(struct diag_list *list, FILE *out, bool warnings)
{
	size_t errors = 0;

	sort(list);
	for (size_t i = 0; i < list->n; i++) {
		const struct diag *d = &list->items[i];
		const char *sev = diag_severity_name(d->severity);

		if (d->severity != DIAG_ERROR && !warnings)
			continue;
		if (d->file && d->line)
			fprintf(out, "%s:%u: %s: %s\n", d->file, d->line, sev, d->message);
		else if (d->file)
			fprintf(out, "%s: %s: %s\n", d->file, sev, d->message);
		else
			fprintf(out, "tlswall: %s: %s\n", sev, d->message);
		errors += d->severity == DIAG_ERROR;
	}
	return errors;
}

size_t diag_print(struct diag_list *list, FILE *out)
{
	return print(list, out, true);
}

size_t diag_print_errors(struct diag_list *list, FILE *out)
{
	return print(list, out, false);
}
