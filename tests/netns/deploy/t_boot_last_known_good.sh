#!/bin/sh
# apply --boot with a broken policy on a host that "rebooted" (empty ruleset): the last-known-good ruleset is applied,
# and boot exits nonzero saying so.
. "$(dirname "$0")/../deploy_lib.sh"
tw_netns s6a; N=$TW_NS; S=$T/state
tl "$N" "$S" -q -f "$A" apply || tw_fail "apply A failed"
dump "$N" "$T/s6-A"
ip netns exec "$N" nft flush ruleset
tl "$N" "$S" -f "$BROKEN" apply --boot >"$T/s6a.out" 2>&1
rc=$?
[ $rc -ne 0 ] || tw_fail "boot with a broken policy exited 0"
has "$T/s6a.out" "is missing or invalid" "boot output"
has "$T/s6a.out" "applying the last-known-good ruleset" "boot output"
live_is "$N" "$T/s6-A" || tw_fail "live is not last-known-good A: $(live_diff "$N" "$T/s6-A")"
tw_done
