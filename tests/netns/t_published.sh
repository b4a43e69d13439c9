#!/bin/sh
# Published ports: a client namespace, a host namespace that routes for two "container" namespaces on a bridge, and
# the rules container engines write. Docker's own rules exactly as Docker writes them through iptables-nft and
# ip6tables-nft (nat PREROUTING to DOCKER by -m addrtype --dst-type LOCAL, DNAT of 80 and 443 to the first
# container, FORWARD policy DROP with DOCKER-USER, the isolation chains and the per-port accepts, MASQUERADE), and a
# native nftables table as Podman's netavark writes one (fib daddr type local, DNAT of 993 and 143 to the second).
# With the default policy applied: 443 and 993 reach the containers over IPv4 and IPv6, 80 and 143 do not and are
# counted; an exemption opens 80; a source restriction is enforced on the client's own address; the host, the
# containers among themselves and the containers going out are untouched; apply, diff and remove leave the other
# tables byte for byte as they were; check --live and audit name the published ports and what the policy does
# with them; published_ports = false leaves forwarding to the other tables.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/servers_lib.sh"
tw_require_root
tw_need openssl python3 iptables-nft-restore ip6tables-nft-restore nft timeout
# the sanitizer build: the DNAT reader reads other tools' rules, whatever they hold
tw_test_bin "$@"
root=$(cd "$(dirname "$0")/../.." && pwd)
export TLSWALL_STATE_DIR="$TW_TMP/state"

H4=10.98.0.1 C4=10.98.0.2 C4B=10.98.0.3
H6=fd00:98::1 C6=fd00:98::2 C6B=fd00:98::3
# Docker's bridge br0 with containers K1 and K3, Podman's bridge podman0 with container K2
B4=172.30.0.1 K1_4=172.30.0.2 K3_4=172.30.0.4
B6=fd00:30::1 K1_6=fd00:30::2 K3_6=fd00:30::4
P4=10.88.0.1 K2_4=10.88.0.2
P6=fd00:88::1 K2_6=fd00:88::2

# client -- host
tw_pair host client $H4 $C4 $H6 $C6
ip -n "$C" addr add $C4B/24 dev tw-c
ip -n "$C" addr add $C6B/64 dev tw-c nodad
tw_netns k1
K1=$TW_NS
tw_netns k2
K2=$TW_NS
tw_netns k3
K3=$TW_NS
tw_nodad "$K1" "$K2" "$K3"
ip netns exec "$H" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 || exit 1
# the bridges and the containers' veths, as the engines make them
for b in "br0 $B4 $B6" "podman0 $P4 $P6"; do
	set -- $b
	ip -n "$H" link add "$1" type bridge || exit 1
	ip -n "$H" addr add "$2/24" dev "$1"
	ip -n "$H" addr add "$3/64" dev "$1" nodad
	ip -n "$H" link set "$1" up
done
n=0
for k in "$K1 br0 $K1_4 $K1_6 $B4 $B6" "$K2 podman0 $K2_4 $K2_6 $P4 $P6" "$K3 br0 $K3_4 $K3_6 $B4 $B6"; do
	set -- $k
	n=$((n + 1))
	ip -n "$H" link add tw-v$n type veth peer name eth0 netns "$1" || exit 1
	ip -n "$H" link set tw-v$n master "$2" up
	ip -n "$1" addr add "$3/24" dev eth0
	ip -n "$1" addr add "$4/64" dev eth0 nodad
	ip -n "$1" link set eth0 up
	ip -n "$1" route add default via "$5"
	ip -n "$1" -6 route add default via "$6"
done

