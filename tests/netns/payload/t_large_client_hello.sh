#!/bin/sh
# require_tls with a ClientHello that spans several TCP segments: only the first segment starts 0x16 0x03, the
# others start wherever the cut falls (here, inside a long ALPN list), and must pass because the first one marked the
# connection. The client's veth sends one segment per packet (gso_max_segs 1: no GSO super-packet carries the
# whole ClientHello past the check in one piece), with an MTU of 1280 for IPv6 and then 576 for IPv4; a probe table
# in the host namespace counts the full-size segments that reach port 443, so the test knows the ClientHello really
# came in pieces. s_client's handshake completes and nothing is counted as plaintext.
. "$(dirname "$0")/../payload_lib.sh"

policy checked <<'P'
version = 1;
require_tls = true;
services = ( { service = "https"; } );
P
tw_s_server "$H" 443 "$ID" -www
listening t 443
apply checked

ip -n "$C" link set dev tw-c gso_max_segs 1 || { tw_fail "cannot set gso_max_segs on the client's veth"; tw_done; }
# 16 ALPN names of 200 letters: a ClientHello of about 3.5 KB
alpn=$(python3 -c 'print(",".join(chr(97 + i) * 200 for i in range(16)))')

# big_hello ADDR MTU MIN: the handshake to ADDR completes, and at least MIN segments of MTU - 40 bytes or more came in
big_hello() {
	ip -n "$H" link set dev tw-h mtu "$2"
	ip -n "$C" link set dev tw-c mtu "$2"
	at_host nft -f - <<NFT || tw_fail "cannot load the probe table"
table inet probe
delete table inet probe
table inet probe {
	chain in {
		type filter hook input priority -300; policy accept;
		tcp dport 443 meta length >= $(($2 - 40)) counter
	}
}
NFT
	out=$(at_client timeout 10 openssl s_client -brief -alpn "$alpn" -connect "$(hostport "$1" 443)" </dev/null 2>&1)
	printf '%s\n' "$out" | grep -q '^CONNECTION ESTABLISHED' ||
		tw_fail "large ClientHello to $1 at MTU $2: $(printf '%s\n' "$out" | tail -n 2)"
	full=$(at_host nft list chain inet probe in | sed -n 's/.*counter packets \([0-9]*\) .*/\1/p')
	[ "${full:-0}" -ge "$3" ] || tw_fail "MTU $2: only ${full:-0} full-size segments reached 443, expected at least $3"
	tw_ok "large ClientHello to $1 at MTU $2: $full full-size segments, handshake done"
}
# IPv6 needs an MTU of at least 1280 (below it the kernel takes IPv6 off the link): IPv6 first
big_hello $H6 1280 2
big_hello $H4 576 6
expect_dropped https 0 "a ClientHello in pieces"
tw_done
