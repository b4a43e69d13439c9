#!/bin/sh
# What ships around the program, each check with a time limit: the man pages, the bash completion, the Debian
# package and the Ansible role. Usage: tests/dist/run.sh TLSWALL
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
fails=0
for t in man/t_man.sh completion/t_bash.sh package/t_deb.sh ansible/t_role.sh; do
	echo "== $t"
	start=$(date +%s)
	case $t in
	*/t_bash.sh) timeout --kill-after=10 120 bash "$root/tests/$t" "$bin" ;;
	*) timeout --kill-after=10 "${DIST_TEST_TIMEOUT:-600}" sh "$root/tests/$t" "$bin" ;;
	esac
	rc=$?
	case $rc in
	0) echo "   $(($(date +%s) - start))s" ;;
	77) echo "skipped" ;;
	124 | 137) echo "FAIL: $t timed out"; fails=$((fails + 1)) ;;
	*) fails=$((fails + 1)) ;;
	esac
done
[ $fails -eq 0 ] || { echo "dist-check: $fails test file(s) failed"; exit 1; }
