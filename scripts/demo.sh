#!/bin/sh
# Shows tlswall working, on a throwaway network: a "host" namespace that tlswall protects and a "client"
# namespace, joined by a veth pair with IPv4 and IPv6. Servers listen on every port of the seed table (six TLS
# ports and their six plaintext twins) and the client tries each one. Usage (as root): scripts/demo.sh TLSWALL POLICY
# Nothing outside the two namespaces is touched, and everything made here is removed on exit, Ctrl-C included.
# Exit status: 0 when the demo ran (whatever the policy let through), 1 when it could not set itself up.
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 TLSWALL POLICY" >&2
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root, to create network namespaces (try: sudo make demo)" >&2
	exit 1
fi
for tool in ip openssl python3 ss timeout; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "demo: $tool is not installed (scripts/deps.sh installs what the demo needs)" >&2
		exit 1
	fi
done
# Absolute paths: the servers run from the temp dir.
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
policy=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$bin" ] || { echo "demo: $1 is not an executable (run make first)" >&2; exit 1; }
[ -r "$policy" ] || { echo "demo: cannot read $2" >&2; exit 1; }

TLS_PORTS="443 990 995 993 636 563"
PLAIN_PORTS="80 21 110 143 389 119"
H4=10.99.0.1
C4=10.99.0.2
H6=fd00:99::1
C6=fd00:99::2
HOST=tlswall-demo-$$-host
CLIENT=tlswall-demo-$$-client
pids=""
namespaces=""
tmp=""

cleanup() {
	for pid in $pids; do kill "$pid" 2>/dev/null; done
	for pid in $pids; do wait "$pid" 2>/dev/null; done
	for ns in $namespaces; do ip netns del "$ns" 2>/dev/null; done
	[ -n "$tmp" ] && rm -rf "$tmp"
}
trap cleanup EXIT
# A trapped signal must still end the script, and exiting runs the EXIT trap above.
trap 'echo; echo "demo: interrupted, cleaning up"; exit 130' INT TERM HUP

if [ -t 1 ]; then
	bold=$(printf '\033[1m') green=$(printf '\033[32m') red=$(printf '\033[31m') off=$(printf '\033[0m')
else
	bold="" green="" red="" off=""
fi
step_no=0
step() {
	step_no=$((step_no + 1))
	printf '\n%s[%d/8] %s%s\n' "$bold" "$step_no" "$*" "$off"
}
die() {
	echo "demo: $*" >&2
	exit 1
}
indent() { sed 's/^/    /'; }

tmp=$(mktemp -d) || die "cannot make a temp dir"
# tlswall's lock and state live here, never in /var/lib/tlswall of this machine.
export TLSWALL_STATE_DIR="$tmp/state"
cd "$tmp" || die "cannot enter $tmp"

printf '%stlswall demo: only TLS ports get through%s\n' "$bold" "$off"
echo "A throwaway network: tlswall guards the host namespace; a client namespace knocks on every port of the"
echo "seed table. Policy: $2"

step "Creating the network: host $H4 / $H6  <-veth->  client $C4 / $C6"
for ns in $HOST $CLIENT; do
	ip netns add "$ns" || die "cannot create namespace $ns"
	namespaces="$namespaces $ns"
	ip -n "$ns" link set lo up
	# No duplicate address detection, so IPv6 works at once instead of after a second or two.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
# Made inside the host namespace with its peer born in the client one: the veth never exists outside them.
ip -n "$HOST" link add demo0 type veth peer name demo0 netns "$CLIENT" || die "cannot create the veth pair"
ip -n "$HOST" addr add $H4/24 dev demo0
ip -n "$HOST" addr add $H6/64 dev demo0 nodad
ip -n "$CLIENT" addr add $C4/24 dev demo0
ip -n "$CLIENT" addr add $C6/64 dev demo0 nodad
ip -n "$HOST" link set demo0 up
ip -n "$CLIENT" link set demo0 up
echo "    namespaces $HOST and $CLIENT"

step "Applying the policy in the host: tlswall -f $2 apply"
out=$(ip netns exec "$HOST" timeout 10 "$bin" -f "$policy" apply 2>&1)
rc=$?
printf '%s\n' "$out" | indent
[ $rc -eq 0 ] || die "apply failed (exit $rc), so there is nothing to show"

step "What the kernel now holds: tlswall -f $2 show"
ip netns exec "$HOST" timeout 10 "$bin" -f "$policy" show 2>&1 | indent

step "Starting servers in the host: openssl s_server on the TLS ports, banner servers on the plaintext ones"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 90 -subj /CN=tlswall-demo \
	-keyout key.pem -out cert.pem >req.log 2>&1 || die "openssl could not make a certificate: $(tail -n 1 req.log)"
cat >probe.py <<'EOF'
# probe.py SECONDS KIND,ADDR,PORT...: tries every target at once, so blocked ports cost one timeout in all.
# Prints "KIND ADDR PORT RESULT" per target, in order; RESULT is what a person should read.
import socket, ssl, sys, threading

limit = float(sys.argv[1])
targets = [a.split(",", 2) for a in sys.argv[2:]]
results = [None] * len(targets)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE  # the demo certificate is self-signed; the handshake is what matters here

def probe(i, kind, addr, port):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(limit)
    try:
        s.connect((addr, int(port)))
    except socket.timeout:
        results[i] = "blocked (no answer)"
    except ConnectionRefusedError:
        results[i] = "blocked (refused)"
    except OSError as e:
        results[i] = "blocked (%s)" % (e.strerror or e)
    else:
        try:
            if kind == "tls":
                with ctx.wrap_socket(s) as t:
                    results[i] = "handshake ok (%s)" % t.version()
            else:
                results[i] = "banner received" if s.recv(256) else "connected, no banner"
        except OSError as e:
            results[i] = "connected, then failed (%s)" % (e.strerror or e.__class__.__name__)
    finally:
        s.close()

