# Shared by the payload-check cases, tests/netns/payload/t_*.sh (require_tls, guard_credentials; source it from
# there: paths are found from the case file's directory). Each case has a "host" namespace that runs tlswall and
# real servers, and a "client" namespace joined to it by a veth pair (IPv4 and IPv6): traffic comes from the client
# namespace, never over loopback, which the checks leave alone by design (one case asserts that). Servers run with
# throwaway configuration and state under the case's temporary directory and are ended by PID.
TW_NAME="payload/$(basename "$0")"
. "$(dirname "$0")/../lib.sh"
tw_require_root
tw_need openssl python3 timeout ss
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
unset SSH_CONNECTION TLSWALL_TEST_HANG_AFTER_COMMIT TLSWALL_TEST_WRITE_DELAY_MS TLSWALL_TEST_PAUSE_FILE \
	TLSWALL_TEST_FAULT_AT
T=$TW_TMP
export TLSWALL_STATE_DIR="$T/state"
# the servers' unprivileged processes (dovecot's, postfix's) must reach their configuration in here
chmod 0755 "$T"
cd "$T" || exit 1

H4=10.98.0.1
C4=10.98.0.2
H6=fd00:98::1
C6=fd00:98::2
tw_netns host
H=$TW_NS
tw_netns client
C=$TW_NS
# DAD off: IPv6 addresses are usable at once
for ns in $H $C; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 || exit 1
done
# made inside the host namespace with its peer born in the client one: the veth never exists outside them
ip -n "$H" link add tw-h type veth peer name tw-c netns "$C" || exit 1
ip -n "$H" addr add $H4/24 dev tw-h
ip -n "$H" addr add $H6/64 dev tw-h nodad
ip -n "$C" addr add $C4/24 dev tw-c
ip -n "$C" addr add $C6/64 dev tw-c nodad
ip -n "$H" link set tw-h up
ip -n "$C" link set tw-c up

# a certificate for host.test (EC P-256: made at once)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=host.test \
	-addext subjectAltName=DNS:host.test -keyout key.pem -out cert.pem >req.log 2>&1 ||
	{ tw_fail "openssl could not make a certificate: $(tail -n 1 req.log)"; tw_done; }
chmod 0644 key.pem

# hp ADDR PORT: ADDR:PORT, IPv6 in brackets
hp() { case $1 in *:*) echo "[$1]:$2" ;; *) echo "$1:$2" ;; esac; }
# at_host CMD...: CMD in the host namespace; at_client: in the client one
at_host() { ip netns exec "$H" "$@"; }
at_client() { ip netns exec "$C" "$@"; }
# serve CMD...: a server in the host namespace, ended by PID at exit
serve() { tw_bg ip netns exec "$H" "$@"; }
# wire ARGS...: tests/netns/payload/wire.py in the client namespace, bounded
wire() { ip netns exec "$C" timeout 30 python3 "$here/wire.py" "$@"; }

# policy NAME: writes $T/NAME.conf from standard input (closed to group and others, as apply wants) and checks it
policy() {
	cat >"$T/$1.conf" && chmod 600 "$T/$1.conf"
	"$bin" -q -f "$T/$1.conf" check >"$T/$1.check" 2>&1 ||
		{ tw_fail "policy $1 does not check: $(cat "$T/$1.check")"; tw_done; }
}
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
# listening PROTO PORT...: waits (up to 20 s) until something in the host namespace listens on every PORT
# (PROTO t or u)
listening() {
	_p=$1
	shift
	_end=$(($(now_ms) + 20000))
	while :; do
		_have=$(at_host ss -"$_p"lnH | awk '{ sub(/.*:/, "", $4); print $4 }')
		_missing=""
		for _port in "$@"; do printf '%s\n' "$_have" | grep -qx "$_port" || _missing="$_missing $_port"; done
		[ -z "$_missing" ] && return 0
		if [ "$(now_ms)" -ge "$_end" ]; then
			tw_fail "nothing listens on$_missing/$_p in the host namespace"
			tw_done
		fi
		sleep 0.1
	done
}
# line_is FILE N TEXT WHAT: line N of FILE is TEXT
line_is() {
	_l=$(sed -n "${2}p" "$1")
	[ "$_l" = "$3" ] || tw_fail "$4: line $2 is \"$_l\", expected \"$3\" (all: $(cat "$1"))"
}
# retrans FILE: the retransmission count wire.py dialog printed last
retrans() { awk '$1 == "retrans" { print $2 }' "$1"; }
