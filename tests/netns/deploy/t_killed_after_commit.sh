#!/bin/sh
# apply --confirm SIGKILLed right after its commit (test hook TLSWALL_TEST_HANG_AFTER_COMMIT): the rollback timer,
# a process of its own, still restores the previous table after the deadline.
. "$(dirname "$0")/../deploy_lib.sh"
ref b
tw_netns s2; N=$TW_NS; S=$T/state
tl "$N" "$S" -q -f "$A" apply || tw_fail "apply A failed"
dump "$N" "$T/s2-A"
# no `timeout` wrapper: $! must be tlswall itself (ip netns exec execs it)
T0=$(now_ms)
TLSWALL_STATE_DIR=$S TLSWALL_TEST_HANG_AFTER_COMMIT=1 ip netns exec "$N" "$TBIN" -f "$B" apply --confirm 2 \
	>"$T/s2.out" 2>&1 &
pid=$!
TW_PIDS="$TW_PIDS $pid"
hanging() { grep -q "test hook: committed, now hanging" "$T/s2.out"; }
if wait_for 10 hanging; then
	dump "$N" "$T/s2-B"
	tps=$(timers "$S")
	if before 1900 "B live while apply hangs"; then
		same "$T/s2-B" "$T/ref-b" || tw_fail "B is not live while apply hangs after its commit"
		[ -n "$tps" ] || tw_fail "no rollback timer while the commit stands"
	fi
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = tlswall ] || tw_fail "pid $pid is not tlswall"
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	if wait_for 6 live_is "$N" "$T/s2-A"; then
		tw_ok "rolled back to A after SIGKILL"
	else
		tw_fail "the timer did not roll back to A after apply was killed: $(live_diff "$N" "$T/s2-A")"
	fi
	[ $(($(now_ms) - T0)) -ge 1900 ] || tw_fail "rolled back before the deadline"
	tl "$N" "$S" status >"$T/s2.status" 2>&1
	has "$T/s2.status" "confirmation pending: no" "status after the rollback"
	wait_for 2 no_timers "$S" || tw_fail "a rollback timer is still running: $(timers "$S")"
else
	tw_fail "apply never reached the hang-after-commit hook: $(cat "$T/s2.out")"
	kill -9 "$pid" 2>/dev/null
fi
tw_done
