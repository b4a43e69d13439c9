#!/bin/sh
# the state directory tlswall creates is 0700 and every file in it 0600, even under umask 000.
. "$(dirname "$0")/../deploy_lib.sh"
tw_netns s7a; N=$TW_NS
S=$T/state7/new
mkdir -m 700 "$T/state7"
(
	umask 000
	tl "$N" "$S" -q -f "$A" apply && tl "$N" "$S" -q -f "$B" apply --confirm 30 >/dev/null
) || tw_fail "applies with umask 000 failed"
[ "$(stat -c %a "$S" 2>/dev/null)" = 700 ] || tw_fail "state directory mode $(stat -c %a "$S" 2>/dev/null), expected 700"
for f in "$S"/* "$S"/.[!.]*; do
	[ -e "$f" ] || [ -L "$f" ] || continue
	if [ -L "$f" ] || [ ! -f "$f" ]; then tw_fail "$f is not a regular file"; fi
	m=$(stat -c %a "$f")
	[ "$m" = 600 ] || tw_fail "$(basename "$f") has mode $m, expected 600"
done
for f in previous.json last-known-good.json candidate.json pending.json; do
	[ -f "$S/$f" ] || tw_fail "$f missing"
done
tl "$N" "$S" -q rollback || tw_fail "rollback failed"
wait_for 2 no_timers "$S" || tw_fail "timer survived rollback"
tw_done
