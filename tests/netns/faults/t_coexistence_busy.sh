#!/bin/sh
# Another tool's table on the input hook with a 200,000-element set, committing every 2 seconds: apply reads only
# what the coexistence guard needs (no set contents), outside its own generation window, and retries a commit the
# neighbour raced; it succeeds in well under the neighbour's interval.
. "$(dirname "$0")/lib.sh"
tw_netns coex; N=$TW_NS; S=$T/state
python3 - "$T/neighbour.nft" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("table ip neighbour {\n\tset big {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = {\n")
    f.write(",\n".join("\t\t\t10.%d.%d.0/24" % (i // 256 % 256, i % 256) if i < 65536 else
                       "\t\t\t100.%d.%d.%d" % (64 + i // 65536, i // 256 % 256, i % 256) for i in range(200000)))
    f.write("\n\t\t}\n\t}\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n")
    f.write("\t\tip saddr @big drop\n\t}\n}\n")
PY
ip netns exec "$N" nft -f "$T/neighbour.nft" || tw_fail "could not load the neighbour's table"
tl "$N" "$S" -q -f "$A" apply || tw_fail "applying A failed"
cat >"$T/busy.sh" <<'SH'
while :; do nft add element ip neighbour big '{ 192.0.2.1 }' && nft delete element ip neighbour big '{ 192.0.2.1 }'; sleep 2; done
SH
tw_bg timeout 120 ip netns exec "$N" sh "$T/busy.sh"
for round in 1 2 3; do
	for p in "$B" "$A"; do
		start=$(date +%s%N)
		tl "$N" "$S" -f "$p" apply >"$T/apply.out" 2>&1
		rc=$?
		ms=$((($(date +%s%N) - start) / 1000000))
		expect_rc 0 $rc "round $round: apply next to the busy neighbour" "$T/apply.out"
		has "$T/apply.out" "note: other tables also filter input (ip neighbour/input)" "round $round: coexistence"
		tl "$N" "$S" -q -f "$p" diff || tw_fail "round $round: $p is not live after its apply"
		[ -n "${VERBOSE:-}" ] && echo "round $round: apply took $ms ms"
	done
done
tw_done
