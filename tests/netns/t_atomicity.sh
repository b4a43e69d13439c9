#!/bin/sh
# Atomicity: a batch the kernel rejects part-way (the test hook TLSWALL_TEST_FAULT_AT adds a rule for a chain that
# cannot exist after message N) leaves the previous table exactly as it was, wherever the fault sits in a large
# batch; and on a host with no table, leaves no table.
. "$(dirname "$0")/lib.sh"
tw_require_root
bin=$1
tw_test_bin "$@"
export TLSWALL_STATE_DIR="$TW_TMP/state"
tw_netns atom; ns=$TW_NS
run() { ip netns exec "$ns" "$@"; }

# B: many chains, rules and a list large enough to span many element messages
python3 - "$TW_TMP" <<'PY'
import sys, ipaddress
d = sys.argv[1]
with open(f"{d}/big.txt", "w") as f:
    for i in range(20000):
        f.write(f"10.{i // 256 % 256}.{i % 256}.0/24\n" if i < 16384 else f"2001:db8:{i:x}::/48\n")
svcs = ",\n".join(f'  {{ name = "app{i}"; port = {20000 + i}; tls = true; from = [ "@big", "192.0.2.{i % 250}" ]; }}'
                  for i in range(150))
open(f"{d}/b.conf", "w").write(f'version = 1;\nsets = {{ big = {{ file = "big.txt"; }}; }};\n'
                               f'deny = [ "203.0.113.0/24" ];\nservices = (\n{svcs}\n);\n')
open(f"{d}/a.conf", "w").write('version = 1;\nservices = ( { service = "https"; }, { service = "imaps"; } );\n')
PY
chmod 600 "$TW_TMP"/*.conf "$TW_TMP"/big.txt

snapshot() { run nft list ruleset; run nft -j list ruleset; }

# how many messages B's transaction has
run "$bin" -q -f "$TW_TMP/a.conf" apply || tw_fail "applying A failed"
total=$(run "$bin" -v -f "$TW_TMP/b.conf" apply --dry-run >/dev/null 2>&1; run "$bin" -v -f "$TW_TMP/b.conf" apply 2>/dev/null |
	sed -n 's/.*transaction of \([0-9]*\) messages.*/\1/p')
[ -n "$total" ] && [ "$total" -gt 500 ] || tw_fail "could not size B's batch (got '$total')"
run "$bin" -q -f "$TW_TMP/a.conf" apply || tw_fail "re-applying A failed"
snapshot >"$TW_TMP/before"

positions="1 2 3 4 5 10 50 100 $((total / 4)) $((total / 2)) $((total * 3 / 4)) $((total - 2)) $((total - 1)) $total"
for k in $positions; do
	out=$(TLSWALL_TEST_FAULT_AT=$k run "$TBIN" -f "$TW_TMP/b.conf" apply 2>&1); rc=$?
	[ $rc -eq 1 ] || tw_fail "fault at message $k of $total: apply exited $rc"
	case $out in *"nothing was applied"*"test hook"*) ;; *) tw_fail "fault at $k: unexpected message: $out" ;; esac
	snapshot >"$TW_TMP/after"
	cmp -s "$TW_TMP/before" "$TW_TMP/after" || tw_fail "fault at message $k of $total changed the ruleset"
done

# first apply on a host without the table
run "$bin" -q -f "$TW_TMP/a.conf" remove
for k in 1 3 $((total / 2)); do
	TLSWALL_TEST_FAULT_AT=$k run "$TBIN" -q -f "$TW_TMP/b.conf" apply >/dev/null 2>&1 && tw_fail "faulty first apply succeeded"
	run nft list tables | grep -q tlswall && tw_fail "faulty first apply (fault at $k) left a table"
done
# and without a fault, B applies whole
run "$bin" -q -f "$TW_TMP/b.conf" apply || tw_fail "B does not apply without the fault"
run "$bin" -q -f "$TW_TMP/b.conf" diff || tw_fail "B applied but diff is not empty"
echo "atomicity: $total messages, faults at: $positions"
tw_done
