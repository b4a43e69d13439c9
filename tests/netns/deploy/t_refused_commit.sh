#!/bin/sh
# a commit the kernel refuses (test hook TLSWALL_TEST_FAULT_AT) with --confirm: exit 1, nothing changed, no timer,
# nothing pending; a retry that succeeds leaves no temporary file in the state directory.
. "$(dirname "$0")/../deploy_lib.sh"
ref b
tw_netns s10; N=$TW_NS; S=$T/state
tl "$N" "$S" -q -f "$A" apply || tw_fail "apply A failed"
dump "$N" "$T/s10-A"
TLSWALL_TEST_FAULT_AT=2 ttl "$N" "$S" -f "$B" apply --confirm 30 >"$T/s10.out" 2>&1
rc=$?
[ $rc -eq 1 ] || tw_fail "apply --confirm with a refused commit exited $rc, expected 1: $(cat "$T/s10.out")"
has "$T/s10.out" "the kernel refused the transaction; nothing was applied" "refused commit"
live_is "$N" "$T/s10-A" || tw_fail "a refused commit changed the ruleset: $(live_diff "$N" "$T/s10-A")"
wait_for 2 no_timers "$S" || tw_fail "the rollback timer of a refused commit still runs: $(timers "$S")"
[ -e "$S/pending.json" ] && tw_fail "pending.json left after a refused commit"
[ -e "$S/candidate.json" ] && tw_fail "candidate.json left after a refused commit"
tl "$N" "$S" status >"$T/s10.status" 2>&1
has "$T/s10.status" "confirmation pending: no" "status after a refused commit"
TLSWALL_TEST_FAULT_AT=2 ttl "$N" "$S" -q -f "$B" apply >/dev/null 2>&1 && tw_fail "a second faulty apply succeeded"
tl "$N" "$S" -q -f "$B" apply || tw_fail "apply B after the refused commits failed"
live_is "$N" "$T/ref-b" || tw_fail "B is not live"
left=$(for f in "$S"/*.tmp; do [ -e "$f" ] && basename "$f"; done)
[ -z "$left" ] || tw_fail "after a successful apply the state directory still holds: $left ($(ls -li "$S" | tr '\n' ';'))"
tw_done
