#!/bin/sh
# Concurrency: a commit after someone else changed the ruleset (between tlswall's read and its commit) fails with a
# clear message and applies nothing; many tlswall processes applying different policies at once always leave exactly
# one whole policy.
. "$(dirname "$0")/lib.sh"
tw_require_root
bin=$1
tw_test_bin "$@"
export TLSWALL_STATE_DIR="$TW_TMP/state"
tw_netns conc; ns=$TW_NS
run() { ip netns exec "$ns" "$@"; }

for i in 1 2 3 4 5 6 7 8; do
	cat >"$TW_TMP/p$i.conf" <<P
version = 1;
sets = { s$i = [ "10.$i.0.0/16", "2001:db8:$i::/48" ]; };
services = ( { service = "https"; }, { name = "app$i"; port = $((9000 + i)); tls = true; from = [ "@s$i" ]; } );
P
done
chmod 600 "$TW_TMP"/*.conf

# 1. someone commits between tlswall's read and its commit
run "$bin" -q -f "$TW_TMP/p1.conf" apply || tw_fail "applying p1 failed"
run nft list ruleset >"$TW_TMP/before"
TLSWALL_TEST_PAUSE_FILE="$TW_TMP/go" run "$TBIN" -f "$TW_TMP/p2.conf" apply >"$TW_TMP/out" 2>&1 &
pid=$!
TW_PIDS="$TW_PIDS $pid"
for _ in $(seq 100); do [ -e "$TW_TMP/go.ready" ] && break; sleep 0.1; done
[ -e "$TW_TMP/go.ready" ] || tw_fail "tlswall never reached the pause point"
run nft add table ip intruder
touch "$TW_TMP/go"
wait $pid; rc=$?
[ $rc -eq 1 ] || tw_fail "apply after a concurrent change exited $rc, expected 1"
grep -q "ruleset changed while tlswall was working" "$TW_TMP/out" || tw_fail "no clear message: $(cat "$TW_TMP/out")"
grep -q "nothing was applied" "$TW_TMP/out" || tw_fail "message does not say nothing was applied"
run nft delete table ip intruder
run nft list ruleset >"$TW_TMP/after"
cmp -s "$TW_TMP/before" "$TW_TMP/after" || tw_fail "the failed commit changed the ruleset"

# 2. eight at once, three rounds: the lock serializes them, the survivor is one whole policy
for round in 1 2 3; do
	pids=""
	for i in 1 2 3 4 5 6 7 8; do
		run "$bin" -q -f "$TW_TMP/p$i.conf" apply >"$TW_TMP/r$i.out" 2>&1 &
		pids="$pids $!"
	done
	TW_PIDS="$TW_PIDS $pids"
	for p in $pids; do wait "$p" || tw_fail "round $round: a concurrent apply failed"; done
	matches=0
	for i in 1 2 3 4 5 6 7 8; do
		run "$bin" -q -f "$TW_TMP/p$i.conf" diff >/dev/null 2>&1 && matches=$((matches + 1))
	done
	[ $matches -eq 1 ] || tw_fail "round $round: the live table matches $matches policies, expected exactly 1"
done
tw_done
