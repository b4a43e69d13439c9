#!/bin/sh
# An empty, blank or comment-only policy (what a crash, a full disk or a deployment cut short leaves) is an error:
# apply changes nothing, and apply --boot falls back to last-known-good without overwriting it.
. "$(dirname "$0")/lib.sh"
tw_netns empty; N=$TW_NS; S=$T/state
tl "$N" "$S" -q -f "$A" apply || tw_fail "applying A failed"
table "$N" >"$T/A.live"
cp "$S/last-known-good.json" "$T/lkg.before"
for kind in empty blank comments; do
	P=$T/prod-$kind.conf
	case $kind in
	empty) : >"$P" ;;
	blank) printf '\n   \n\t\n' >"$P" ;;
	comments) printf '# tlswall policy for this host\n// written by config management\n' >"$P" ;;
	esac
	chmod 600 "$P"
	tl "$N" "$S" -f "$P" apply >"$T/$kind.apply" 2>&1
	expect_rc 1 $? "$kind: apply" "$T/$kind.apply"
	has "$T/$kind.apply" "$P:1: error: the policy is empty" "$kind: apply"
	table_is "$N" "$T/A.live" || tw_fail "$kind: apply changed the table"
	ip netns exec "$N" nft flush ruleset # as after a reboot
	tl "$N" "$S" -f "$P" apply --boot >"$T/$kind.boot" 2>&1
	expect_rc 1 $? "$kind: apply --boot" "$T/$kind.boot"
	has "$T/$kind.boot" "applying the last-known-good ruleset" "$kind: apply --boot"
	table_is "$N" "$T/A.live" || tw_fail "$kind: boot did not bring back last-known-good A"
	cmp -s "$S/last-known-good.json" "$T/lkg.before" || tw_fail "$kind: boot overwrote last-known-good"
done
tw_done
