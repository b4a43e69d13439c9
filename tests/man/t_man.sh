#!/bin/sh
# The man pages: mandoc -T lint reports nothing (style notes included), groff through man --warnings says nothing,
# and they cover what the program has: tlswall(8) every verb of the verb table (src/main.c) and every option of every
# getopt_long table (src/*.c); tlswall.conf(5) every setting config.c reads. Usage: tests/man/t_man.sh
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
m8=$root/man/tlswall.8
m5=$root/man/tlswall.conf.5
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
for tool in mandoc man; do
	command -v "$tool" >/dev/null 2>&1 && continue
	if [ -n "${CI:-}" ]; then echo "FAIL: $tool is not installed (scripts/deps.sh)" >&2; exit 1; fi
	echo "SKIP: $tool is not installed (scripts/deps.sh)" >&2
	exit 77
done

for page in "$m8" "$m5"; do
	out=$(mandoc -T lint -W style "$page" 2>&1)
	[ -z "$out" ] || fail "mandoc -T lint $(basename "$page"): $out"
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings=all -E UTF-8 -l "$page" 2>&1 >/dev/null)
	[ -z "$out" ] || fail "man --warnings $(basename "$page"): $out"
done

# verbs: a .TP item of VERBS starts with the verb in bold
verbs=$(sed -n 's/^\t{ "\([a-z-]*\)", [a-z_]*_main, .*$/\1/p' "$root/src/main.c")
internal=$(sed -n 's/^\t{ "\([a-z-]*\)", [a-z_]*_main, .*, NULL },$/\1/p' "$root/src/main.c")
[ -n "$verbs" ] || fail "no verbs read from src/main.c"
for v in $verbs; do
	echo "$internal" | grep -qx "$v" && continue
	sed -n '/^\.SH VERBS/,/^\.SH /p' "$m8" | grep -A1 '^\.TP' | grep -Eq "^\.BR? \"?$(echo "$v" | sed 's/-/\\\\-/g')( |\"|\$)" ||
		fail "tlswall.8 has no VERBS item for \"$v\""
done
# options: every long option of every getopt_long table, and the global short ones, written as \-\-name and \-x
for f in "$root"/src/*.c; do
	for o in $(grep -o '{ "[a-z-]*", [a-z_]*_argument' "$f" | sed 's/{ "\([a-z-]*\)".*/\1/'); do
		grep -qF -- "\\-\\-$(echo "$o" | sed 's/-/\\-/g')" "$m8" || fail "tlswall.8 does not document --$o ($(basename "$f"))"
	done
done
for o in $(sed -n 's/.*getopt_long(argc, argv, "+\{0,1\}\([^"]*\)".*/\1/p' "$root/src/main.c" | tr -d ':' | sed 's/./& /g'); do
	grep -qF -- "\\-$o" "$m8" || fail "tlswall.8 does not document -$o"
done
# policy settings: every key config.c looks up is a bold term of tlswall.conf(5)
keys=$(grep -o 'get_member([a-z]*, "[a-z_]*")' "$root/src/config.c" | sed 's/.*"\([a-z_]*\)")/\1/' | sort -u)
[ "$(echo "$keys" | wc -l)" -ge 15 ] || fail "too few settings read from src/config.c: $keys"
for k in $keys; do
	grep -Eq "^\.BR? \"?$k( |\"|,|\$)|\\\\fB$k\\\\f" "$m5" || fail "tlswall.conf.5 does not document the setting \"$k\""
done

[ $fails -eq 0 ] || { echo "man: $fails failure(s)"; exit 1; }
echo "man: ok"