# Docker 24's rules for a bridge br0 with 172.30.0.0/24 and fd00:30::/64, container K1 publishing 80 and 443 (IPv4
# and IPv6): what `iptables-save` prints on such a host, with the two DOCKER-USER rules an admin adds so that
# Docker's FORWARD policy does not drop Podman's traffic.
docker_rules() { # FAMILY: 4 or 6
	if [ "$1" = 4 ]; then net=172.30.0.0/24 k=$K1_4/32 to=$K1_4 lo="! -d 127.0.0.0/8"; else net=fd00:30::/64 k=$K1_6/128 to="[$K1_6]" lo="! -d ::1/128"; fi
	cat <<EOF
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT $lo -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s $net ! -o br0 -j MASQUERADE
-A POSTROUTING -s $k -d $k -p tcp -m tcp --dport 443 -j MASQUERADE
-A POSTROUTING -s $k -d $k -p tcp -m tcp --dport 80 -j MASQUERADE
-A DOCKER -i br0 -j RETURN
-A DOCKER ! -i br0 -p tcp -m tcp --dport 443 -j DNAT --to-destination $to:443
-A DOCKER ! -i br0 -p tcp -m tcp --dport 80 -j DNAT --to-destination $to:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o br0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o br0 -j DOCKER
-A FORWARD -i br0 ! -o br0 -j ACCEPT
-A FORWARD -i br0 -o br0 -j ACCEPT
-A DOCKER -d $k ! -i br0 -o br0 -p tcp -m tcp --dport 443 -j ACCEPT
-A DOCKER -d $k ! -i br0 -o br0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i br0 ! -o br0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o br0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
-A DOCKER-USER -i podman0 -j ACCEPT
-A DOCKER-USER -o podman0 -j ACCEPT
-A DOCKER-USER -j RETURN
COMMIT
EOF
}
docker_rules 4 | ip netns exec "$H" iptables-nft-restore || { tw_fail "iptables-nft-restore refused Docker's rules"; tw_done; }
docker_rules 6 | ip netns exec "$H" ip6tables-nft-restore || { tw_fail "ip6tables-nft-restore refused Docker's rules"; tw_done; }
# netavark's nftables driver (Podman 5), for container K2 publishing 993 and 143
ip netns exec "$H" nft -f - <<EOF || { tw_fail "nft refused the netavark-style table"; tw_done; }
table inet netavark {
	chain PREROUTING {
		type nat hook prerouting priority dstnat; policy accept;
		fib daddr type local jump NETAVARK-HOSTPORT-DNAT
	}
	chain OUTPUT {
		type nat hook output priority -100; policy accept;
		fib daddr type local jump NETAVARK-HOSTPORT-DNAT
	}
	chain POSTROUTING {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 10.88.0.0/24 ip daddr != 10.88.0.0/24 masquerade
		ip6 saddr fd00:88::/64 ip6 daddr != fd00:88::/64 masquerade
	}
	chain NETAVARK-HOSTPORT-DNAT {
		tcp dport { 143, 993 } jump nv_k2_dnat
	}
	chain nv_k2_dnat {
		meta nfproto ipv4 tcp dport 993 dnat ip to $K2_4:993
		meta nfproto ipv4 tcp dport 143 dnat ip to $K2_4:143
		meta nfproto ipv6 tcp dport 993 dnat ip6 to [$K2_6]:993
		meta nfproto ipv6 tcp dport 143 dnat ip6 to [$K2_6]:143
	}
	chain FORWARD {
		type filter hook forward priority filter; policy accept;
		ct state invalid drop
		ip daddr 10.88.0.0/24 ct state related,established accept
		ip6 daddr fd00:88::/64 ct state related,established accept
		ip saddr 10.88.0.0/24 accept
		ip6 saddr fd00:88::/64 accept
	}
}
EOF

cd "$TW_TMP" || exit 1
tw_cert "$TW_TMP/container" container
tw_s_server "$K1" 443 "$TW_TMP/container" -www
tw_s_server "$K2" 993 "$TW_TMP/container" -www
tw_serve "$K1" python3 "$root/scripts/banner-server.py" "K1" 80 8080 </dev/null >k1.log 2>&1
tw_serve "$K2" python3 "$root/scripts/banner-server.py" "K2" 143 8080 </dev/null >k2.log 2>&1
tw_serve "$K3" python3 "$root/scripts/banner-server.py" "K3" 8080 </dev/null >k3.log 2>&1
# "outside": a server in the client namespace, for the containers' own outbound connections
tw_serve "$C" python3 "$root/scripts/banner-server.py" "OUTSIDE" 7000 </dev/null >out.log 2>&1
tw_await "$K1" t 443 80 8080 && tw_await "$K2" t 993 143 8080 && tw_await "$K3" t 8080 && tw_await "$C" t 7000 ||
	{ tw_fail "the servers never listened: $(tail -n 2 s_server-*.log k1.log k2.log out.log)"; tw_done; }

