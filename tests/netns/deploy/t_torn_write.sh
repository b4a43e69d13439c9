#!/bin/sh
# a state write torn by SIGKILL right after a commit (test hook TLSWALL_TEST_WRITE_DELAY_MS): the commit stands,
# last-known-good is still the whole previous snapshot and boot can use it; a later complete apply makes the new
# policy last-known-good and leaves no temporary file.
. "$(dirname "$0")/../deploy_lib.sh"
big_policy
tw_netns s8; N=$TW_NS; S=$T/state
tl "$N" "$S" -q -f "$A" apply || tw_fail "apply A failed"
dump "$N" "$T/s8-A"
torn "$N" "$S"
tl "$N" "$S" -q -f "$C" diff >/dev/null 2>&1 || tw_fail "C was not committed before the kill"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$S/last-known-good.json" ||
	tw_fail "last-known-good.json is not whole JSON"
tl "$N" "$S" status >"$T/s8.status" 2>&1
has "$T/s8.status" "last-known-good: $A (table inet tlswall)" "status after the torn write"
tl "$N" "$S" -f "$BROKEN" apply --boot >"$T/s8.boot" 2>&1 && tw_fail "boot with a broken policy exited 0"
has "$T/s8.boot" "applying the last-known-good ruleset" "boot output"
live_is "$N" "$T/s8-A" || tw_fail "boot did not restore A: $(live_diff "$N" "$T/s8-A")"
tl "$N" "$S" -q -f "$C" apply || tw_fail "apply C failed"
tl "$N" "$S" status >"$T/s8.status2" 2>&1
has "$T/s8.status2" "last-known-good: $C (table inet tlswall)" "status after applying C"
for f in "$S"/*.tmp; do [ -e "$f" ] && tw_fail "$f is still there after a complete apply"; done
# C's list is long (sharded): its elements are in a base file that last-known-good.json names
base=$(ls "$S"/base-*.bin 2>/dev/null | head -n 1)
sz=$(stat -c %s "${base:-/nonexistent}" 2>/dev/null || echo 0)
[ "$sz" -gt 150000 ] || tw_fail "the base file of C's last-known-good is only $sz bytes"
tw_done
