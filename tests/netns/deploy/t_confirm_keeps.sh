#!/bin/sh
# confirm in time: the change stays past the deadline, the timer is gone, the change is last-known-good, and a second
# confirm finds nothing to confirm. (A 3 s deadline, so that a loaded machine confirms in time.)
. "$(dirname "$0")/../deploy_lib.sh"
ref b
tw_netns s3; N=$TW_NS; S=$T/state
tl "$N" "$S" -q -f "$A" apply || tw_fail "apply A failed"
confirm_apply "$N" "$S" "$B" 3 "$T/s3.out"
tp=$(timer_pid "$T/s3.out")
tl "$N" "$S" confirm >"$T/s3.confirm" 2>&1 || tw_fail "confirm failed: $(cat "$T/s3.confirm")"
[ $(($(now_ms) - T0)) -lt 3000 ] || echo "note: confirm came $(($(now_ms) - T0)) ms after apply" >&2
has "$T/s3.confirm" "confirmed $B; it is now the last-known-good ruleset" "confirm output"
wait_for 2 no_timers "$S" || tw_fail "the rollback timer (pid $tp) still runs after confirm"
# well past the deadline
while [ $(($(now_ms) - T0)) -lt 4500 ]; do sleep 0.2; done
live_is "$N" "$T/ref-b" || tw_fail "the confirmed B did not stay: $(live_diff "$N" "$T/ref-b")"
tl "$N" "$S" status >"$T/s3.status" 2>&1
has "$T/s3.status" "confirmation pending: no" "status after confirm"
has "$T/s3.status" "last-known-good: $B (table inet tlswall)" "status after confirm"
out=$(tl "$N" "$S" confirm 2>&1) && tw_fail "a second confirm succeeded: $out"
case $out in *"nothing to confirm"*) ;; *) tw_fail "second confirm: $out" ;; esac
tw_done