# tls WHEN NAMESPACE ADDR PORT WANT: a TLS handshake with the container's certificate (WANT yes) or none (no)
tls() {
	_out=$(ip netns exec "$2" timeout 5 openssl s_client -brief -connect "$(hostport "$3" "$4")" </dev/null 2>&1)
	if printf '%s\n' "$_out" | grep -q '^CONNECTION ESTABLISHED' && printf '%s\n' "$_out" | grep -q 'CN *= *container'; then
		[ "$5" = yes ] && tw_ok "$1: TLS with $3 port $4" || tw_fail "$1: a TLS handshake with $3 port $4 completed"
	else
		[ "$5" = no ] && tw_ok "$1: no TLS with $3 port $4" ||
			tw_fail "$1: no TLS handshake with $3 port $4: $(printf '%s\n' "$_out" | tail -n 1)"
	fi
}
# probe WHEN NAMESPACE EXPECT...: EXPECT is ADDR,PORT[,SOURCE]=RESULT where RESULT is a banner's first word (K1, K2,
# OUTSIDE), or timeout, silent (connected, no bytes: a TLS server) or refused; every target is tried at once, a
# blocked one costs the 2 s limit.
probe() {
	_when=$1 _ns=$2
	shift 2
	_targets=""
	for _e in "$@"; do _targets="$_targets ${_e%%=*}"; done
	# shellcheck disable=SC2086
	tw_probe "$_ns" "$_when" $_targets
	for _e in "$@"; do
		_t=${_e%%=*} _want=${_e#*=}
		_addr=${_t%%,*} _rest=${_t#*,} _port=${_rest%%,*}
		# a later target with the same address and port (another source) reads the next line
		_got=$(tw_probed "$_addr" "$_port")
		_res=${_got%% *} _banner=${_got##* }
		case $_want in
		timeout | silent | refused) [ "$_res" = "$_want" ] ;;
		*) [ "$_res" = banner ] && [ "$_banner" = "${_want}_port_$_port" ] ;;
		esac && tw_ok "$_when: $_t $_want" || tw_fail "$_when: $_t: expected $_want, got ${_got:-nothing}"
	done
}

# before tlswall, Docker's rules are what they say: both ports reach the container
step "no tlswall"
probe "no tlswall" "$C" "$H4,80=K1" "$H6,80=K1" "$H4,143=K2" "$H6,143=K2"
probe "no tlswall, between containers" "$K1" "$K3_4,8080=K3" "$K3_6,8080=K3" "$K2_4,8080=K2" "$K2_6,8080=K2"
tls "no tlswall" "$C" $H4 443 yes

others() { # what the other tables hold, without counters (which traffic moves)
	ip netns exec "$H" nft -s list ruleset 2>/dev/null | awk '/^table inet tlswall /{ skip = 1 } !skip { print } skip && /^}/ { skip = 0 }'
}
others >others.before
# iptables-save without its comments and the chain policies' counters
saved() { ip netns exec "$H" "$1" | sed -e '/^#/d' -e 's/ \[[0-9]*:[0-9]*\]$//'; }
saved iptables-nft-save >iptables.before
saved ip6tables-nft-save >ip6tables.before
same_others() { # WHEN
	others >others.now
	saved iptables-nft-save >iptables.now
	saved ip6tables-nft-save >ip6tables.now
	for f in others iptables ip6tables; do
		cmp -s "$f.before" "$f.now" || tw_fail "$1: the other tables changed ($f): $(diff "$f.before" "$f.now" | head -n 5)"
	done
}

policy() { # FILE: the default policy with what follows on stdin added, checked (tw_policy)
	{
		sed -n '/^version/,$p' "$root/policies/default.conf"
		cat
	} >"$TW_TMP/$1.in"
	tw_policy "$TW_TMP/$1" <"$TW_TMP/$1.in"
}
run() { # WHEN ARGS...: tlswall in the host namespace; output in run.out
	_when=$1
	shift
	ip netns exec "$H" timeout 60 "$TBIN" "$@" >run.out 2>&1 || { tw_fail "$_when: tlswall $*: $(cat run.out)"; return 1; }
}

policy default.conf </dev/null
step "check --live"
run "check --live" -f default.conf check --live
has run.out "tcp port 443 is published by table ip nat, chain DOCKER (to $K1_4 port 443): allowed by the policy" "check --live"
has run.out "tcp port 80 is published by table ip nat, chain DOCKER (to $K1_4 port 80): blocked by the policy" "check --live"
has run.out "tcp port 80 is published by table ip6 nat, chain DOCKER (to $K1_6 port 80): blocked by the policy" "check --live"
has run.out "tcp port 993 is published by table inet netavark, chain nv_k2_dnat (to $K2_4 port 993): allowed" "check --live"
has run.out "tcp port 143 is published by table inet netavark, chain nv_k2_dnat (to $K2_6 port 143): blocked" "check --live"
same_others "check --live"

step "apply"
run "apply" -f default.conf apply
same_others "apply"
tls "applied" "$C" $H4 443 yes
tls "applied" "$C" $H6 443 yes
tls "applied" "$C" $H4 993 yes
tls "applied" "$C" $H6 993 yes
probe "applied" "$C" "$H4,80=timeout" "$H6,80=timeout" "$H4,143=timeout" "$H6,143=timeout"
# what tlswall has no business with: the host to a container, containers to each other (bridged and routed by
# address), and out through MASQUERADE; the host's own published ports through its OUTPUT DNAT
probe "host to containers" "$H" "$K1_4,80=K1" "$K2_6,143=K2" "$H4,80=K1" "$K1_6,8080=K1"
probe "between containers" "$K1" "$K3_4,8080=K3" "$K3_6,8080=K3" "$K2_4,8080=K2" "$K2_6,8080=K2"
probe "containers out" "$K2" "$C4,7000=OUTSIDE" "$C6,7000=OUTSIDE"

step "audit"
# the containers' certificates are probed at their new destinations, from the host
run "audit" -f default.conf audit --timeout 5 --name container --expiry 0
audit_row() { # PORT TO PROCESS POLICY PROBE
	awk -v p="$1" -v to="$2" -v proc="$3" -v pol="$4" -v pr="$5" \
		'$1 == p && $2 == "->" && $3 == to && $4 == "DNAT" && $5 " " $6 == proc && $0 ~ (pol "  +" pr) { f = 1 }
		END { exit !f }' run.out || tw_fail "audit: no row \"$*\" in: $(cat run.out)"
}
audit_row 443/tcp "$K1_4:443" "ip nat/DOCKER" "TLS https" "TLSv1.3"
audit_row 443/tcp "[$K1_6]:443" "ip6 nat/DOCKER" "TLS https" "TLSv1.3"
audit_row 993/tcp "$K2_4:993" "inet netavark/nv_k2_dnat" "TLS imaps" "TLSv1.3"
audit_row 993/tcp "[$K2_6]:993" "inet netavark/nv_k2_dnat" "TLS imaps" "TLSv1.3"
audit_row 80/tcp "$K1_4:80" "ip nat/DOCKER" "blocked" "-"
audit_row 143/tcp "[$K2_6]:143" "inet netavark/nv_k2_dnat" "blocked" "-"
has run.out "8 published ports (destination NAT to containers or VMs): 4 allowed, 4 blocked by the policy, 0 not judged" "audit"
has run.out "info: table ip nat, chain DOCKER (to $K1_4 port 80) forwards it; the policy drops new connections to it" "audit"
ip netns exec "$H" timeout 60 "$TBIN" -f default.conf audit --no-probe --json >audit.json 2>&1
python3 - audit.json <<'EOF' || tw_fail "audit --json: $(cat audit.json)"
import json, sys
d = json.load(open(sys.argv[1]))
rows = {(r["port"], r["published"]["to_address"]): r for r in d["published"]}
assert len(d["published"]) == 8, len(d["published"])
assert rows[(443, "172.30.0.2")]["verdict"] == "tls" and rows[(443, "172.30.0.2")]["published"]["table"] == "nat"
assert rows[(80, "fd00:30::2")]["verdict"] == "blocked" and rows[(80, "fd00:30::2")]["published"]["family"] == "ip6"
assert rows[(143, "10.88.0.2")]["published"]["chain"] == "nv_k2_dnat" and rows[(143, "10.88.0.2")]["published"]["to_port"] == 143
assert all(r["published"] is None for r in d["listeners"] + d["no_listener"])
EOF

step "show"
run "show" -f default.conf show
has run.out "# services count local connections and those forwarded to published ports together" "show"
fwd=$(awk '$2 == "dropped" && $3 == "(forwarded)" { print $4; exit }' run.out)
[ "$fwd" -ge 4 ] 2>/dev/null || tw_fail "show: expected at least 4 forwarded drops (80 and 143, both families), got '$fwd': $(cat run.out)"
https=$(awk '$2 == "svc.https" { print $3; exit }' run.out)
[ "$https" -ge 2 ] 2>/dev/null || tw_fail "show: svc.https counted '$https' forwarded connections, expected at least 2"
run "show --json" -f default.conf show --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); f=d["dropped_forwarded"]["packets"]; sys.exit(0 if f >= 4 else 1)' run.out ||
	tw_fail "show --json: dropped_forwarded: $(cat run.out)"

