#!/bin/sh
# a state directory owned by someone else is refused.
. "$(dirname "$0")/../deploy_lib.sh"
tw_netns s7e; N=$TW_NS
mkdir -m 700 "$T/other"
chown 65534 "$T/other"
out=$(tl "$N" "$T/other" -f "$B" apply 2>&1) && tw_fail "apply with a state directory owned by uid 65534 succeeded"
case $out in *"is owned by uid 65534"*) ;; *) tw_fail "no clear message: $out" ;; esac
[ -z "$(ip netns exec "$N" nft list tables)" ] || tw_fail "a refused apply created a table"
tw_done
