#!/bin/sh
# coexistence: another table's input base chain that drops what tlswall allows (by its policy, or by a rule) is
# named by check --live and by apply, which leaves that table alone; without such tables, no warning.
. "$(dirname "$0")/../guards_lib.sh"
tw_netns coex; N=$TW_NS
ip netns exec "$N" nft -f - <<'NFT' || tw_fail "could not load table ip filter"
table ip filter {
	chain INPUT {
		type filter hook input priority 0; policy drop;
	}
}
NFT
tl "$N" -f "$T/plain.conf" check --live >"$T/a.out" 2>&1
expect_rc 0 $? "check --live" "$T/a.out"
has "$T/a.out" "warning: table ip filter, chain INPUT (input hook, priority 0, policy drop) drops new IPv4 connections to 443/tcp" "check --live"
hasnt "$T/a.out" "no other table on the input hook undoes" "check --live"
tl "$N" -f "$T/plain.conf" apply >"$T/b.out" 2>&1
expect_rc 0 $? "apply next to table ip filter" "$T/b.out"
has "$T/b.out" "warning: table ip filter, chain INPUT" "apply"
ip netns exec "$N" nft list table ip filter >/dev/null 2>&1 || tw_fail "apply touched table ip filter"
# an ip6 table that drops 443 by a rule, not by its policy
ip netns exec "$N" nft -f - <<'NFT' || tw_fail "could not load table ip6 edge"
table ip6 edge {
	chain in {
		type filter hook input priority -5; policy accept;
		tcp dport 443 drop
	}
}
NFT
tl "$N" -f "$T/plain.conf" check --live >"$T/c.out" 2>&1
has "$T/c.out" "warning: table ip6 edge, chain in (input hook, priority -5, policy accept) drops new IPv6 connections to 443/tcp" "a rule that drops"
# without them: no such warning
ip netns exec "$N" nft delete table ip filter
ip netns exec "$N" nft delete table ip6 edge
tl "$N" -f "$T/plain.conf" check --live >"$T/d.out" 2>&1
expect_rc 0 $? "check --live alone" "$T/d.out"
hasnt "$T/d.out" "warning: table" "check --live alone"
has "$T/d.out" "no other table on the input hook undoes what tlswall allows" "check --live alone"
tl "$N" -f "$T/no-ssh.conf" apply >"$T/e.out" 2>&1
expect_rc 0 $? "apply alone" "$T/e.out"
hasnt "$T/e.out" "warning: table" "apply alone"
tw_done