threads = [threading.Thread(target=probe, args=(i, *t)) for i, t in enumerate(targets)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for (kind, addr, port), r in zip(targets, results):
    print("%s %s %s %s" % (kind, addr, port, r))
EOF
# The servers' own time limit is only a backstop should this script be killed with SIGKILL.
for p in $TLS_PORTS; do
	timeout 120 ip netns exec "$HOST" openssl s_server -quiet -www -accept "$p" -cert cert.pem -key key.pem \
		</dev/null >"s_server-$p.log" 2>&1 &
	pids="$pids $!"
done
# shellcheck disable=SC2086
timeout 120 ip netns exec "$HOST" python3 "$here/banner-server.py" "220 demo server on" $PLAIN_PORTS </dev/null >banner.log 2>&1 &
pids="$pids $!"
i=0
while :; do
	listening=$(ip netns exec "$HOST" ss -ltnH | awk '{ sub(/.*:/, "", $4); print $4 }')
	missing=""
	for p in $TLS_PORTS $PLAIN_PORTS; do
		printf '%s\n' "$listening" | grep -qx "$p" || missing="$missing $p"
	done
	[ -z "$missing" ] && break
	i=$((i + 1))
	[ $i -lt 100 ] || die "servers did not start on:$missing ($(cat s_server-*.log banner.log | tail -n 1))"
	sleep 0.1
done
echo "    listening on $TLS_PORTS (TLS) and $PLAIN_PORTS (plaintext), over IPv4 and IPv6"

step "Connecting from the client to every port, over IPv4 and IPv6 (2 s limit each, all at once)"
targets=""
for p in $TLS_PORTS; do targets="$targets tls,$H4,$p tls,$H6,$p"; done
for p in $PLAIN_PORTS; do targets="$targets plain,$H4,$p plain,$H6,$p"; done
# shellcheck disable=SC2086
ip netns exec "$CLIENT" timeout 15 python3 probe.py 2 $targets >probe.out 2>probe.err ||
	die "the client probe failed: $(tail -n 1 probe.err)"

step "Results"
service() {
	case $1 in
	443) echo https ;; 990) echo ftps ;; 995) echo pop3s ;; 993) echo imaps ;; 636) echo ldaps ;; 563) echo nntps ;;
	80) echo http ;; 21) echo ftp ;; 110) echo pop3 ;; 143) echo imap ;; 389) echo ldap ;; 119) echo nntp ;;
	esac
}
# result KIND ADDR PORT: the probe's verdict for one target.
result() { awk -v k="$1" -v a="$2" -v p="$3" '$1 == k && $2 == a && $3 == p { $1 = $2 = $3 = ""; sub(/^ +/, ""); print }' probe.out; }
# paint WIDTH RESULT GOOD: green when the result is what a TLS-only host should give, red otherwise.
paint() { case $2 in "$3"*) printf "%s%-$1s%s" "$green" "$2" "$off" ;; *) printf "%s%-$1s%s" "$red" "$2" "$off" ;; esac; }

tls_ok=0
plain_blocked=0
opened=""
printf '    %s%-6s %-8s %-10s %-26s %s%s\n' "$bold" PORT SERVICE KIND "RESULT over IPv4" "RESULT over IPv6" "$off"
for p in $TLS_PORTS $PLAIN_PORTS; do
	case " $TLS_PORTS " in *" $p "*) kind=tls label=TLS good=handshake ;; *) kind=plain label=plaintext good=blocked ;; esac
	r4=$(result $kind $H4 "$p")
	r6=$(result $kind $H6 "$p")
	printf '    %-6s %-8s %-10s %s %s\n' "$p" "$(service "$p")" "$label" "$(paint 26 "$r4" $good)" "$(paint 0 "$r6" $good)"
	case "$kind $r4/$r6" in
	"tls handshake"*/handshake*) tls_ok=$((tls_ok + 1)) ;;
	"plain blocked"*/blocked*) plain_blocked=$((plain_blocked + 1)) ;;
	plain*) opened="$opened $p" ;;
	esac
done

echo "    (blocked (no answer): tlswall dropped the connection attempt; blocked (refused): it answered with a TCP reset)"

step "Counters after the traffic: tlswall show (summary lines only)"
# Only new connections reach the service chains (established ones are accepted before them), so a handshake
# counts its first packet, and a dropped attempt counts every retransmitted SYN.
ip netns exec "$HOST" timeout 10 "$bin" -f "$policy" show 2>&1 | grep '^# ' | indent

step "Auditing the host: tlswall -f $2 audit (what listens, what the policy lets in, and whether it speaks TLS)"
# Read-only: it lists the host's sockets, classifies them against the policy and probes the allowed ones over
# loopback. Exit 4 means findings, which a demo reports rather than fails on.
ip netns exec "$HOST" timeout 20 "$bin" -f "$policy" audit --name tlswall-demo 2>&1 | indent

echo
if [ $tls_ok -eq 6 ] && [ $plain_blocked -eq 6 ]; then
	printf '%sSummary: all 6 TLS ports completed a handshake and all 6 plaintext ports were blocked, over IPv4 and IPv6.%s\n' \
		"$bold" "$off"
else
	printf '%sSummary: %d of 6 TLS ports completed a handshake (IPv4 and IPv6); %d of 6 plaintext ports were blocked.%s\n' \
		"$bold" $tls_ok $plain_blocked "$off"
	if [ -n "$opened" ]; then
		echo "Plaintext ports that answered:$opened (tlswall -f $2 check lists what the policy opens, and why)."
	fi
fi
echo "Removing the namespaces, servers and temp files."
