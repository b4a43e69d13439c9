/* Hooks that let the kernel tests put tlswall in its worst moments: a batch the kernel refuses part-way, a pause
 * between reading the kernel and committing, a hang right after the commit, state writes slow enough to kill
 * half-way. They exist only in the test build (compiled with TLSWALL_TEST_HOOKS, as make's sanitizer build is);
 * in the release binary they are empty, so no environment variable changes how a root tool commits. */
#ifndef TLSWALL_TEST_HOOKS_H
#define TLSWALL_TEST_HOOKS_H

#include <stddef.h>

#ifdef TLSWALL_TEST_HOOKS
/* TLSWALL_TEST_FAULT_AT=N: after N messages, the encoder adds one the kernel refuses. */
size_t test_hook_fault_at(void);
/* TLSWALL_TEST_PAUSE_FILE=PATH: between reading the kernel and committing, create PATH.ready and wait (at most
 * 30 s) for PATH to appear; then remove both, so that the next commit pauses again. */
void test_hook_pause(void);
/* TLSWALL_TEST_HOLD_RELEASE_FILE=PATH: the child that takes the netfilter socket's last reference (nl_close) creates
 * PATH.ready, holding its process ID, and waits in the same way before it drops it. */
void test_hook_hold_release(void);
/* TLSWALL_TEST_HANG_AFTER_COMMIT=1: hang for a minute right after a commit, to be killed there. */
void test_hook_hang_after_commit(void);
/* TLSWALL_TEST_WRITE_DELAY_MS=N: sleep N ms after each chunk a state file write. */
void test_hook_write_delay(void);
#else
static inline size_t test_hook_fault_at(void)
{
	return 0;
}

static inline void test_hook_pause(void)
{
}

static inline void test_hook_hold_release(void)
{
}

static inline void test_hook_hang_after_commit(void)
{
}

static inline void test_hook_write_delay(void)
{
}
#endif

#endif
