#!/bin/sh
# apply --boot with a valid policy, after a "reboot" that left last-known-good from before: exit 0, the policy is
# live, and it is last-known-good now.
. "$(dirname "$0")/../deploy_lib.sh"
ref b
tw_netns s6c; N=$TW_NS; S=$T/state
tl "$N" "$S" -q -f "$A" apply || tw_fail "apply A failed"
ip netns exec "$N" nft flush ruleset
tl "$N" "$S" -f "$B" apply --boot >"$T/s6c.out" 2>&1 || tw_fail "boot with a valid policy failed: $(cat "$T/s6c.out")"
has "$T/s6c.out" "boot: applied $B to table inet tlswall" "boot output"
live_is "$N" "$T/ref-b" || tw_fail "the valid policy is not live: $(live_diff "$N" "$T/ref-b")"
tl "$N" "$S" status >"$T/s6c.status" 2>&1
has "$T/s6c.status" "last-known-good: $B (table inet tlswall)" "status"
tw_done