step "diff"
run "diff" -f default.conf diff
same_others "diff"

step "require_tls"
# the payload checks judge forwarded connections as local ones: TLS to the container passes, plaintext to its TLS
# port is dropped on the way and counted (without the check, s_server answers a plaintext request at once by closing)
policy checked.conf <<'EOF'
require_tls = true;
EOF
ip netns exec "$C" timeout 10 curl -s -o /dev/null --connect-timeout 2 -m 3 "http://$H4:443/"
rc=$?
[ $rc -ne 28 ] || tw_fail "without require_tls, a plaintext request to 443 should be answered (closed) at once, curl exit $rc"
run "require_tls" -f checked.conf apply
tls "require_tls" "$C" $H4 443 yes
tls "require_tls" "$C" $H6 993 yes
ip netns exec "$C" timeout 10 curl -s -o /dev/null --connect-timeout 2 -m 3 "http://$H4:443/"
rc=$?
[ $rc -eq 28 ] || tw_fail "require_tls: a plaintext request forwarded to 443 should time out (curl exit 28), got $rc"
run "show require_tls" -f checked.conf show --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s=[x for x in d["services"] if x["chain"]=="svc.https"][0]; sys.exit(0 if s["plaintext_dropped"]["packets"] >= 1 else 1)' run.out ||
	tw_fail "require_tls: the forwarded plaintext was not counted in plaintext.https: $(cat run.out)"

