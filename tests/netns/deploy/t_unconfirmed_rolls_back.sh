#!/bin/sh
# apply --confirm not confirmed: the new table is live until the deadline, status says a rollback is pending, and
# after the deadline (not before) the rollback timer restores the previous table exactly and leaves nothing behind.
. "$(dirname "$0")/../deploy_lib.sh"
ref a
ref b
tw_netns s1; N=$TW_NS; S=$T/state
tl "$N" "$S" -q -f "$A" apply || tw_fail "apply A failed"
dump "$N" "$T/s1-A"
same "$T/s1-A" "$T/ref-a" || tw_fail "A applied is not the reference dump of A"
confirm_apply "$N" "$S" "$B" 2 "$T/s1.out"
dump "$N" "$T/s1-B"
tl "$N" "$S" status >"$T/s1.status" 2>&1
if before 1900 "B live and status pending"; then
	same "$T/s1-B" "$T/ref-b" || tw_fail "B is not live right after apply --confirm: $(diff "$T/ref-b.txt" "$T/s1-B.txt" | head)"
	has "$T/s1.status" "confirmation pending: $B applied to table inet tlswall" "status while pending"
	has "$T/s1.status" " left, then it rolls back" "status while pending" # "1 second left" on a slow machine
fi
has "$T/s1.out" 'run "tlswall confirm" within 2 seconds' "apply --confirm output"
if wait_for 6 live_is "$N" "$T/s1-A"; then
	tw_ok "rolled back to A"
else
	tw_fail "6 s after apply --confirm 2 the live ruleset is not A: $(live_diff "$N" "$T/s1-A")"
fi
[ $(($(now_ms) - T0)) -ge 1900 ] || tw_fail "rolled back after only $(($(now_ms) - T0)) ms, before the deadline"
tl "$N" "$S" status >"$T/s1.status2" 2>&1
has "$T/s1.status2" "confirmation pending: no" "status after the rollback"
has "$T/s1.status2" 'rolled_back via="rollback timer" reason="not confirmed within 2 seconds"' "status events after the rollback"
wait_for 2 no_timers "$S" || tw_fail "a rollback timer is still running: $(timers "$S")"
[ -e "$S/pending.json" ] && tw_fail "pending.json left behind"
[ -e "$S/candidate.json" ] && tw_fail "candidate.json left behind"
tw_done
