/* Files read in place: a read-only mapping of the page cache. Reading a 15 MB list file or snapshot into fresh memory
 * costs about 10 ms, most of it faulting in and clearing the pages it is copied to; mapping it costs under one. */
#ifndef TLSWALL_MAPPING_H
#define TLSWALL_MAPPING_H

#include <stdbool.h>
#include <stddef.h>

struct mapping {
	const char *data; /* NULL when len is 0 */
	size_t len;
};

/* The first len bytes of fd (a regular file), read-only; false with errno set when it cannot be mapped. */
bool mapping_open(struct mapping *m, int fd, size_t len);
void mapping_release(struct mapping *m);
/* Calls fn(arg), which reads a mapping of a file another program may truncate meanwhile (a list file rewritten in
 * place): reading past the new end raises SIGBUS, and then fn is abandoned where it stood and false is returned.
 * fn must be written for that: no lock held, nothing half-linked while it touches the mapping. */
bool mapping_read_guarded(void (*fn)(void *arg), void *arg);

#endif
