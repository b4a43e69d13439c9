# Shared helpers for the namespace tests. Source it; every namespace and process a test makes is removed on exit,
# failure included. Nothing here touches the host's own network namespace.

set -u

# run.sh sets TW_RUN_ID so it can sweep what a killed test left behind
NETNS_PREFIX="tw${TW_RUN_ID:-$$}-$$"
TW_NAMESPACES=""
TW_PIDS=""
TW_TMP=$(mktemp -d)
# tests/netns, where probe.py and the other helpers are (the test is there or in a directory below it)
TW_LIB_DIR=$(cd "$(dirname "$0")" && pwd)
[ -f "$TW_LIB_DIR/probe.py" ] || TW_LIB_DIR=$(dirname "$TW_LIB_DIR")
# what tlswall reads from its environment is set by each test, per command: not inherited from the shell that runs
# the test (an SSH session there would be judged by the lockout guard; a state directory there, written; sudo's
# user, named in the audit trail)
unset SSH_CONNECTION SUDO_USER TLSWALL_STATE_DIR TLSWALL_TEST_HANG_AFTER_COMMIT TLSWALL_TEST_WRITE_DELAY_MS \
	TLSWALL_TEST_PAUSE_FILE TLSWALL_TEST_FAULT_AT TLSWALL_TEST_HOLD_RELEASE_FILE

# Rollback timers are detached (their own session, reparented away from the test) and outlive apply by design: at
# exit, every one working on a state directory under $TW_TMP, or matching TW_TIMER_DIRS (an extended regular
# expression) where a test keeps state elsewhere, is ended by PID before the namespaces go.
TW_TIMER_DIRS=$TW_TMP
tw_kill_timers() {
	for pid in $(pgrep -f -- "--state-dir ($TW_TIMER_DIRS)[^ ]* rollback-timer" 2>/dev/null); do
		kill -9 "$pid" 2>/dev/null
	done
}
tw_cleanup() {
	tw_kill_timers
	for pid in $TW_PIDS; do kill "$pid" 2>/dev/null; done
	for pid in $TW_PIDS; do wait "$pid" 2>/dev/null; done
	for ns in $TW_NAMESPACES; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$TW_TMP"
}
trap tw_cleanup EXIT
trap 'exit 130' INT TERM
trap 'exit 129' HUP PIPE

# The test build (sanitizers and test hooks): the second argument of every test, else the one next to the release
# binary named by the first. Run a test alone as: sh tests/netns/t_x.sh build/tlswall build/asan/tlswall
tw_test_bin() {
	if [ -n "${2:-}" ]; then
		TBIN=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
	else
		TBIN=$(cd "$(dirname "$1")" && pwd)/asan/$(basename "$1")
	fi
	[ -x "$TBIN" ] || { echo "FAIL: no test build at $TBIN (make asan)" >&2; exit 1; }
}

tw_require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		if [ -n "${CI:-}" ]; then echo "FAIL: namespace tests need root in CI" >&2; exit 1; fi
		echo "SKIP: namespace tests need root" >&2
		exit 77
	fi
}

# tw_netns NAME: a fresh named namespace with loopback up, removed at exit; its full name is left in $TW_NS.
# (Not meant for $(...): a subshell would lose the record that lets cleanup remove it.)
tw_netns() {
	TW_NS="${NETNS_PREFIX}-$1"
	ip netns add "$TW_NS" || exit 1
	TW_NAMESPACES="$TW_NAMESPACES $TW_NS"
	ip -n "$TW_NS" link set lo up
}

# tw_nodad NS...: IPv6 duplicate address detection off in every NS, for every address (link-local included), so
# that IPv6 is usable at once instead of after a second or two
tw_nodad() {
	for _ns in "$@"; do
		ip netns exec "$_ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 || exit 1
	done
}

# tw_pair HOSTNAME CLIENTNAME H4 C4 [H6 C6]: a "host" and a "client" namespace (fresh, as tw_netns makes them; full
# names in $H and $C) joined by a veth pair, tw-h in the host with H4/24 (and H6/64), tw-c in the client with C4/24
# (and C6/64), both up, DAD off. The veth is made inside the host namespace with its peer born in the client one:
# it never exists in the machine's own namespace. Traffic between them crosses the veth, never loopback.
tw_pair() {
	tw_netns "$1"
	H=$TW_NS
	tw_netns "$2"
	C=$TW_NS
	tw_nodad "$H" "$C"
	ip -n "$H" link add tw-h type veth peer name tw-c netns "$C" || exit 1
	ip -n "$H" addr add "$3/24" dev tw-h
	ip -n "$C" addr add "$4/24" dev tw-c
	if [ -n "${5:-}" ]; then
		ip -n "$H" addr add "$5/64" dev tw-h nodad
		ip -n "$C" addr add "$6/64" dev tw-c nodad
	fi
	ip -n "$H" link set tw-h up
	ip -n "$C" link set tw-c up
}

# tw_copy_trusted DIR: echoes the path of a copy of DIR (policies, their list and included files) under $TW_TMP, owned
# by the caller and closed to group and others. apply refuses a file that another user owns or could change, as a
# checkout's files are when someone else cloned it, or cloned it under umask 002: tests apply copies.
tw_copy_trusted() {
	_copy=$(mktemp -d "$TW_TMP/trusted.XXXXXX") && cp -R "$1/." "$_copy/" && chmod -R go-w "$_copy" &&
		echo "$_copy" && return 0
	echo "tw_copy_trusted: cannot copy $1" >&2
	return 1
}

# tw_bg CMD...: start a background process whose PID is killed at exit.
tw_bg() {
	"$@" &
	TW_PIDS="$TW_PIDS $!"
}

