#!/bin/sh
# require_tls on UDP: HTTP/3, DNS over QUIC and CoAP over DTLS. caddy (HTTP/3 on 443/udp) answers a real QUIC
# version 1 Initial (a ClientHello for h3, protected as RFC 9001 says) with its ServerHello through require_tls, over
# IPv4 and IPv6, and a version-negotiation probe with the versions it speaks; a plaintext datagram, an empty one
# and a QUIC short-header packet to a new flow are dropped, one count each (UDP is never retransmitted: the counts
# are exact). Then a socket that records every datagram and never answers stands on 443, 853 and 5684: the QUIC
# versions the check knows (1, 2, draft 29) and a reserved version reach it, an unknown version and plaintext do
# not; on coaps, DTLS 1.2 and 1.0 handshake records arrive, a TLS record (0x16 0x03) and CoAP in clear do not.
. "$(dirname "$0")/../payload_lib.sh"
tw_need caddy
python3 -c 'import cryptography' 2>/dev/null ||
	{ tw_fail "python3 has no cryptography module (scripts/deps.sh)"; tw_done; }

policy open <<'P'
version = 1;
services = ( { service = "https"; }, { service = "domain-s"; }, { service = "coaps"; } );
P
policy checked <<'P'
version = 1;
require_tls = true;
services = ( { service = "https"; }, { service = "domain-s"; }, { service = "coaps"; } );
P

tw_caddy "$H" "$T/caddy" "$ID"
caddy_pid=$!
listening t 443
listening u 443

# control, without the check: the script's Initial gets a ServerHello, the probe a version negotiation
apply open
wire initial $H4 443 3 >q.out 2>&1
line_is q.out 1 serverhello "QUIC Initial, no check"
[ "$(dropped https)" = null ] || tw_fail "no check: plaintext_dropped of https is $(dropped https), expected null"

apply checked
for a in $H4 $H6; do
	wire initial "$a" 443 3 >q.out 2>&1
	line_is q.out 1 serverhello "QUIC Initial to $a with require_tls"
	wire vn "$a" 443 3 >vn.out 2>&1
	grep -q '^vn .*00000001' vn.out || tw_fail "version negotiation probe to $a: $(cat vn.out)"
done
at_client curl -sk --connect-timeout 3 -m 5 --resolve "host.test:443:$H4" https://host.test/ >curl.out 2>&1
[ "$(cat curl.out)" = "ok from caddy" ] || tw_fail "curl https:// to caddy with require_tls: $(cat curl.out)"
expect_dropped https 0 "QUIC and TLS only"
# a plaintext datagram, an empty one, a short-header packet: each from a new flow, each dropped once
wire udp $H4 443 1 "$(printf 'GET / HTTP/1.0\r\n\r\n' | od -An -tx1 | tr -d ' \n')" >u.out 2>&1
line_is u.out 1 silent "plaintext datagram to 443/udp"
expect_dropped https 1 "plaintext datagram"
wire udp $H6 443 1 "" >u.out 2>&1
line_is u.out 1 silent "empty datagram to 443/udp"
expect_dropped https 2 "empty datagram"
wire udp $H4 443 1 "4000112233445566778899aabbccddeeff" >u.out 2>&1
line_is u.out 1 silent "short-header packet to a new flow"
expect_dropped https 3 "short-header packet"
# caddy's QUIC still works after all that
wire initial $H6 443 3 >q.out 2>&1
line_is q.out 1 serverhello "QUIC Initial after the drops"
expect_dropped https 3 "QUIC after the drops"

# ---- a recorder on 443, 853 and 5684 in caddy's place: what arrives, byte for byte
kill "$caddy_pid" && wait "$caddy_pid" 2>/dev/null
serve python3 "$here/wire.py" record 443 853 5684 >rec.log 2>&1
listening u 443 853 5684
# long QUIC header: form bit, then the version, then connection IDs; padded like an Initial
long() { printf 'c0%s0811223344556677880800000000000000000044%s' "$1" "$(printf '%02400d' 0)"; }
sent=0
# datagram PORT HEX ARRIVES: sends it (IPv4 and IPv6 alternately); ARRIVES yes/no
expected=""
datagram() {
	sent=$((sent + 1))
	_a=$H4
	[ $((sent % 2)) -eq 0 ] && _a=$H6
	wire udp "$_a" "$1" 0.2 "$2" >u.out 2>&1
	line_is u.out 1 silent "datagram $sent to $1 (the recorder never answers)"
	[ "$3" = yes ] && expected="$expected$1 $(printf '%s' "$2" | cut -c1-16)
"
}
datagram 443 "$(long 00000001)" yes      # QUIC version 1
datagram 443 "$(long 6b3343cf)" yes      # QUIC version 2
datagram 443 "$(long ff00001d)" yes      # draft 29
datagram 443 "$(long 1a2a3a4a)" yes      # reserved: version negotiation
datagram 443 "$(long 00000003)" no       # a version the check does not know
datagram 443 "4000000001" no             # the form bit clear
datagram 443 "16030100050100000100" no   # TLS over UDP is not QUIC
datagram 853 "$(long 00000001)" yes      # DNS over QUIC
datagram 853 "0000010000010000000000" no # DNS in clear
datagram 5684 "16fefd0000000000000000003c010000" yes  # DTLS 1.2 ClientHello
datagram 5684 "16feff0000000000000000003c010000" yes  # DTLS 1.0 ClientHello
datagram 5684 "160303003c010000" no                    # a TLS record
datagram 5684 "44015f2d00000000" no                    # CoAP in clear
datagram 5684 "" no                                    # empty
# every datagram that arrives is in the log before the last one was sent: poll for the expected lines
got() { awk '$1 != "ready" { print $1, $3 }' rec.log; }
have_all() { [ "$(got)" = "$(printf '%s' "$expected")" ]; }
wait_for 5 have_all || tw_fail "what reached the recorder: $(got); expected: $(printf '%s' "$expected" | tr '\n' ';')"
expect_dropped https 6 "443/udp: three more refused"
expect_dropped domain-s 1 "853/udp"
expect_dropped coaps 3 "5684/udp"
tw_done
