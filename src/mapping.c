#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>

#include "tlswall/mapping.h"

bool mapping_open(struct mapping *m, int fd, size_t len)
{
	void *p;

	m->data = NULL;
	m->len = 0;
	if (len == 0)
		return true;
	/* populated at once: one call instead of a fault every few pages */
	p = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (p == MAP_FAILED)
		return false;
	m->data = p;
	m->len = len;
	return true;
}

void mapping_release(struct mapping *m)
{
	if (m->data)
		munmap((void *)m->data, m->len);
	m->data = NULL;
	m->len = 0;
}

static sigjmp_buf *truncated;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(*truncated, 1);
}

bool mapping_read_guarded(void (*fn)(void *arg), void *arg)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	sigjmp_buf here;
	bool ok = true;

	sigemptyset(&sa.sa_mask);
	truncated = &here;
	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(here, 1) == 0)
		fn(arg);
	else
		ok = false;
	sigaction(SIGBUS, &old, NULL);
	truncated = NULL;
	return ok;
}