# tw_serve NS CMD...: a server in namespace NS, in the background, ended by PID at exit (its PID is $!). Its own
# time limit is only a backstop, should the test's shell be SIGKILLed before its cleanup runs.
tw_serve() {
	_ns=$1
	shift
	tw_bg timeout 300 ip netns exec "$_ns" "$@"
}

# tw_listening NS PROTO PORT...: something in namespace NS listens on every PORT (PROTO t for TCP, u for UDP); the
# ports nothing listens on are left in $TW_UNHEARD
tw_listening() {
	_have=$(ip netns exec "$1" ss -"$2"lnH | awk '{ sub(/.*:/, "", $4); print $4 }')
	shift 2
	TW_UNHEARD=""
	for _port in "$@"; do printf '%s\n' "$_have" | grep -qx "$_port" || TW_UNHEARD="$TW_UNHEARD $_port"; done
	[ -z "$TW_UNHEARD" ]
}
# tw_await NS PROTO PORT...: waits (up to 30 s) until something in NS listens on every PORT; else a failure that
# names the ports nothing listens on, and false
tw_await() {
	wait_for 30 tw_listening "$@" && return 0
	tw_fail "nothing listens on$TW_UNHEARD/$2 in namespace $1"
	return 1
}

# hostport ADDR PORT: ADDR:PORT, an IPv6 address in brackets
hostport() { case $1 in *:*) echo "[$1]:$2" ;; *) echo "$1:$2" ;; esac; }

# tw_policy FILE: FILE written from standard input, closed to group and others (apply refuses a policy that others
# could change) and checked with $bin (a test without one: $TBIN); a policy that does not check fails the test and
# stops it
tw_policy() {
	cat >"$1" && chmod 600 "$1" || { tw_fail "cannot write $1"; tw_done; }
	"${bin:-$TBIN}" -q -f "$1" check >"$1.check" 2>&1 || { tw_fail "the test policy $1 does not check: $(cat "$1.check")"; tw_done; }
}

# tw_probe NS WHEN TARGET...: tests/netns/probe.py in namespace NS, every TARGET at once (ADDR,PORT or
# ADDR,PORT,SOURCE), each with a limit of 2 s; its lines in $TW_TMP/probe.out, for tw_probed
tw_probe() {
	_ns=$1 _when=$2
	shift 2
	ip netns exec "$_ns" timeout 20 python3 "$TW_LIB_DIR/probe.py" 2 "$@" >"$TW_TMP/probe.out" 2>"$TW_TMP/probe.err" ||
		tw_fail "$_when: probe failed: $(tail -n 1 "$TW_TMP/probe.err")"
}
# tw_probed ADDR PORT: "RESULT SECONDS BANNER" of the first line of tw_probe's output for ADDR PORT, which it takes
# out, so that a second target with the same address and port (from another source) reads the next; nothing if none
tw_probed() {
	awk -v a="$1" -v p="$2" '!f && $1 == a && $2 == p { print $3, $4, $5; f = 1 }' "$TW_TMP/probe.out"
	awk -v a="$1" -v p="$2" 'f || !($1 == a && $2 == p) { print; next } { f = 1 }' "$TW_TMP/probe.out" \
		>"$TW_TMP/probe.rest"
	mv "$TW_TMP/probe.rest" "$TW_TMP/probe.out"
}

TW_FAILS=0
# what failures are reported under: the file name, or what a shared library sets (deploy/t_x.sh)
TW_NAME=${TW_NAME:-$(basename "$0")}
tw_fail() { echo "FAIL: $*" >&2; TW_FAILS=$((TW_FAILS + 1)); }
tw_ok() { [ -n "${VERBOSE:-}" ] && echo "ok: $*"; return 0; }
tw_done() {
	if [ "$TW_FAILS" -ne 0 ]; then echo "$TW_NAME: $TW_FAILS failure(s)" >&2; exit 1; fi
	echo "$TW_NAME: ok"
}

# tw_need TOOL...: skip the test (fail it in CI) unless every TOOL is installed
tw_need() {
	for _tool in "$@"; do
		command -v "$_tool" >/dev/null 2>&1 && continue
		if [ -n "${CI:-}" ]; then echo "FAIL: $_tool is not installed (scripts/deps.sh)" >&2; exit 1; fi
		echo "SKIP: $_tool is not installed (scripts/deps.sh)" >&2
		exit 77
	done
}

TW_START=$(date +%s)
# step WHAT: with VERBOSE set, how far into the test it has come
step() { [ -n "${VERBOSE:-}" ] && echo "-- $(($(date +%s) - TW_START))s: $*"; return 0; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# wait_for SECONDS CMD...: CMD every 0.1 s until it succeeds; false if it has not within SECONDS of wall-clock time
wait_for() {
	_end=$(($(now_ms) + $1 * 1000))
	shift
	while :; do
		"$@" && return 0
		[ "$(now_ms)" -lt "$_end" ] || return 1
		sleep 0.1
	done
}
# has FILE TEXT WHAT: FILE contains TEXT, else a failure about WHAT; hasnt: the opposite
has() { grep -qF -- "$2" "$1" || tw_fail "$3: expected \"$2\" in: $(cat "$1")"; }
hasnt() { if grep -qF -- "$2" "$1"; then tw_fail "$3: did not expect \"$2\" in: $(cat "$1")"; fi; }
# expect_rc WANT GOT WHAT FILE: the exit status was WANT, else a failure about WHAT showing FILE
expect_rc() { [ "$2" -eq "$1" ] || tw_fail "$3: exit $2, expected $1: $(cat "$4")"; }
