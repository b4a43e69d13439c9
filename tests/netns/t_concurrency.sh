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

# intrude N TAG: another program commits in tlswall's window (between its read and its commit), N times in a row
intrude() {
	for i in $(seq "$1"); do
		for _ in $(seq 300); do [ -e "$TW_TMP/go.ready" ] && break; sleep 0.1; done
		[ -e "$TW_TMP/go.ready" ] || { tw_fail "$2: tlswall never reached the pause point ($i)"; return; }
		run nft add table ip "intruder$2$i"
		touch "$TW_TMP/go"
		# tlswall takes the go (removing both files) before it commits
		for _ in $(seq 300); do [ -e "$TW_TMP/go" ] || break; sleep 0.1; done
	done
}

# 1a. someone commits between tlswall's read and its commit, once: tlswall reads again and applies
run "$bin" -q -f "$TW_TMP/p1.conf" apply || tw_fail "applying p1 failed"
TLSWALL_TEST_PAUSE_FILE="$TW_TMP/go" run "$TBIN" -f "$TW_TMP/p2.conf" apply >"$TW_TMP/out" 2>&1 &
pid=$!
TW_PIDS="$TW_PIDS $pid"
intrude 1 a
touch "$TW_TMP/go" # the second attempt pauses too; nobody intrudes this time
wait $pid; rc=$?
[ $rc -eq 0 ] || tw_fail "apply after one concurrent change exited $rc, expected 0: $(cat "$TW_TMP/out")"
run "$bin" -q -f "$TW_TMP/p2.conf" diff >/dev/null 2>&1 || tw_fail "after the retry, p2 is not live"
run nft list table ip intrudera1 >/dev/null 2>&1 || tw_fail "the other program's table is gone"
run nft delete table ip intrudera1
rm -f "$TW_TMP/go" "$TW_TMP/go.ready"

# 1b. someone commits in every window: after its last attempt tlswall says so, and nothing is applied
run nft list ruleset >"$TW_TMP/before"
TLSWALL_TEST_PAUSE_FILE="$TW_TMP/go" run "$TBIN" -f "$TW_TMP/p3.conf" apply >"$TW_TMP/out" 2>&1 &
pid=$!
TW_PIDS="$TW_PIDS $pid"
intrude 3 b
wait $pid; rc=$?
[ $rc -eq 1 ] || tw_fail "apply after three concurrent changes exited $rc, expected 1"
grep -q "ruleset changed while tlswall was working" "$TW_TMP/out" || tw_fail "no clear message: $(cat "$TW_TMP/out")"
grep -q "nothing was applied" "$TW_TMP/out" || tw_fail "message does not say nothing was applied"
[ "$(grep -c "ruleset changed while tlswall was working" "$TW_TMP/out")" -eq 1 ] ||
	tw_fail "the message of an attempt that was retried was printed: $(cat "$TW_TMP/out")"
for i in 1 2 3; do run nft delete table ip "intruderb$i"; done
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
