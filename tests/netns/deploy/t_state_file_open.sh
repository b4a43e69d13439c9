#!/bin/sh
# a state file open to others (0644) is refused and not used: status says so, and boot with a broken policy falls
# back to the emergency ruleset rather than to it.
. "$(dirname "$0")/../deploy_lib.sh"
ref default
tw_netns s7f; N=$TW_NS; S=$T/state
tl "$N" "$S" -q -f "$B" apply || tw_fail "apply B failed"
chmod 644 "$S/last-known-good.json"
tl "$N" "$S" status >"$T/status" 2>&1
has "$T/status" "last-known-good: unreadable: refusing $S/last-known-good.json: not a regular file of uid 0 with mode 0600" "status"
ip netns exec "$N" nft flush ruleset
tl "$N" "$S" -f "$BROKEN" apply --boot >"$T/boot" 2>&1 && tw_fail "boot with a broken policy exited 0"
has "$T/boot" "applying the emergency ruleset" "boot output"
live_is "$N" "$T/ref-default" || tw_fail "boot used a last-known-good file open to others"
tw_done
