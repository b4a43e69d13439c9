#!/bin/sh
# apply --boot when the policy cannot be read at all: a FIFO (which a plain read would wait on for ever, holding the
# boot), a directory, a file that is not there. Each time boot returns at once, within its time limit, and the
# last-known-good ruleset is applied.
. "$(dirname "$0")/../deploy_lib.sh"
tw_netns bootread; N=$TW_NS; S=$T/state
tl "$N" "$S" -q -f "$A" apply || tw_fail "apply A failed"
dump "$N" "$T/lkg"
mkfifo "$T/fifo.conf"
mkdir "$T/dir.conf"
for policy in "$T/fifo.conf" "$T/dir.conf" "$T/missing.conf"; do
	what=$(basename "$policy")
	ip netns exec "$N" nft flush ruleset
	tl "$N" "$S" -f "$policy" apply --boot >"$T/boot.out" 2>&1
	rc=$?
	[ $rc -ne 124 ] || tw_fail "$what: boot hung (killed by its time limit)"
	[ $rc -ne 0 ] || tw_fail "$what: boot exited 0"
	has "$T/boot.out" "cannot read policy file" "$what: boot output"
	has "$T/boot.out" "applying the last-known-good ruleset" "$what: boot output"
	live_is "$N" "$T/lkg" || tw_fail "$what: live is not last-known-good: $(live_diff "$N" "$T/lkg")"
done
tw_done
