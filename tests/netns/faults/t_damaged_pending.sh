#!/bin/sh
# A damaged pending confirmation does not jam tlswall: status and apply say what to do, the rollback timer still
# rolls back at its deadline, and rollback and confirm still work by hand.
. "$(dirname "$0")/lib.sh"
damage() { printf '{"token": "trunc' >"$1/pending.json"; chmod 600 "$1/pending.json"; }

# the timer
tw_netns timer; N=$TW_NS; S=$T/s1
tl "$N" "$S" -q -f "$A" apply || tw_fail "1: apply A failed"
table "$N" >"$T/A1.live"
tl "$N" "$S" -q -f "$B" apply --confirm 3 || tw_fail "1: apply --confirm B failed"
damage "$S"
tl "$N" "$S" status >"$T/status.out" 2>&1
expect_rc 0 $? "1: status with a damaged confirmation" "$T/status.out"
has "$T/status.out" "confirmation pending: unknown: the pending confirmation $S/pending.json is damaged" "1: status"
has "$T/status.out" 'run "tlswall rollback"' "1: status"
tl "$N" "$S" -f "$A" apply >"$T/apply.out" 2>&1
expect_rc 1 $? "1: apply with a damaged confirmation" "$T/apply.out"
has "$T/apply.out" 'run "tlswall rollback" to restore the ruleset from before the last apply, or "tlswall confirm"' "1: apply"
rolled() { table_is "$N" "$T/A1.live"; }
wait_for 20 rolled || tw_fail "1: the timer did not roll back: $(cat "$S/events.log")"
wait_for 5 sh -c "[ ! -e $S/pending.json ]" || tw_fail "1: the damaged pending.json stays after the rollback"

# rollback by hand
tw_netns hand; N=$TW_NS; S=$T/s2
tl "$N" "$S" -q -f "$A" apply || tw_fail "2: apply A failed"
table "$N" >"$T/A2.live"
tl "$N" "$S" -q -f "$B" apply --confirm 60 || tw_fail "2: apply --confirm B failed"
damage "$S"
tl "$N" "$S" rollback >"$T/rb.out" 2>&1
expect_rc 0 $? "2: rollback with a damaged confirmation" "$T/rb.out"
table_is "$N" "$T/A2.live" || tw_fail "2: rollback did not restore A"
[ -e "$S/pending.json" ] && tw_fail "2: pending.json stays after rollback"

# confirm by hand
tw_netns conf; N=$TW_NS; S=$T/s3
tl "$N" "$S" -q -f "$A" apply || tw_fail "3: apply A failed"
tl "$N" "$S" -q -f "$B" apply --confirm 3 || tw_fail "3: apply --confirm B failed"
table "$N" >"$T/B3.live"
damage "$S"
tl "$N" "$S" confirm >"$T/confirm.out" 2>&1
expect_rc 0 $? "3: confirm with a damaged confirmation" "$T/confirm.out"
sleep 4 # past the deadline: the timer finds nothing pending and leaves B
table_is "$N" "$T/B3.live" || tw_fail "3: B did not stay after confirm"
tl "$N" "$S" status >"$T/status3.out" 2>&1
has "$T/status3.out" "last-known-good: $B (table inet tlswall)" "3: status"
tw_done
