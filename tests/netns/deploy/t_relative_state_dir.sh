#!/bin/sh
# a relative state directory: the rollback timer (which runs from elsewhere) still finds it, and rolls back.
. "$(dirname "$0")/../deploy_lib.sh"
ref b
# unique, so that its timer can be found at cleanup whatever it resolves the name against
REL=twrel-$$-$(date +%s)
TW_TIMER_DIRS="$T|$REL"
tw_netns s9; N=$TW_NS
if [ -e "/$REL" ]; then
	echo "SKIP: /$REL exists" >&2
	exit 77
fi
mkdir -m 700 "$T/$REL"
cd "$T" || exit 1
tl "$N" "$REL/state" -q -f "$A" apply || tw_fail "apply A failed"
dump "$N" "$T/s9-A"
tl "$N" "$REL/state" -q -f "$B" apply --confirm 2 >/dev/null || tw_fail "apply --confirm failed"
live_is "$N" "$T/ref-b" || tw_fail "B is not live"
if ! wait_for 6 live_is "$N" "$T/s9-A"; then
	tl "$N" "$REL/state" status >"$T/s9.status" 2>&1
	tw_fail "with a relative state directory ($REL/state) the unconfirmed change was never rolled back" \
		"($(head -n 3 "$T/s9.status" | tr '\n' ' '))"
fi
cd / || exit 1
[ -e "/$REL" ] && tw_fail "the rollback timer created /$REL"
tw_done
