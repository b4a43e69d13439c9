#!/bin/sh
# Correctness at scale: a million-entry list applies and reads back equal (element count and checksum of the
# normalized list, computed independently in Python); a delta commit leaves exactly the intended elements and does
# not touch the rules; a delta commit the kernel rejects leaves the previous set complete; overlapping and adjacent
# CIDRs are merged exactly as nft's auto-merge merges them; a long list is sharded: what the shards hold together is
# the list, a one-network change touches one shard in place, an overfull shard is split in one transaction (and a
# rejected split changes nothing), lists at the threshold and either side of it.
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

# 4. sharding (lists above 16,384 intervals are split into shard sets behind a dispatch map; see tlswall/shard.h)
shards() { run nft -j list table inet tlswall | $py shards "$1"; }
$py spread 100000 3 >"$TW_TMP/s.txt"
chmod 600 "$TW_TMP/s.txt"
policy "$TW_TMP/s.conf" s.txt
run nft flush ruleset
run "$bin" -q -f "$TW_TMP/s.conf" apply || tw_fail "applying the spread 100k list failed"
# what the kernel holds across the shards, read with nft alone, is the list
want=$($py digest <"$TW_TMP/s.txt")
got=$(run nft -j list table inet tlswall | $py digest-shards big)
[ "$want" = "$got" ] || tw_fail "the shards together hold something else: want $want, got $got"
shards big >"$TW_TMP/shards.0"
[ "$(wc -l <"$TW_TMP/shards.0")" -ge 12 ] || tw_fail "100k networks in $(wc -l <"$TW_TMP/shards.0") shards"
# one network less: exactly one shard changes, in place (same handle); every other keeps its handle and count
grep -v '^16\.' "$TW_TMP/s.txt" >"$TW_TMP/s1.txt"
head -n 1 "$TW_TMP/s.txt" | grep -q '^16\.' && tw_fail "test setup: the first line is the one removed"
grep '^16\.' "$TW_TMP/s.txt" | tail -n +2 >>"$TW_TMP/s1.txt"
cp "$TW_TMP/s1.txt" "$TW_TMP/s.txt"
out=$(run "$bin" -v -f "$TW_TMP/s.conf" apply 2>&1)
case $out in *"elements only"*) ;; *) tw_fail "a one-network change was not a delta: $out" ;; esac
case $out in *"big.v4: -1 element"*) ;; *) tw_fail "apply did not report the list's change as the list's: $out" ;; esac
shards big >"$TW_TMP/shards.1"
changed=$(diff "$TW_TMP/shards.0" "$TW_TMP/shards.1" | grep -c '^>')
[ "$changed" -eq 1 ] || tw_fail "a one-network change touched $changed shards"
diff "$TW_TMP/shards.0" "$TW_TMP/shards.1" | awk '/^</ {o=$2" "$3} /^>/ {n=$2" "$3} END {exit o == n ? 0 : 1}' ||
	tw_fail "the changed shard was remade, not changed in place"
