#!/bin/sh
# the rollback is of tlswall's table alone: a table another program adds meanwhile stays as it is, and a rule added
# by hand to tlswall's table meanwhile goes.
. "$(dirname "$0")/../deploy_lib.sh"
tw_netns s11; N=$TW_NS; S=$T/state
tl "$N" "$S" -q -f "$A" apply || tw_fail "apply A failed"
ip netns exec "$N" nft list table inet tlswall >"$T/s11-A.table"
confirm_apply "$N" "$S" "$B" 2 "$T/s11.out"
ip netns exec "$N" nft -f - <<'NFT' || tw_fail "could not add the other table"
table ip other {
	chain FORWARD {
		type filter hook forward priority 0; policy accept;
		iifname "docker0" counter accept
	}
}
NFT
ip netns exec "$N" nft add rule inet tlswall input tcp dport 9999 accept || tw_fail "could not add a rule by hand"
ip netns exec "$N" nft list table ip other >"$T/s11-other.table"
tlswall_is_a() { ip netns exec "$N" nft list table inet tlswall 2>/dev/null | cmp -s - "$T/s11-A.table"; }
if wait_for 6 tlswall_is_a; then
	tw_ok "tlswall's table rolled back"
else
	tw_fail "table inet tlswall is not A again: $(ip netns exec "$N" nft list table inet tlswall |
		diff "$T/s11-A.table" - | head)"
fi
ip netns exec "$N" nft list table ip other | cmp -s - "$T/s11-other.table" || tw_fail "the rollback changed table ip other"
wait_for 2 no_timers "$S" || tw_fail "a rollback timer is still running"
tw_done
