#!/bin/sh
# a state directory open to group or others (0755) is refused: nothing applied, nothing written into it.
. "$(dirname "$0")/../deploy_lib.sh"
tw_netns s7c; N=$TW_NS
tl "$N" "$T/state" -q -f "$A" apply || tw_fail "apply A failed"
ip netns exec "$N" nft list ruleset >"$T/before.txt"
mkdir -m 755 "$T/open"
out=$(tl "$N" "$T/open" -f "$B" apply 2>&1) && tw_fail "apply with a 0755 state directory succeeded"
case $out in *"open to group or others (mode 0755)"*) ;; *) tw_fail "no clear message: $out" ;; esac
ip netns exec "$N" nft list ruleset | cmp -s - "$T/before.txt" || tw_fail "the ruleset changed"
[ -z "$(ls -A "$T/open")" ] || tw_fail "files were written into the 0755 directory: $(ls -A "$T/open")"
tw_done
