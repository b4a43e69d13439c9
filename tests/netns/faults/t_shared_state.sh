#!/bin/sh
# Two network namespaces sharing one state directory: every state file says which namespace it belongs to, and one
# of the other namespace is never used (a rollback in A does not restore what B saved).
. "$(dirname "$0")/lib.sh"
tw_netns a; NA=$TW_NS
tw_netns b; NB=$TW_NS
S=$T/shared
tl "$NA" "$S" -q -f "$A" apply || tw_fail "apply in A failed"
table "$NA" >"$T/A.live"
tl "$NB" "$S" -q -f "$B" apply || tw_fail "apply in B failed"
tl "$NA" "$S" rollback >"$T/rb.out" 2>&1
expect_rc 1 $? "rollback in A after an apply in B" "$T/rb.out"
has "$T/rb.out" "previous.json was saved in another network namespace" "rollback in A"
table_is "$NA" "$T/A.live" || tw_fail "the rollback in A changed A's table"
# last-known-good was saved by B too: boot in A does not take it, it falls to the emergency ruleset
ip netns exec "$NA" nft flush ruleset
tl "$NA" "$S" -f "$BROKEN" apply --boot >"$T/boot.out" 2>&1
expect_rc 1 $? "boot in A with a broken policy" "$T/boot.out"
has "$T/boot.out" "last-known-good.json was saved in another network namespace" "boot in A"
has "$T/boot.out" "applying the emergency ruleset" "boot in A"
# in B, its own files work
tl "$NB" "$S" -q -f "$A" apply || tw_fail "second apply in B failed"
tl "$NB" "$S" rollback >"$T/rbb.out" 2>&1 || tw_fail "rollback in B failed: $(cat "$T/rbb.out")"
tl "$NB" "$S" -q -f "$B" diff || tw_fail "the rollback in B did not restore B"
tw_done