step "exemption and sources"
policy exempt.conf <<'EOF'
exemptions = (
  { service = "http"; reason = "redirects to https"; }
);
EOF
sed -i 's|{ service = "https"; }|{ service = "https"; from = [ "10.98.0.3", "fd00:98::3" ]; }|' exempt.conf
run "exempt" -f exempt.conf apply
probe "exempt" "$C" "$H4,80=K1" "$H6,80=K1" "$H4,143=timeout"
# only the second client address may reach 443: its original source, as the client sent it
probe "sources" "$C" "$H4,443,$C4=timeout" "$H4,443,$C4B=silent" "$H6,443,$C6=timeout" "$H6,443,$C6B=silent"
same_others "exempt"

step "published_ports = false"
policy open.conf <<'EOF'
published_ports = false;
EOF
run "published_ports = false" -f open.conf apply
probe "published_ports = false" "$C" "$H4,80=K1" "$H6,143=K2"
run "check published_ports = false" -f open.conf check --live
has run.out "tcp port 80 is published by table ip nat, chain DOCKER (to $K1_4 port 80): not judged by tlswall (published_ports = false)" "check --live, off"
ip netns exec "$H" timeout 60 "$TBIN" -f open.conf audit --no-probe >run.out 2>&1
has run.out "8 published ports (destination NAT to containers or VMs): 0 allowed, 0 blocked by the policy, 8 not judged" "audit, off"
has run.out "warning: table ip nat, chain DOCKER (to $K1_4 port 443) forwards it, and the policy leaves forwarded connections to the other tables (published_ports = false): none of its rules applies" "audit, off"

step "remove"
run "remove" -f open.conf remove
same_others "remove"
probe "removed" "$C" "$H4,80=K1"
tw_done
