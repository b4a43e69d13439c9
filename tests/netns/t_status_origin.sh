#!/bin/sh
# What status says a saved ruleset is: where it came from, never "a restore". In a namespace of its own:
#  1. apply A, apply B, rollback, apply B: the table rollback would restore is A's, restored from previous.json
#  2. apply --boot of a broken policy with nothing saved, then apply A: the table before A is the emergency ruleset
#  3. apply --boot of A, then apply B: the table before B is A's
. "$(dirname "$0")/lib.sh"
tw_require_root
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
T=$TW_TMP

tw_netns origin
N=$TW_NS
tw_policy "$T/a.conf" <<'P'
version = 1;
services = ( { service = "https"; } );
P
tw_policy "$T/b.conf" <<'P'
version = 1;
services = ( { service = "https"; }, { service = "imaps"; } );
P
printf 'version = 1;\nservices = ( { service = "htps"; } );\n' >"$T/broken.conf"
chmod 600 "$T/broken.conf"
A=$T/a.conf
B=$T/b.conf
# tl STATE ARGS...: tlswall in the namespace with state directory STATE
tl() {
	_st=$1
	shift
	timeout 30 ip netns exec "$N" "$bin" --state-dir "$T/$_st" "$@"
}
# expect_status STATE LINE: status prints LINE (and nowhere "a restore")
expect_status() {
	tl "$1" status >"$T/status.out" 2>&1 || tw_fail "$1: status failed: $(cat "$T/status.out")"
	grep -qxF -- "$2" "$T/status.out" || tw_fail "$1: expected the line \"$2\" in: $(cat "$T/status.out")"
	if grep -q 'a restore' "$T/status.out"; then tw_fail "$1: status says \"a restore\": $(cat "$T/status.out")"; fi
}
run() { "$@" >"$T/run.out" 2>&1 || tw_fail "$*: $(cat "$T/run.out")"; }

# 1.
run tl s1 -q -f "$A" apply
run tl s1 -q -f "$B" apply
expect_status s1 "previous (what rollback restores): $A (table inet tlswall)"
run tl s1 -q rollback
expect_status s1 "last-known-good: $A (table inet tlswall)"
run tl s1 -q -f "$B" apply
expect_status s1 "previous (what rollback restores): $A, restored from previous.json (table inet tlswall)"
# restored twice, said once
run tl s1 -q rollback
run tl s1 -q -f "$B" apply
expect_status s1 "previous (what rollback restores): $A, restored from previous.json (table inet tlswall)"

# 2.
ip netns exec "$N" nft flush ruleset
tl s2 -q -f "$T/broken.conf" apply --boot >"$T/boot.out" 2>&1 && tw_fail "2: apply --boot of a broken policy exited 0"
grep -q "applying the emergency ruleset" "$T/boot.out" || tw_fail "2: no emergency ruleset: $(cat "$T/boot.out")"
run tl s2 -q -f "$A" apply
expect_status s2 "previous (what rollback restores): the built-in default policy, applied as the emergency ruleset (table inet tlswall)"

# 3.
ip netns exec "$N" nft flush ruleset
run tl s3 -q -f "$A" apply --boot
run tl s3 -q -f "$B" apply
expect_status s3 "previous (what rollback restores): $A (table inet tlswall)"
tw_done
