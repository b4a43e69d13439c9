#!/bin/sh
# apply --confirm where there was no table: without confirmation the table is removed again, and the namespace's
# ruleset is empty as before.
. "$(dirname "$0")/../deploy_lib.sh"
ref empty
ref b
tw_netns s4; N=$TW_NS; S=$T/state
dump "$N" "$T/s4-empty"
same "$T/s4-empty" "$T/ref-empty" || tw_fail "a fresh namespace has a ruleset"
confirm_apply "$N" "$S" "$B" 2 "$T/s4.out"
dump "$N" "$T/s4-B"
if before 1900 "B live"; then
	same "$T/s4-B" "$T/ref-b" || tw_fail "B is not live after apply --confirm"
fi
if wait_for 6 live_is "$N" "$T/s4-empty"; then
	tw_ok "table removed"
else
	tw_fail "without confirmation the table is still there: $(live_diff "$N" "$T/s4-empty")"
fi
ip netns exec "$N" nft list tables | grep -q 'inet tlswall' && tw_fail "table inet tlswall still exists"
tl "$N" "$S" status >"$T/s4.status" 2>&1
has "$T/s4.status" "confirmation pending: no" "status"
wait_for 2 no_timers "$S" || tw_fail "a rollback timer is still running"
tw_done
