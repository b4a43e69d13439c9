# Shared by the fault tests (tests/netns/faults/t_*.sh): each is one case of tlswall under a fault (a broken file, a
# reboot at the wrong moment, a busy neighbour, a shared state directory), in namespaces of its own. Usage of every
# test: sh t_x.sh TLSWALL TEST_TLSWALL
. "$(dirname "$0")/../lib.sh"
tw_require_root
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tw_test_bin "$@"
# the lockout guard must not judge these tests by the session that runs them
unset SSH_CONNECTION TLSWALL_STATE_DIR
T=$TW_TMP

# Rollback timers are detached and outlive apply by design: end every one this test started, by PID.
kill_timers() {
	for pid in $(pgrep -f -- "--state-dir $T[^ ]* rollback-timer" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
}
trap 'kill_timers; tw_cleanup' EXIT
trap 'exit 129' HUP PIPE

# tl NS STATEDIR ARGS...: tlswall inside NS with its own state directory, bounded in time; ttl: the test build
tl() {
	_ns=$1 _sd=$2
	shift 2
	timeout 60 ip netns exec "$_ns" "$bin" --state-dir "$_sd" "$@"
}
ttl() {
	_ns=$1 _sd=$2
	shift 2
	timeout 120 ip netns exec "$_ns" "$TBIN" --state-dir "$_sd" "$@"
}
# table NS: tlswall's table as nft lists it (no handles, counters left out), or nothing
table() {
	ip netns exec "$1" nft list table inet tlswall 2>/dev/null | sed 's/counter packets [0-9]* bytes [0-9]*/counter/'
}
# table_is NS FILE: the live table is the one saved in FILE
table_is() { table "$1" | cmp -s - "$2"; }
wait_for() {
	_n=$(($1 * 10))
	shift
	while [ $_n -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	"$@"
}
has() { grep -qF -- "$2" "$1" || tw_fail "$3: expected \"$2\" in: $(cat "$1")"; }
expect_rc() { [ "$1" -eq "$2" ] || tw_fail "$3: exit $2, expected $1: $(cat "$4")"; }

# Policies: A opens SSH (from anywhere) besides the TLS ports, B does not, BROKEN has a mistake.
A=$T/a.conf
B=$T/b.conf
BROKEN=$T/broken.conf
cat >"$A" <<'P'
version = 1;
services = ( { service = "https"; }, { service = "imaps"; } );
exemptions = ( { name = "ssh"; port = 22; proto = "tcp"; reason = "management"; } );
P
cat >"$B" <<'P'
version = 1;
services = ( { service = "https"; }, { service = "pop3s"; } );
P
printf 'version = 1;\nservices = ( { service = "htps"; } );\n' >"$BROKEN"
chmod 600 "$T"/*.conf
