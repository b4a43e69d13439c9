#!/bin/sh
# Runs every namespace test (tests/netns/t_*.sh) with a time limit each.
# Usage: tests/netns/run.sh TLSWALL TEST_TLSWALL (the sanitizer build, with the test hooks)
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tbin=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
dir=$(dirname "$0")
fails=0
TW_RUN_ID=$$
export TW_RUN_ID
sweep() {
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^tw${TW_RUN_ID}-"); do ip netns del "$ns"; done
}
trap sweep EXIT
for t in "$dir"/t_*.sh "$dir"/*/t_*.sh; do
	echo "== ${t#"$dir"/}"
	timeout --kill-after=10 "${NETNS_TEST_TIMEOUT:-300}" sh "$t" "$bin" "$tbin"
	rc=$?
	case $rc in
	0) ;;
	77) echo "skipped" ;;
	124 | 137) echo "FAIL: $(basename "$t") timed out"; fails=$((fails + 1)) ;;
	*) fails=$((fails + 1)) ;;
	esac
	sweep
done
[ $fails -eq 0 ] || { echo "netns: $fails test file(s) failed"; exit 1; }
