#!/bin/sh
# Golden tests: NNN-name.conf with NNN-name.err (expected stderr of `check`, exit 1)
# or NNN-name.nft (expected stdout of `generate`, exit 0; NNN-name.warn holds expected stderr, if any).
# Usage: tests/golden/run.sh TLSWALL [--update]
# --update rewrites the expected files from what TLSWALL prints (review the diff before committing);
# a new error case needs an empty NNN-name.err first so the runner knows which kind it is.
set -u

bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
update=${2:-}
src=$(cd "$(dirname "$0")" && pwd)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
# The cases run from a copy owned by whoever runs them and closed to group and others: a checkout cloned by another
# user, or under umask 002, would add file trust warnings to every expected output (and is left untouched).
mkdir "$tmp/golden" && cp -R "$src/." "$tmp/golden/" && chmod -R go-w "$tmp/golden" || exit 1
cd "$tmp/golden" || exit 1
# keep OUTPUT EXPECTED: --update writes the expected file in the checkout, and in the copy the run compares with
keep() { cp "$1" "$2" && cp "$1" "$src/$2"; }
pass=0 fail=0 nerr=0 nok=0

for conf in [0-9][0-9][0-9]-*.conf; do
	base=${conf%.conf}
	if [ -e "$base.err" ]; then
		"$bin" -f "$conf" check >"$tmp/out" 2>"$tmp/err"
		rc=$?
		if [ "$update" = --update ]; then keep "$tmp/err" "$base.err"; fi
		nerr=$((nerr + 1))
		if [ $rc -ne 1 ]; then
			echo "FAIL $conf: check exited $rc, expected 1"; fail=$((fail + 1)); continue
		fi
		if ! cmp -s "$tmp/err" "$base.err"; then
			echo "FAIL $conf: diagnostics differ"; diff -u "$base.err" "$tmp/err" | head -40
			fail=$((fail + 1)); continue
		fi
	else
		"$bin" -f "$conf" generate >"$tmp/out" 2>"$tmp/err"
		rc=$?
		if [ "$update" = --update ]; then
			keep "$tmp/out" "$base.nft"
			if [ -s "$tmp/err" ]; then keep "$tmp/err" "$base.warn"; else rm -f "$base.warn" "$src/$base.warn"; fi
		fi
		nok=$((nok + 1))
		if [ $rc -ne 0 ]; then
			echo "FAIL $conf: generate exited $rc"; cat "$tmp/err"; fail=$((fail + 1)); continue
		fi
		if ! cmp -s "$tmp/out" "$base.nft"; then
			echo "FAIL $conf: script differs"; diff -u "$base.nft" "$tmp/out" | head -40
			fail=$((fail + 1)); continue
		fi
		expected_warn=/dev/null
		[ -e "$base.warn" ] && expected_warn=$base.warn
		if ! cmp -s "$tmp/err" "$expected_warn"; then
			echo "FAIL $conf: warnings differ"; diff -u "$expected_warn" "$tmp/err" | head -20
			fail=$((fail + 1)); continue
		fi
		# same policy, same bytes
		"$bin" -f "$conf" generate >"$tmp/again" 2>/dev/null
		if ! cmp -s "$tmp/out" "$tmp/again"; then
			echo "FAIL $conf: two runs gave different scripts"; fail=$((fail + 1)); continue
		fi
	fi
	pass=$((pass + 1))
done

echo "golden: $pass passed, $fail failed ($nok valid policies, $nerr error cases)"
[ $fail -eq 0 ]
