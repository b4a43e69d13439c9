#!/bin/sh
# Differential: for every valid policy (every golden case with an .nft, and policies/*.conf), the table tlswall
# applies through netlink and the table `nft -f` makes from `tlswall generate` list identically, as text and as JSON
# (handles aside), and tlswall reads either back as "no changes".
. "$(dirname "$0")/lib.sh"
tw_require_root
bin=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
export TLSWALL_STATE_DIR="$TW_TMP/state"

tw_netns viaapply; a=$TW_NS
tw_netns vianft; b=$TW_NS
strip_handles() { python3 -c '
import json, sys
d = json.load(sys.stdin)
for o in d["nftables"]:
    for v in o.values():
        if isinstance(v, dict):
            v.pop("handle", None)
json.dump(d, sys.stdout, sort_keys=True)'; }

golden=$(tw_copy_trusted "$root/tests/golden") || exit 1
policies=$(tw_copy_trusted "$root/policies") || exit 1
n=0
for conf in "$golden"/[0-9][0-9][0-9]-*.conf "$policies"/*.conf; do
	[ -e "$conf" ] || continue
	[ -e "${conf%.conf}.err" ] && continue
	n=$((n + 1))
	name=$(basename "$conf")
	ip netns exec "$a" nft flush ruleset
	ip netns exec "$b" nft flush ruleset
	if ! out=$(ip netns exec "$a" "$bin" -q -f "$conf" apply 2>&1); then tw_fail "$name: apply failed: $out"; continue; fi
	"$bin" -q -f "$conf" generate >"$TW_TMP/script.nft" 2>/dev/null
	if ! out=$(ip netns exec "$b" nft -f "$TW_TMP/script.nft" 2>&1); then tw_fail "$name: nft -f failed: $out"; continue; fi
	ip netns exec "$a" nft list ruleset >"$TW_TMP/a.txt"
	ip netns exec "$b" nft list ruleset >"$TW_TMP/b.txt"
	if ! cmp -s "$TW_TMP/a.txt" "$TW_TMP/b.txt"; then
		tw_fail "$name: nft list differs between tlswall apply and nft -f"
		diff -u "$TW_TMP/b.txt" "$TW_TMP/a.txt" | head -20 >&2
		continue
	fi
	ip netns exec "$a" nft -j list ruleset | strip_handles >"$TW_TMP/a.json"
	ip netns exec "$b" nft -j list ruleset | strip_handles >"$TW_TMP/b.json"
	cmp -s "$TW_TMP/a.json" "$TW_TMP/b.json" || tw_fail "$name: nft -j list differs"
	# tlswall's decoder reads nft's table as its own: nothing to change
	ip netns exec "$b" "$bin" -q -f "$conf" diff >"$TW_TMP/diff.out" 2>&1 ||
		{ tw_fail "$name: diff against the nft-loaded table is not empty"; head -20 "$TW_TMP/diff.out" >&2; }
	tw_ok "$name"
done
# every golden case with an expected script (require_tls and guard_credentials among them) and every shipped policy
want=$(($(ls "$golden"/*.nft | wc -l) + $(ls "$policies"/*.conf | wc -l)))
[ $n -eq "$want" ] || tw_fail "$n policies compared, expected $want (every golden .nft and every policies/*.conf)"
# a list long enough to be sharded (tlswall/shard.h), used by a deny list and by a service's "from": shard sets,
# dispatch maps and shard chains list the same whichever of the two loaded them
python3 "$root/tests/netns/scale_lists.py" make 80000 5 >"$TW_TMP/big.txt"
cat >"$TW_TMP/sharded.conf" <<'P'
version = 1;
sets = { big = { file = "big.txt"; }; };
deny = [ "@big" ];
services = (
  { service = "https"; },
  { service = "imaps"; from = [ "@big", "192.0.2.0/24" ]; }
);
P
chmod 600 "$TW_TMP/sharded.conf" "$TW_TMP/big.txt"
ip netns exec "$a" nft flush ruleset
ip netns exec "$b" nft flush ruleset
ip netns exec "$a" "$bin" -q -f "$TW_TMP/sharded.conf" apply || tw_fail "sharded: apply failed"
"$bin" -q -f "$TW_TMP/sharded.conf" generate >"$TW_TMP/script.nft" 2>/dev/null
ip netns exec "$b" nft -f "$TW_TMP/script.nft" || tw_fail "sharded: nft -f failed"
grep -q "map big.v4.in.input" "$TW_TMP/script.nft" && grep -q "map big.v6.in.svc.imaps" "$TW_TMP/script.nft" ||
	tw_fail "sharded: the list was not sharded in both families"
ip netns exec "$a" nft list ruleset >"$TW_TMP/a.txt"
ip netns exec "$b" nft list ruleset >"$TW_TMP/b.txt"
cmp -s "$TW_TMP/a.txt" "$TW_TMP/b.txt" ||
	{ tw_fail "sharded: nft list differs"; diff -u "$TW_TMP/b.txt" "$TW_TMP/a.txt" | head -20 >&2; }
ip netns exec "$a" nft -j list ruleset | strip_handles >"$TW_TMP/a.json"
ip netns exec "$b" nft -j list ruleset | strip_handles >"$TW_TMP/b.json"
cmp -s "$TW_TMP/a.json" "$TW_TMP/b.json" || tw_fail "sharded: nft -j list differs"
rm -rf "$TLSWALL_STATE_DIR"
ip netns exec "$b" "$bin" -q -f "$TW_TMP/sharded.conf" diff >"$TW_TMP/diff.out" 2>&1 ||
	{ tw_fail "sharded: diff against the nft-loaded table is not empty"; head -20 "$TW_TMP/diff.out" >&2; }
echo "differential: $n policies"
tw_done
