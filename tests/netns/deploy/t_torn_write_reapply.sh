#!/bin/sh
# after the same torn write, running the same apply again (what anyone would do: it says "no changes") must still
# leave the committed policy last-known-good.
. "$(dirname "$0")/../deploy_lib.sh"
big_policy
tw_netns s8b; N=$TW_NS; S=$T/state
tl "$N" "$S" -q -f "$A" apply || tw_fail "apply A failed"
torn "$N" "$S"
tl "$N" "$S" -f "$C" apply >"$T/s8b.out" 2>&1 || tw_fail "apply C again failed: $(cat "$T/s8b.out")"
tl "$N" "$S" status >"$T/s8b.status" 2>&1
has "$T/s8b.status" "last-known-good: $C (table inet tlswall)" \
	"C applied without --confirm and apply exited 0 ($(cat "$T/s8b.out")), yet last-known-good"
tw_done
