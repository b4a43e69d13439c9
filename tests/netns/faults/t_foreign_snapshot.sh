#!/bin/sh
# A set and a rule using it, added by hand inside tlswall's table, cannot be re-created by tlswall: the snapshot
# taken before the next apply leaves both out, so that the rollback to it still succeeds.
. "$(dirname "$0")/lib.sh"
tw_netns foreign; N=$TW_NS; S=$T/state
tl "$N" "$S" -q -f "$A" apply || tw_fail "applying A failed"
table "$N" >"$T/A.live"
ip netns exec "$N" nft -f - <<'NFT' || tw_fail "could not add the hand-made set and rule"
add set inet tlswall handmade { type ether_addr; }
add element inet tlswall handmade { 02:00:00:00:00:01 }
add rule inet tlswall input ether saddr @handmade drop
NFT
tl "$N" "$S" -f "$B" apply --confirm 2 --force >"$T/apply.out" 2>&1
expect_rc 0 $? "apply --confirm over the hand-made objects" "$T/apply.out"
has "$T/apply.out" "the table holds 1 rule tlswall cannot re-create; a rollback to it would leave it out" "apply"
rolled() { table_is "$N" "$T/A.live"; }
wait_for 20 rolled || tw_fail "the rollback did not restore A: $(cat "$S/events.log"); live: $(table "$N")"
grep -q " rollback_failed " "$S/events.log" && tw_fail "the timer could not restore: $(cat "$S/events.log")"
tw_done
