# Shared by the payload-check cases, tests/netns/payload/t_*.sh (require_tls, guard_credentials; source it from
# there: paths are found from the case file's directory). Each case has a "host" namespace that runs tlswall and
# real servers, and a "client" namespace joined to it by a veth pair (IPv4 and IPv6): traffic comes from the client
# namespace, never over loopback, which the checks leave alone by design (one case asserts that). Servers run with
# throwaway configuration and state under the case's temporary directory and are ended by PID.
TW_NAME="payload/$(basename "$0")"
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../servers_lib.sh"
tw_require_root
tw_need openssl python3 timeout ss
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
T=$TW_TMP
export TLSWALL_STATE_DIR="$T/state"
# the servers' unprivileged processes (dovecot's, postfix's) must reach their configuration in here
chmod 0755 "$T"
cd "$T" || exit 1

H4=10.98.0.1
C4=10.98.0.2
H6=fd00:98::1
C6=fd00:98::2
tw_pair host client $H4 $C4 $H6 $C6
# the servers' identity: $ID.pem, a certificate for host.test, and $ID.key
ID=$T/host
tw_cert "$ID" host.test host.test

# at_host CMD...: CMD in the host namespace; at_client: in the client one
at_host() { ip netns exec "$H" "$@"; }
at_client() { ip netns exec "$C" "$@"; }
# serve CMD...: a server in the host namespace, ended by PID at exit
serve() { tw_serve "$H" "$@"; }
# wire ARGS...: tests/netns/payload/wire.py in the client namespace, bounded
wire() { ip netns exec "$C" timeout 30 python3 "$here/wire.py" "$@"; }

# policy NAME: $T/NAME.conf from standard input, checked (tw_policy)
policy() { tw_policy "$T/$1.conf"; }
# apply NAME: applies $T/NAME.conf in the host namespace; the case stops if that fails
apply() {
	at_host timeout 30 "$bin" -q -f "$T/$1.conf" apply >"$T/apply.out" 2>&1 ||
		{ tw_fail "apply $1: $(cat "$T/apply.out")"; tw_done; }
	CUR=$T/$1.conf
}
# dropped SERVICE: the packets that service's payload check refused, from `show --json` ("plaintext_dropped", or
# "null" when the service has no check)
dropped() {
	at_host timeout 30 "$bin" -f "$CUR" show --json 2>"$T/show.err" | python3 -c '
import json, sys
name = "svc." + sys.argv[1]
s = [s for s in json.load(sys.stdin)["services"] if s["chain"] == name]
print("missing" if not s else "null" if s[0]["plaintext_dropped"] is None else s[0]["plaintext_dropped"]["packets"])
' "$1"
}
# dropped_is SERVICE N: the counter is N (polled for up to 5 s: the kernel counts a packet as it drops it, but a
# client's send may still be on its way)
dropped_is() { [ "$(dropped "$1")" = "$2" ]; }
dropped_at_least() { _d=$(dropped "$1") && [ "$_d" -ge "$2" ] 2>/dev/null; }
# expect_dropped SERVICE N WHAT: the counter reaches exactly N within 5 s, and is N
expect_dropped() {
	wait_for 5 dropped_is "$1" "$2"
	_got=$(dropped "$1")
	[ "$_got" = "$2" ] || tw_fail "$3: plaintext_dropped of $1 is $_got, expected $2"
}
expect_dropped_min() {
	wait_for 5 dropped_at_least "$1" "$2"
	_got=$(dropped "$1")
	[ "$_got" -ge "$2" ] 2>/dev/null || tw_fail "$3: plaintext_dropped of $1 is $_got, expected at least $2"
}
# listening PROTO PORT...: waits until something in the host namespace listens on every PORT (PROTO t or u); the
# case stops if nothing does
listening() { tw_await "$H" "$@" || tw_done; }
# line_is FILE N TEXT WHAT: line N of FILE is TEXT
line_is() {
	_l=$(sed -n "${2}p" "$1")
	[ "$_l" = "$3" ] || tw_fail "$4: line $2 is \"$_l\", expected \"$3\" (all: $(cat "$1"))"
}
# retrans FILE: the retransmission count wire.py dialog printed last
retrans() { awk '$1 == "retrans" { print $2 }' "$1"; }
