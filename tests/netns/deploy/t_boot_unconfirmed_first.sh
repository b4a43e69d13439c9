#!/bin/sh
# apply --boot over an unconfirmed change that was the first change ever (no last-known-good at all): its
# predecessor was no table, which is never applied, and the emergency ruleset would be stricter than both and shut
# out what the policy opens (SSH, say): the policy on disk, valid, comes up, and boot exits nonzero saying so.
. "$(dirname "$0")/../deploy_lib.sh"
ref b
tw_netns s6e; N=$TW_NS; S=$T/state
confirm_apply "$N" "$S" "$B" 60 "$T/s6e.out"
tp=$(timer_pid "$T/s6e.out")
[ -n "$tp" ] && kill -9 "$tp" # the machine went down: no timer survives a reboot
wait_for 2 no_timers "$S" || tw_fail "the timer did not die"
ip netns exec "$N" nft flush ruleset
tl "$N" "$S" -f "$B" apply --boot >"$T/s6e.boot" 2>&1 && tw_fail "boot over an unconfirmed first change exited 0"
has "$T/s6e.boot" "a change was still waiting for confirmation" "boot output"
has "$T/s6e.boot" "it was the first: applying the policy $B" "boot output"
live_is "$N" "$T/ref-b" || tw_fail "boot did not apply the valid policy: $(live_diff "$N" "$T/ref-b")"
tw_done
