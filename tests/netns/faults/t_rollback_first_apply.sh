#!/bin/sh
# Rolling back the first apply removes the table, but "no table" never becomes last-known-good: a later boot with a
# broken policy applies the emergency ruleset, not nothing.
. "$(dirname "$0")/lib.sh"
tw_netns first; N=$TW_NS; S=$T/state
tl "$N" "$S" -q -f "$A" apply || tw_fail "the first apply failed"
tl "$N" "$S" rollback >"$T/rb.out" 2>&1
expect_rc 0 $? "rollback of the first apply" "$T/rb.out"
[ -z "$(table "$N")" ] || tw_fail "rollback of the first apply left the table"
[ -e "$S/last-known-good.json" ] && tw_fail "rollback made last-known-good of \"no table\""
tl "$N" "$S" status >"$T/status.out" 2>&1
has "$T/status.out" "last-known-good: none" "status"
tl "$N" "$S" -f "$BROKEN" apply --boot >"$T/boot.out" 2>&1
expect_rc 1 $? "boot with a broken policy" "$T/boot.out"
has "$T/boot.out" "applying the emergency ruleset" "boot"
table "$N" | grep -q 'tcp . 443' || tw_fail "the emergency ruleset is not live: $(table "$N")"
tw_done
