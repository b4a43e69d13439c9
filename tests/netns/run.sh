#!/bin/sh
# Runs the namespace tests with a time limit each: the files named, and the case files (t_*.sh) of the directories
# named, one after the other; except that the case directories listed in NETNS_PARALLEL (default: deploy guards) run
# NETNS_JOBS (default 2) files at a time: they spend most of their time waiting for a deadline, and each has
# namespaces, state and processes of its own. By default: every tests/netns/t_*.sh and every case directory.
# Usage: tests/netns/run.sh TLSWALL TEST_TLSWALL [TEST_FILE | CASE_DIRECTORY]...
# (TEST_TLSWALL: the sanitizer build, with the test hooks)
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tbin=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
shift 2
dir=$(dirname "$0")
jobs=${NETNS_JOBS:-2}
parallel=${NETNS_PARALLEL-deploy guards}
logs=$(mktemp -d)
fails=0
failed=""
n=0
# lib.sh names every namespace tw$TW_RUN_ID-...: an id per file, so that what one file left behind is swept while
# others still run
sweep() {
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^tw$1"); do ip netns del "$ns"; done
}
trap 'sweep "$$_"; rm -rf "$logs"' EXIT

# test FILE: runs it with its time limit, and its own TW_RUN_ID; the exit status is the file's
test_file() {
	TW_RUN_ID="$$_$n" timeout --kill-after=10 "${NETNS_TEST_TIMEOUT:-300}" sh "$1" "$bin" "$tbin"
}
# report FILE RC: counts a failure, and sweeps what the file left behind
report() {
	case $2 in
	0) ;;
	77) echo "skipped" ;;
	124 | 137) echo "FAIL: ${1#"$dir"/} timed out"; fails=$((fails + 1)); failed="$failed ${1#"$dir"/}" ;;
	*) fails=$((fails + 1)); failed="$failed ${1#"$dir"/}" ;;
	esac
}

# in the foreground, output as it comes
run_now() {
	n=$((n + 1))
	echo "== ${1#"$dir"/}"
	test_file "$1"
	report "$1" $?
	sweep "$$_$n-"
}

# in the background, output when it is done: start FILE, then finish reports the oldest started
start() {
	n=$((n + 1))
	echo "$1" >"$logs/$n.name"
	(
		test_file "$1" >"$logs/$n" 2>&1
		echo $? >"$logs/$n.rc"
	) &
	echo "$n $!" >>"$logs/running"
}
finish() {
	read -r _k _pid <"$logs/running"
	sed -i 1d "$logs/running"
	wait "$_pid"
	_t=$(cat "$logs/$_k.name")
	echo "== ${_t#"$dir"/}"
	cat "$logs/$_k"
	report "$_t" "$(cat "$logs/$_k.rc")"
	sweep "$$_$_k-"
}
running() { wc -l <"$logs/running"; }

# in_parallel DIR: whether DIR's cases may run side by side
in_parallel() {
	case " $parallel " in *" $(basename "$1") "*) return 0 ;; esac
	return 1
}

: >"$logs/running"
[ $# -gt 0 ] || set -- "$dir"/t_*.sh "$dir"/*/
for a in "$@"; do
	if [ ! -d "$a" ]; then
		run_now "$a"
	elif ! in_parallel "$a"; then
		for t in "${a%/}"/t_*.sh; do [ -e "$t" ] && run_now "$t"; done
	fi
done
for a in "$@"; do
	[ -d "$a" ] && in_parallel "$a" || continue
	for t in "${a%/}"/t_*.sh; do
		[ -e "$t" ] || continue
		[ "$(running)" -lt "$jobs" ] || finish
		start "$t"
	done
done
while [ "$(running)" -gt 0 ]; do finish; done
[ $fails -eq 0 ] || { echo "netns: $fails test file(s) failed:$failed"; exit 1; }
