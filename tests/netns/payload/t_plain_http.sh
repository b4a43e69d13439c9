#!/bin/sh
# require_tls against a plaintext HTTP server listening on 443 (python3 -m http.server, which logs every request):
# without the check `curl http://` to 443 gets its page; with it, curl over IPv4 and IPv6 gets no response at all and
# the server logs no request, while the counter moves. Loopback is not checked, by design (a local client is the
# host's own): curl from the host itself, to its own address and to 127.0.0.1, still gets the page, and nothing is
# counted.
#
# Counts: a request sent once and reset at once counts exactly one. curl's own request counts at least one: when
# curl gives up, its socket is left to the kernel, which goes on retransmitting the unanswered request (each copy
# dropped and counted) until it gives up itself, so the exact figure depends on when the counter is read.
. "$(dirname "$0")/../payload_lib.sh"
tw_need curl

policy open <<'P'
version = 1;
services = ( { service = "https"; } );
P
policy checked <<'P'
version = 1;
require_tls = true;
services = ( { service = "https"; } );
P

mkdir www && echo "plain page" >www/index.html
# --bind :: is one dual-stack socket: IPv4 and IPv6 clients
serve python3 -u -m http.server --bind :: --directory "$T/www" 443 >http.log 2>&1
listening t 443

# requests FROM: the requests http.server logged from that address
requests() { grep -c "^\(::ffff:\)\?$1 .*\"GET / HTTP/1.1\"" http.log; }

apply open
at_client curl -sS -g --connect-timeout 3 -m 5 "http://$(hostport $H4 443)/" >c.out 2>&1
grep -q 'plain page' c.out || tw_fail "curl http:// to 443 without the check: $(cat c.out)"
[ "$(requests $C4)" = 1 ] || tw_fail "http.server should have logged one request from $C4: $(cat http.log)"

apply checked
# loopback first, while nothing else can move the counter
for a in $H4 127.0.0.1 ::1; do
	at_host curl -sS -g --connect-timeout 3 -m 5 "http://$(hostport "$a" 443)/" >c.out 2>&1
	grep -q 'plain page' c.out || tw_fail "curl http:// to $a over loopback with require_tls: $(cat c.out)"
done
[ "$(requests $H4)" = 1 ] || tw_fail "http.server should have logged one request from $H4 itself: $(cat http.log)"
expect_dropped https 0 "loopback is not checked"

wire burst $H4 443 "GET / HTTP/1.1" >b.out 2>&1
line_is b.out 1 sent "one request, reset at once"
expect_dropped https 1 "a request sent once"

for a in $H4 $H6; do
	at_client curl -sS -g --connect-timeout 3 -m 2 "http://$(hostport "$a" 443)/" >c.out 2>&1
	rc=$?
	[ $rc -eq 28 ] || tw_fail "curl http:// to $a port 443 with require_tls: exit $rc, expected 28 (timeout): $(cat c.out)"
	grep -q '0 bytes received' c.out || tw_fail "curl http:// to $a port 443 got a response: $(cat c.out)"
done
expect_dropped_min https 3 "two curl requests"
[ "$(requests $C4)" = 1 ] || tw_fail "http.server logged requests from $C4 under the check: $(cat http.log)"
[ "$(requests $C6)" = 0 ] || tw_fail "http.server logged requests from $C6 under the check: $(cat http.log)"
tw_done
