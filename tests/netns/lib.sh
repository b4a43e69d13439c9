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

# tw_bg CMD...: start a background process whose PID is killed at exit.
tw_bg() {
	"$@" &
	TW_PIDS="$TW_PIDS $!"
}

TW_FAILS=0
tw_fail() { echo "FAIL: $*" >&2; TW_FAILS=$((TW_FAILS + 1)); }
tw_ok() { [ -n "${VERBOSE:-}" ] && echo "ok: $*"; return 0; }
tw_done() {
	if [ "$TW_FAILS" -ne 0 ]; then echo "$(basename "$0"): $TW_FAILS failure(s)" >&2; exit 1; fi
	echo "$(basename "$0"): ok"
}
