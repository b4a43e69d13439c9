/* The test build's hooks (see include/tlswall/test_hooks.h); the Makefile leaves this file out of the release
 * binary. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tlswall/test_hooks.h"

#ifndef TLSWALL_TEST_HOOKS
#error "test_hooks.c belongs to the test build only"
#endif

size_t test_hook_fault_at(void)
{
	const char *v = getenv("TLSWALL_TEST_FAULT_AT");

	return v && *v ? (size_t)strtoul(v, NULL, 10) : 0;
}

/* Creates PATH.ready (holding this process's ID) and waits, at most 30 s, for PATH to appear; then removes both. */
static void wait_for_go(const char *path)
{
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	struct stat st;
	char ready[4096];
	FILE *f;

	snprintf(ready, sizeof(ready), "%s.ready", path);
	f = fopen(ready, "w");
	if (f) {
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}
	for (int i = 0; i < 1500 && stat(path, &st) != 0; i++)
		nanosleep(&tick, NULL);
	/* consumed: the next time waits for the test to say go once more */
	unlink(ready);
	unlink(path);
}

void test_hook_pause(void)
{
	const char *path = getenv("TLSWALL_TEST_PAUSE_FILE");

	if (path && *path)
		wait_for_go(path);
}

void test_hook_hold_release(void)
{
	const char *path = getenv("TLSWALL_TEST_HOLD_RELEASE_FILE");

	if (path && *path)
		wait_for_go(path);
}

void test_hook_hang_after_commit(void)
{
	const char *v = getenv("TLSWALL_TEST_HANG_AFTER_COMMIT");

	if (v && *v) {
		printf("tlswall: test hook: committed, now hanging\n");
		fflush(stdout);
		sleep(60);
	}
}

void test_hook_write_delay(void)
{
	const char *v = getenv("TLSWALL_TEST_WRITE_DELAY_MS");
	long ms = v ? strtol(v, NULL, 10) : 0;
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	if (ms > 0)
		nanosleep(&t, NULL);
}
