#!/bin/sh
# rollback during a pending confirmation: the previous table at once, its timer gone, the previous table is
# last-known-good, and a plain apply works afterwards.
. "$(dirname "$0")/../deploy_lib.sh"
tw_netns s5; N=$TW_NS; S=$T/state
tl "$N" "$S" -q -f "$A" apply || tw_fail "apply A failed"
dump "$N" "$T/s5-A"
confirm_apply "$N" "$S" "$B" 30 "$T/s5.out"
tp=$(timer_pid "$T/s5.out")
tl "$N" "$S" status >"$T/s5.status" 2>&1
has "$T/s5.status" "rollback timer: pid $tp" "status while pending"
tl "$N" "$S" rollback >"$T/s5.rb" 2>&1 || tw_fail "rollback failed: $(cat "$T/s5.rb")"
has "$T/s5.rb" "rolled back to the ruleset before the last apply" "rollback output"
live_is "$N" "$T/s5-A" || tw_fail "rollback did not restore A at once: $(live_diff "$N" "$T/s5-A")"
wait_for 2 no_timers "$S" || tw_fail "the rollback timer (pid $tp) survived rollback"
tl "$N" "$S" status >"$T/s5.status2" 2>&1
has "$T/s5.status2" "confirmation pending: no" "status after rollback"
has "$T/s5.status2" "last-known-good: $A (table inet tlswall)" "status after rollback"
tl "$N" "$S" -q -f "$B" apply || tw_fail "a plain apply after the rollback failed"
tw_done
