#!/bin/sh
# require_tls on TCP with real clients and servers: openssl s_server on 443 (-www), 993 and 995; `openssl s_client`
# completes a handshake with each over IPv4 and IPv6, and `curl https://` fetches s_server's page from 443, with
# nothing counted as plaintext. A plaintext write to 993 or 995 gets nothing back (the same write without the check
# is answered at once: s_server closes on it), and each transmission of it is counted: exactly once plus the
# retransmissions TCP made of it (the client closes with an RST, so nothing else follows); a write sent once and
# reset at once counts exactly one.
. "$(dirname "$0")/../payload_lib.sh"
tw_need curl

policy open <<'P'
version = 1;
services = ( { service = "https"; }, { service = "imaps"; }, { service = "pop3s"; } );
P
policy checked <<'P'
version = 1;
require_tls = true;
services = ( { service = "https"; }, { service = "imaps"; }, { service = "pop3s"; } );
P

tw_s_server "$H" 443 "$ID" -www
tw_s_server "$H" 993 "$ID"
tw_s_server "$H" 995 "$ID"
listening t 443 993 995

# plaintext ADDR PORT: a plaintext line to ADDR PORT, after which wire.py waits 1.5 s for an answer
plaintext() { wire dialog "$1" "$2" 1.5 - "a1 CAPABILITY" '.' >pt.out 2>&1; }

# control: without the check, s_server answers plaintext at once (it closes the connection)
apply open
[ "$(dropped imaps)" = null ] || tw_fail "without require_tls imaps has a plaintext counter: $(dropped imaps)"
plaintext $H4 993
grep -q '^closed' pt.out || tw_fail "plaintext to 993 without the check: expected s_server to close, got: $(cat pt.out)"

apply checked
for a in $H4 $H6; do
	for p in 443 993 995; do
		out=$(at_client timeout 10 openssl s_client -brief -connect "$(hostport "$a" "$p")" </dev/null 2>&1)
		printf '%s\n' "$out" | grep -q '^CONNECTION ESTABLISHED' ||
			tw_fail "s_client to $a port $p with require_tls: $(printf '%s\n' "$out" | tail -n 2)"
	done
	at_client curl -sSk -g --connect-timeout 3 -m 10 "https://$(hostport "$a" 443)/" >curl.out 2>&1
	grep -q 's_server' curl.out || tw_fail "curl https://$(hostport "$a" 443)/ with require_tls: $(head -n 3 curl.out)"
done
for s in https imaps pop3s; do expect_dropped "$s" 0 "TLS clients only"; done

# a plaintext write to 993: nothing comes back, and the counter moves by the transmissions of that one segment
n=0
for a in $H4 $H6; do
	plaintext "$a" 993
	line_is pt.out 1 silent "plaintext to $a port 993 with require_tls"
	r=$(retrans pt.out)
	n=$((n + 1 + r))
	expect_dropped imaps "$n" "plaintext to $a port 993 ($r retransmissions)"
	tw_ok "plaintext to $a port 993: silent, $r retransmissions, imaps dropped $n"
done
# the same to 995, sent exactly once (reset at once, never retransmitted)
wire burst $H6 995 "USER alice" >b.out 2>&1
line_is b.out 1 sent "burst to 995"
expect_dropped pop3s 1 "one plaintext segment to 995"
# and the TLS services still work
out=$(at_client timeout 10 openssl s_client -brief -connect "$(hostport $H4 993)" </dev/null 2>&1)
printf '%s\n' "$out" | grep -q '^CONNECTION ESTABLISHED' || tw_fail "s_client to 993 after the drops: $out"
expect_dropped https 0 "443 untouched"
tw_done
