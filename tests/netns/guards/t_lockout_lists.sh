#!/bin/sh
# lockout by list changes, under real established connections over IPv4 and IPv6 (client and host namespaces): a
# deny list file that gains the client's address is refused (exit 3, the client named, nothing changed), and so is an
# allow list (the sources of a service) that loses it; a deny list that only loses entries can cut nobody and applies
# (the guard then asks the kernel for listening sockets only: it still warns of a listener no entry lets in).
. "$(dirname "$0")/../guards_lib.sh"
host_and_client 97

# list FILE LINES...: a list file, as an admin writes one
list() {
	_f=$1
	shift
	printf '%s\n' "$@" >"$T/$_f" && chmod 600 "$T/$_f" || tw_fail "cannot write $T/$_f"
}
list bl.txt 192.0.2.0/24 198.51.100.7
list office.txt $C4 $C6 10.0.0.0/8
tw_policy "$T/lists.conf" <<'P'
version = 1;
sets = { bl = { file = "bl.txt"; }; office = { file = "office.txt"; }; };
deny = [ "@bl" ];
services = ( { name = "admin"; port = 8443; tls = true; from = [ "@office" ]; } );
P
tl "$H" -q -f "$T/lists.conf" apply || tw_fail "applying the list policy failed"

# a listener that no entry lets in, and a server on 8443 holding a connection from the client over each family
hold "$H" server "::,9000" >"$T/other.log" 2>&1
hold "$H" server "::,8443" >"$T/hsrv.log" 2>&1
wait_for 10 grep -q listening "$T/other.log" || tw_fail "the server on 9000 never listened: $(cat "$T/other.log")"
wait_for 10 grep -q listening "$T/hsrv.log" || tw_fail "the host server never listened: $(cat "$T/hsrv.log")"
hold "$C" client $H4 8443 50 >"$T/ccli4.log" 2>&1
hold "$C" client $H6 8443 50 >"$T/ccli6.log" 2>&1
both() { grep -q "accepted ::ffff:$C4 " "$T/hsrv.log" && grep -q "accepted $C6 " "$T/hsrv.log"; }
wait_for 10 both || tw_fail "the connections to 8443 were not both accepted (server: $(cat "$T/hsrv.log"))"
ruleset "$H" >"$T/before"

# the deny list gains the client's IPv4 address: an element added, a connection cut
list bl.txt 192.0.2.0/24 198.51.100.7 $C4
tl "$H" -f "$T/lists.conf" apply >"$T/deny-gains.out" 2>&1
expect_rc 3 $? "apply adding the client to the deny list" "$T/deny-gains.out"
has "$T/deny-gains.out" "refusing: the new policy would drop new connections from $C4 to port 8443/tcp, where a connection from there is established now: the client is in a deny list" "deny list gains"
hasnt "$T/deny-gains.out" "from $C6 " "deny list gains (IPv6 client untouched)"
ruleset "$H" | cmp -s - "$T/before" || tw_fail "a refused apply (deny list gains) changed the ruleset"

# the allow list loses the client's IPv6 address: elements taken out, and still a connection cut
list bl.txt 192.0.2.0/24 198.51.100.7
list office.txt $C4 10.0.0.0/8
tl "$H" -f "$T/lists.conf" apply >"$T/allow-loses.out" 2>&1
expect_rc 3 $? "apply taking the client out of the allow list" "$T/allow-loses.out"
has "$T/allow-loses.out" "refusing: the new policy would drop new connections from $C6 to port 8443/tcp" "allow list loses"
ruleset "$H" | cmp -s - "$T/before" || tw_fail "a refused apply (allow list loses) changed the ruleset"

# the deny list only loses an entry: nobody can be cut; the listener nothing lets in is still named
list office.txt $C4 $C6 10.0.0.0/8
list bl.txt 192.0.2.0/24
tl "$H" -f "$T/lists.conf" apply >"$T/deny-loses.out" 2>&1
expect_rc 0 $? "apply taking an entry out of the deny list" "$T/deny-loses.out"
hasnt "$T/deny-loses.out" "would drop" "deny list loses"
has "$T/deny-loses.out" "warning: something listens on :: port 9000/tcp, but the policy opens no way in" "deny list loses"
ip netns exec "$H" nft list set inet tlswall bl.v4 >"$T/bl.v4" || tw_fail "cannot list set bl.v4"
has "$T/bl.v4" "192.0.2.0/24" "the deny list after"
hasnt "$T/bl.v4" "198.51.100.7" "the deny list after"
tw_done
