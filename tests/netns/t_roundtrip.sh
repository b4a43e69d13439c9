#!/bin/sh
# Every script `generate` prints passes `nft -c -f`, loads in a throwaway namespace, loads again on top of itself
# (replace, not merge), and lists identically both times; a foreign table beside it is untouched.
. "$(dirname "$0")/lib.sh"
tw_require_root
bin=$1
root=$(cd "$(dirname "$0")/../.." && pwd)

tw_netns rt
ns=$TW_NS
n=0
for conf in "$root"/tests/golden/[0-9]*.conf "$root"/policies/*.conf; do
	base=${conf%.conf}
	[ -e "$conf" ] || continue
	[ -e "$base.err" ] && continue
	n=$((n + 1))
	script="$TW_TMP/$(basename "$base").nft"
	if ! "$bin" -q -f "$conf" generate >"$script"; then tw_fail "$conf: generate failed"; continue; fi
	# the policy's table, whatever its name
	table=$(sed -n 's/^table inet \([^ ]*\) {$/\1/p' "$script")
	ip netns exec "$ns" nft flush ruleset
	ip netns exec "$ns" nft -f - <<-'NFT'
	table ip foreign {
		chain input { type filter hook input priority 10; policy accept; tcp dport 9999 counter accept; }
	}
	NFT
	before=$(ip netns exec "$ns" nft list table ip foreign)
	if ! out=$(ip netns exec "$ns" nft -c -f "$script" 2>&1); then tw_fail "$conf: nft -c rejects the script: $out"; continue; fi
	if ! out=$(ip netns exec "$ns" nft -f "$script" 2>&1); then tw_fail "$conf: first load failed: $out"; continue; fi
	first=$(ip netns exec "$ns" nft list table inet "$table")
	if ! out=$(ip netns exec "$ns" nft -f "$script" 2>&1); then tw_fail "$conf: second load failed: $out"; continue; fi
	second=$(ip netns exec "$ns" nft list table inet "$table")
	[ -n "$first" ] && [ "$first" = "$second" ] || tw_fail "$conf: listing missing or changed after loading twice"
	after=$(ip netns exec "$ns" nft list table ip foreign)
	[ "$before" = "$after" ] || tw_fail "$conf: the foreign table changed"
	tw_ok "$conf"
done
[ $n -gt 0 ] || tw_fail "no policies found"
echo "roundtrip: $n policies"
tw_done