run "$bin" -f "$TW_TMP/s.conf" diff >/dev/null || tw_fail "diff after the one-network change is not empty"
# a change that overfills one shard: it is split, in one transaction; the other shards keep their boundaries
crowd_in=$(awk 'NR == 3 { sub(/.*\.s/, "", $1); print $1 }' "$TW_TMP/shards.1")
crowd_from=$(python3 -c 'import ipaddress, sys; print(ipaddress.IPv4Address(int(sys.argv[1], 16) + 256))' "$crowd_in")
$py crowd 10000 "$crowd_from" >>"$TW_TMP/s.txt"
before=$(run nft list ruleset)
TLSWALL_TEST_FAULT_AT=40 run "$TBIN" -q -f "$TW_TMP/s.conf" apply >/dev/null 2>&1 && tw_fail "the faulty re-sharding was applied"
[ "$(run nft list ruleset)" = "$before" ] || tw_fail "a rejected re-sharding changed the ruleset"
out=$(run "$bin" -v -f "$TW_TMP/s.conf" apply 2>&1)
case $out in *"committed one transaction"*) ;; *) tw_fail "the re-sharding was not one transaction: $out" ;; esac
shards big >"$TW_TMP/shards.2"
awk '{print $1}' "$TW_TMP/shards.1" >"$TW_TMP/names.1"
awk '{print $1}' "$TW_TMP/shards.2" >"$TW_TMP/names.2"
[ -z "$(comm -23 "$TW_TMP/names.1" "$TW_TMP/names.2")" ] || tw_fail "re-sharding moved a boundary it did not need to"
next_cut=$(awk 'NR == 4 { sub(/.*\.s/, "", $1); print $1 }' "$TW_TMP/shards.1")
for n in $(comm -13 "$TW_TMP/names.1" "$TW_TMP/names.2"); do
	c=${n##*.s}
	[ "$c" \> "$crowd_in" ] && [ "$c" \< "$next_cut" ] || tw_fail "new shard $n is not inside the one that overflowed"
done
[ "$(comm -13 "$TW_TMP/names.1" "$TW_TMP/names.2" | wc -l)" -ge 1 ] || tw_fail "the overfull shard was not split"
awk '$3 > 16384 { exit 1 }' "$TW_TMP/shards.2" || tw_fail "a shard holds more than 16,384 intervals"
got=$(run nft -j list table inet tlswall | $py digest-shards big)
[ "$($py digest <"$TW_TMP/s.txt")" = "$got" ] || tw_fail "after re-sharding the shards hold something else"
# the record of that commit, damaged or cut short (a new file: last-known-good is a second name of it): a warning,
# and the kernel is read instead, never a wrong diff
damage() { # damage HOW
	python3 - "$TLSWALL_STATE_DIR/applied.json" "$1" <<'PY'
import os, sys
path, how = sys.argv[1], sys.argv[2]
data = bytearray(open(path, "rb").read())
if how == "flip":
    data[len(data) * 2 // 3] ^= 0x40
else:
    data = data[: len(data) // 2]
fd = os.open(path + ".damaged", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, bytes(data))
os.close(fd)
os.rename(path + ".damaged", path)
PY
}
head -c 8 "$TLSWALL_STATE_DIR/applied.json" | grep -q TLSWALLB || tw_fail "the record of a sharded table is not in the binary form"
for how in flip cut; do
	damage $how
	out=$(run "$bin" -f "$TW_TMP/s.conf" diff 2>&1); rc=$?
	[ $rc -eq 0 ] || tw_fail "diff with a record damaged ($how) exited $rc: $(echo "$out" | head -5)"
	case $out in *"record of the last commit cannot be used"*) ;; *) tw_fail "no warning about the damaged ($how) record: $out" ;; esac
done
# lists at the threshold and either side of it: 16,384 intervals are one set, 16,385 are shards
for n in 16383 16384 16385 16384; do
	$py crowd "$n" 20.0.0.0 >"$TW_TMP/t.txt"
	chmod 600 "$TW_TMP/t.txt"
	policy "$TW_TMP/t.conf" t.txt
	run "$bin" -q -f "$TW_TMP/t.conf" apply || tw_fail "applying $n intervals failed"
	nshards=$(shards big | wc -l)
	if [ "$n" -le 16384 ]; then
		[ "$nshards" -eq 0 ] || tw_fail "$n intervals were sharded ($nshards shards)"
		run nft list set inet tlswall big.v4 >/dev/null 2>&1 || tw_fail "$n intervals: no set big.v4"
	else
		[ "$nshards" -ge 2 ] || tw_fail "$n intervals were not sharded"
	fi
	got=$(run "$bin" show | $py digest-show big)
	[ "$($py digest <"$TW_TMP/t.txt")" = "$got" ] || tw_fail "$n intervals read back as $got"
	run nft add table ip other && run nft delete table ip other
	run "$bin" -q -f "$TW_TMP/t.conf" diff || tw_fail "$n intervals: diff against a dump is not empty"
done

# 5. merging as nft's auto-merge merges
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
