#!/bin/sh
# apply --boot over an unconfirmed first change, with the policy on disk broken too: nothing is known good, so the
# emergency ruleset comes up.
. "$(dirname "$0")/../deploy_lib.sh"
ref default
tw_netns s6e2; N=$TW_NS; S=$T/state
confirm_apply "$N" "$S" "$B" 60 "$T/s6e2.out"
tp=$(timer_pid "$T/s6e2.out")
[ -n "$tp" ] && kill -9 "$tp"
wait_for 2 no_timers "$S" || tw_fail "the timer did not die"
ip netns exec "$N" nft flush ruleset
tl "$N" "$S" -f "$BROKEN" apply --boot >"$T/s6e2.boot" 2>&1 && tw_fail "boot over an unconfirmed first change exited 0"
has "$T/s6e2.boot" "applying the emergency ruleset" "boot output (broken policy)"
live_is "$N" "$T/ref-default" || tw_fail "boot did not apply the emergency ruleset: $(live_diff "$N" "$T/ref-default")"
tw_done
