#!/bin/sh
# a state file replaced by a symbolic link (to a valid snapshot elsewhere) is refused and not followed: status says
# so, boot falls back to the emergency ruleset, rollback refuses; the next write replaces the link itself and leaves
# the file it pointed to untouched.
. "$(dirname "$0")/../deploy_lib.sh"
ref b
ref default
tw_netns s7d; N=$TW_NS; S=$T/state
tl "$N" "$S" -q -f "$B" apply || tw_fail "apply B failed"
cp "$S/last-known-good.json" "$T/elsewhere.json"
cp "$T/elsewhere.json" "$T/elsewhere.orig"
tl "$N" "$S" -q -f "$A" apply || tw_fail "apply A failed"
ln -sf "$T/elsewhere.json" "$S/last-known-good.json"
tl "$N" "$S" status >"$T/status" 2>&1
has "$T/status" "last-known-good: unreadable: cannot open $S/last-known-good.json: it is a symbolic link" "status"
ip netns exec "$N" nft flush ruleset
tl "$N" "$S" -f "$BROKEN" apply --boot >"$T/boot" 2>&1 && tw_fail "boot with a broken policy exited 0"
has "$T/boot" "last-known-good.json: it is a symbolic link" "boot output"
has "$T/boot" "applying the emergency ruleset" "boot output"
live_is "$N" "$T/ref-default" || tw_fail "boot did not fall back to the emergency ruleset: $(live_diff "$N" "$T/ref-default")"
live_is "$N" "$T/ref-b" && tw_fail "boot followed the symlinked last-known-good"
# a write replaces the symlink itself; the file it pointed to is untouched
tl "$N" "$S" -q -f "$A" apply || tw_fail "apply A over a symlinked last-known-good failed"
[ -L "$S/last-known-good.json" ] && tw_fail "last-known-good.json is still a symlink after apply"
cmp -s "$T/elsewhere.json" "$T/elsewhere.orig" || tw_fail "the symlink's target was written"
tl "$N" "$S" status >"$T/status2" 2>&1
has "$T/status2" "last-known-good: $A (table inet tlswall)" "status after apply"
# previous.json as a symlink: rollback refuses it
ln -sf "$T/elsewhere.json" "$S/previous.json"
ip netns exec "$N" nft list ruleset >"$T/before.txt"
out=$(tl "$N" "$S" rollback 2>&1) && tw_fail "rollback followed a symlinked previous.json"
case $out in *"previous.json: it is a symbolic link"*) ;; *) tw_fail "rollback message: $out" ;; esac
ip netns exec "$N" nft list ruleset | cmp -s - "$T/before.txt" || tw_fail "rollback changed the ruleset"
cmp -s "$T/elsewhere.json" "$T/elsewhere.orig" || tw_fail "the symlink's target was written"
tw_done
