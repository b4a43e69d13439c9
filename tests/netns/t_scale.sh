#!/bin/sh
# Correctness at scale: a million-entry list applies and reads back equal (element count and checksum of the
# normalized list, computed independently in Python); a delta commit leaves exactly the intended elements and does
# not touch the rules; a delta commit the kernel rejects leaves the previous set complete; overlapping and adjacent
# CIDRs are merged exactly as nft's auto-merge merges them.
. "$(dirname "$0")/lib.sh"
tw_require_root
bin=$1
tw_test_bin "$@"
here=$(cd "$(dirname "$0")" && pwd)
export TLSWALL_STATE_DIR="$TW_TMP/state"
tw_netns scale; ns=$TW_NS
run() { ip netns exec "$ns" "$@"; }
py="python3 $here/scale_lists.py"
N=${SCALE_N:-1000000}

policy() { # policy FILE LIST
	printf 'version = 1;\nsets = { big = { file = "%s"; }; };\ndeny = [ "@big" ];\nservices = ( { service = "https"; } );\n' "$2" >"$1"
	chmod 600 "$1"
}

# 1. a million entries, read back through a real dump
$py make "$N" 1 >"$TW_TMP/l1m.txt"
chmod 600 "$TW_TMP/l1m.txt"
policy "$TW_TMP/p1m.conf" l1m.txt
run "$bin" -q -f "$TW_TMP/p1m.conf" apply || tw_fail "applying $N entries failed"
want=$($py digest <"$TW_TMP/l1m.txt")
got=$(run "$bin" show | $py digest-show big)
[ "$want" = "$got" ] || tw_fail "read-back of $N entries differs: want $want, got $got"
echo "scale: $N entries: $got"
run "$bin" -q -f "$TW_TMP/p1m.conf" remove

# 2. delta commit: exactly the intended elements, rules untouched
$py make 100000 2 >"$TW_TMP/d.txt"
chmod 600 "$TW_TMP/d.txt"
policy "$TW_TMP/d.conf" d.txt
run "$bin" -q -f "$TW_TMP/d.conf" apply || tw_fail "applying the 100k list failed"
handles_before=$(run nft -a list chain inet tlswall input)
$py mutate <"$TW_TMP/d.txt" >"$TW_TMP/d2.txt"
cp "$TW_TMP/d2.txt" "$TW_TMP/d.txt"
out=$(run "$bin" -v -f "$TW_TMP/d.conf" apply 2>&1 | grep 'committed one transaction')
case $out in *"elements only"*) ;; *) tw_fail "a list change was not sent as a delta: $out" ;; esac
[ "$(run nft -a list chain inet tlswall input)" = "$handles_before" ] || tw_fail "the delta commit touched the rules"
want=$($py digest <"$TW_TMP/d2.txt")
got=$(run "$bin" show | $py digest-show big)
[ "$want" = "$got" ] || tw_fail "after the delta the set holds something else: want $want, got $got"
run nft add table ip other && run nft delete table ip other # someone else commits: the next diff must dump
run "$bin" -q -f "$TW_TMP/d.conf" diff || tw_fail "diff against a dump after the delta is not empty"

# 3. a delta the kernel rejects leaves the set complete
$py mutate <"$TW_TMP/d2.txt" >"$TW_TMP/d.txt"
before=$(run nft list ruleset)
TLSWALL_TEST_FAULT_AT=1 run "$TBIN" -q -f "$TW_TMP/d.conf" apply >/dev/null 2>&1 && tw_fail "the faulty delta was applied"
[ "$(run nft list ruleset)" = "$before" ] || tw_fail "a rejected delta changed the ruleset"
got=$(run "$bin" show | $py digest-show big)
[ "$($py digest <"$TW_TMP/d2.txt")" = "$got" ] || tw_fail "a rejected delta left the set incomplete"

# 4. merging as nft's auto-merge merges
$py messy >"$TW_TMP/messy.txt"
chmod 600 "$TW_TMP/messy.txt"
policy "$TW_TMP/m.conf" messy.txt
run nft flush ruleset
run "$bin" -q -f "$TW_TMP/m.conf" apply 2>/dev/null || tw_fail "applying the messy list failed"
mine=$(run nft list set inet tlswall big.v4; run nft list set inet tlswall big.v6)
tw_netns nftmerge
{
	echo 'table inet t {'
	echo ' set big.v4 { type ipv4_addr; flags interval; auto-merge; }'
	echo ' set big.v6 { type ipv6_addr; flags interval; auto-merge; }'
	echo '}'
	grep -v ':' "$TW_TMP/messy.txt" | sed 's/^/add element inet t big.v4 { /; s/$/ }/'
	grep ':' "$TW_TMP/messy.txt" | sed 's/^/add element inet t big.v6 { /; s/$/ }/'
} >"$TW_TMP/merge.nft"
ip netns exec "$TW_NS" nft -f "$TW_TMP/merge.nft" || tw_fail "nft could not load the messy list"
theirs=$(ip netns exec "$TW_NS" nft list set inet t big.v4; ip netns exec "$TW_NS" nft list set inet t big.v6)
[ "$(echo "$mine" | $py elements)" = "$(echo "$theirs" | $py elements)" ] ||
	tw_fail "tlswall and nft auto-merge merge the messy list differently"
tw_done
