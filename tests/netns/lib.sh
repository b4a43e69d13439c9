# Shared helpers for the namespace tests. Source it; every namespace and process a test makes is removed on exit,
# failure included. Nothing here touches the host's own network namespace.

set -u

# run.sh sets TW_RUN_ID so it can sweep what a killed test left behind
NETNS_PREFIX="tw${TW_RUN_ID:-$$}-$$"
TW_NAMESPACES=""
TW_PIDS=""
TW_TMP=$(mktemp -d)

tw_cleanup() {
	for pid in $TW_PIDS; do kill "$pid" 2>/dev/null; done
	for pid in $TW_PIDS; do wait "$pid" 2>/dev/null; done
	for ns in $TW_NAMESPACES; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$TW_TMP"
}
trap tw_cleanup EXIT
trap 'exit 130' INT TERM

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
