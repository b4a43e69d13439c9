#!/bin/sh
# lockout by real established TCP connections (client and host namespaces on a veth pair, python3 at both ends): the
# host's own outbound connection is no reason to refuse; closing a port under inbound connections over IPv4 and
# IPv6 is refused (exit 3, naming both clients, nothing changed); --force applies it with a warning.
. "$(dirname "$0")/../guards_lib.sh"
host_and_client 98
tl "$H" -q -f "$T/admin.conf" apply || tw_fail "applying the admin policy failed"
# the host's own outbound connection (to a server in the client namespace)
hold "$C" server "0.0.0.0,7000" >"$T/csrv.log" 2>&1
wait_for 10 grep -q listening "$T/csrv.log" || tw_fail "the client-side server never listened: $(cat "$T/csrv.log")"
hold "$H" client $C4 7000 50 >"$T/hcli.log" 2>&1
wait_for 10 grep -q accepted "$T/csrv.log" || tw_fail "the host's outbound connection was not made: $(cat "$T/hcli.log")"
tl "$H" -f "$T/plain.conf" apply >"$T/outbound.out" 2>&1
expect_rc 0 $? "apply with only an outbound connection" "$T/outbound.out"
hasnt "$T/outbound.out" "would drop" "outbound connection"
tl "$H" -q -f "$T/admin.conf" apply || tw_fail "re-applying the admin policy failed"
# inbound: client -> host:8443 over both families, accepted and held on both ends
hold "$H" server "::,8443" >"$T/hsrv.log" 2>&1
wait_for 10 grep -q listening "$T/hsrv.log" || tw_fail "the host server never listened: $(cat "$T/hsrv.log")"
hold "$C" client $H4 8443 50 >"$T/ccli4.log" 2>&1
hold "$C" client $H6 8443 50 >"$T/ccli6.log" 2>&1
both() { grep -q "accepted ::ffff:$C4 " "$T/hsrv.log" && grep -q "accepted $C6 " "$T/hsrv.log"; }
if wait_for 10 both; then
	ruleset "$H" >"$T/before"
	tl "$H" -f "$T/plain.conf" apply >"$T/inbound.out" 2>&1
	expect_rc 3 $? "apply closing 8443 under established connections" "$T/inbound.out"
	has "$T/inbound.out" "refusing: the new policy would drop new connections from $C4 to port 8443/tcp" "refusal"
	has "$T/inbound.out" "refusing: the new policy would drop new connections from $C6 to port 8443/tcp" "refusal"
	has "$T/inbound.out" "where a connection from there is established now" "refusal"
	ruleset "$H" | cmp -s - "$T/before" || tw_fail "a refused apply changed the ruleset"
	tl "$H" -f "$T/plain.conf" apply --force >"$T/force.out" 2>&1
	expect_rc 0 $? "apply --force closing 8443" "$T/force.out"
	has "$T/force.out" "warning: the new policy would drop new connections from $C4 to port 8443/tcp" "--force"
	tl "$H" -q -f "$T/plain.conf" diff >/dev/null 2>&1 || tw_fail "--force did not apply the policy"
else
	tw_fail "the connections to 8443 were not both accepted (server: $(cat "$T/hsrv.log"); clients:" \
		"$(cat "$T/ccli4.log" "$T/ccli6.log"))"
fi
tw_done
