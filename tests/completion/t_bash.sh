#!/bin/bash
# The bash completion: syntax (bash -n), registration (complete -p), and what it offers, by calling its function with
# COMP_WORDS and COMP_CWORD set as bash sets them. The expected verbs and options are read from the sources (the verb
# table in src/main.c, each verb's getopt_long table in src/cmd_VERB.c), so a verb or option added without
# showing up in the completion fails here. Usage: tests/completion/t_bash.sh TLSWALL
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
script=$root/contrib/bash-completion/tlswall
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

bash -n "$script" || fail "bash -n $script"
lib=/usr/share/bash-completion/bash_completion
if [ ! -r "$lib" ]; then
	if [ -n "${CI:-}" ]; then echo "FAIL: bash-completion is not installed (scripts/deps.sh)" >&2; exit 1; fi
	echo "SKIP: bash-completion is not installed (scripts/deps.sh)" >&2
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/pol/sub" "$tmp/other"
ln -s "$bin" "$tmp/bin/tlswall"
touch "$tmp/pol/web.conf" "$tmp/pol/mail.conf" "$tmp/pol/notes.txt" "$tmp/other/list.txt"

# what the sources say
verbs=$(sed -n 's/^\t{ "\([a-z-]*\)", [a-z_]*_main, .*"[^"]*" },\{0,1\}$/\1/p; s/^\t{ "\([a-z-]*\)", [a-z_]*_main, "[^"]*",$/\1/p' "$root/src/main.c" | sort)
internal=$(sed -n 's/^\t{ "\([a-z-]*\)", [a-z_]*_main, .*, NULL },$/\1/p' "$root/src/main.c")
[ -n "$verbs" ] || fail "no verbs read from src/main.c"
[ -n "$internal" ] || fail "no internal verb read from src/main.c"
long_opts() { grep -o '{ "[a-z-]*", [a-z_]*_argument' "$1" | sed 's/{ "\([a-z-]*\)".*/--\1/'; }
short_opts() { sed -n 's/.*getopt_long(argc, argv, "+\{0,1\}\([^"]*\)".*/\1/p' "$1" | tr -d ':' | sed 's/./-& /g'; }
global=$( (long_opts "$root/src/main.c"; short_opts "$root/src/main.c") | tr ' ' '\n' | grep . | sort)

# comp LINE: what completing the end of LINE offers, one per line, sorted
comp() {
	(
		cd "$tmp/pol" || exit 1
		PATH=$tmp/bin:$PATH
		# shellcheck disable=SC1090
		. "$lib"
		. "$script"
		COMP_LINE=$1
		COMP_POINT=${#1}
		read -r -a COMP_WORDS <<<"$1"
		[ "${1% }" != "$1" ] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMPREPLY=()
		_tlswall tlswall "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
		printf '%s\n' "${COMPREPLY[@]}" | grep . | sort
	)
}
expect() {
	got=$(comp "$1")
	want=$(printf '%s\n' "$2" | tr ' ' '\n' | grep . | sort)
	[ "$got" = "$want" ] || fail "completing \"$1\": got [$(echo $got)], expected [$(echo $want)]"
}

reg=$(bash -c ". $lib; . $script; complete -p tlswall")
[ "$reg" = "complete -F _tlswall tlswall" ] || fail "complete -p tlswall: $reg"

expect "tlswall " "$verbs"
expect "tlswall -v " "$verbs"
expect "tlswall ap" "apply"
expect "tlswall re" "remove"
for v in $internal; do
	comp "tlswall ${v%?}" | grep -qx "$v" && fail "the internal verb $v is offered"
done
expect "tlswall -" "$global"
expect "tlswall --st" "--state-dir"
# each verb's options, from its getopt_long table
for v in $verbs; do
	f=$root/src/cmd_$v.c
	want=""
	[ -f "$f" ] && want=$(long_opts "$f")
	expect "tlswall $v --" "$want"
	expect "tlswall -q -f x.conf $v --" "$want"
done
# policy files for -f: *.conf and directories, else any file
expect "tlswall -f " "mail.conf web.conf sub"
expect "tlswall --file " "mail.conf web.conf sub"
expect "tlswall --file=" "mail.conf web.conf sub"
expect "tlswall -f w" "web.conf"
expect "tlswall -f ../other/" "../other/list.txt"
expect "tlswall --state-dir " "sub"
# option arguments that are not files; service names where a verb takes them
expect "tlswall apply --confirm " ""
expect "tlswall -f web.conf apply --dry-run --" "--dry-run --confirm --force --boot"
expect "tlswall show --table " ""
expect "tlswall services ht" "http https"
expect "tlswall services https ima" "imap imaps"
expect "tlswall services " "$("$bin" services | awk 'NR > 1 { print $1 }')"
expect "tlswall check " ""
expect "tlswall bogus --" ""
[ "$(comp "tlswall services " | wc -l)" -gt 30 ] || fail "fewer than 30 service names"

[ $fails -eq 0 ] || { echo "completion: $fails failure(s)"; exit 1; }
echo "completion: ok"
