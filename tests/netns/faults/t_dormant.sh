#!/bin/sh
# A dormant table ("flags dormant") filters nothing: diff reports it, show and status warn, apply wakes it.
. "$(dirname "$0")/lib.sh"
tw_netns dormant; N=$TW_NS; S=$T/state
tl "$N" "$S" -q -f "$A" apply || tw_fail "applying A failed"
table "$N" >"$T/A.live"
ip netns exec "$N" nft add table inet tlswall '{ flags dormant; }' || tw_fail "could not make the table dormant"
table "$N" | grep -q 'flags dormant' || tw_fail "the table is not dormant"
tl "$N" "$S" -f "$A" diff >"$T/diff.out" 2>&1
expect_rc 2 $? "diff of a dormant table" "$T/diff.out"
has "$T/diff.out" "flags dormant;" "diff"
tl "$N" "$S" -f "$A" diff --json >"$T/diff.json" 2>&1
has "$T/diff.json" '"change": "table_flags"' "diff --json"
tl "$N" "$S" -f "$A" show >"$T/show.out" 2>&1
has "$T/show.out" "WARNING: the table is dormant" "show"
tl "$N" "$S" -f "$A" show --json >"$T/show.json" 2>&1
has "$T/show.json" '"dormant": true' "show --json"
tl "$N" "$S" -f "$A" status >"$T/status.out" 2>&1
has "$T/status.out" "live table: WARNING: table inet tlswall is dormant" "status"
tl "$N" "$S" -f "$A" apply >"$T/apply.out" 2>&1
expect_rc 0 $? "apply over a dormant table" "$T/apply.out"
has "$T/apply.out" "table woken (it was dormant)" "apply"
table "$N" | grep -q 'flags dormant' && tw_fail "apply left the table dormant"
table_is "$N" "$T/A.live" || tw_fail "after apply the table is not A"
tl "$N" "$S" -q -f "$A" diff || tw_fail "diff after waking it is not empty"
# a missing table: status says so plainly
ip netns exec "$N" nft delete table inet tlswall
tl "$N" "$S" -f "$A" status >"$T/status2.out" 2>&1
has "$T/status2.out" "live table: WARNING: table inet tlswall is missing" "status without the table"
tw_done
