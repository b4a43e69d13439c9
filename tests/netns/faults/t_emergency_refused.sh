#!/bin/sh
# When the kernel refuses even the emergency ruleset, boot says so with the policy line behind the refused object:
# the table's strings belong to the table, not to the policy it was compiled from (the sanitizer build checks).
. "$(dirname "$0")/lib.sh"
tw_netns emer; N=$TW_NS; S=$T/state
TLSWALL_TEST_FAULT_AT=4 ttl "$N" "$S" -f "$BROKEN" apply --boot >"$T/boot.out" 2>&1
rc=$?
grep -q "AddressSanitizer\|runtime error" "$T/boot.out" && tw_fail "the sanitizer found a fault: $(cat "$T/boot.out")"
expect_rc 1 $rc "boot whose emergency ruleset the kernel refuses" "$T/boot.out"
has "$T/boot.out" "the kernel refused the transaction; nothing was applied" "boot"
has "$T/boot.out" "the emergency ruleset could not be applied either" "boot"
tw_done
