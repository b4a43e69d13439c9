#!/bin/sh
# apply --boot over a change still unconfirmed at "reboot" (its timer died with the machine): the change is not
# trusted, last-known-good comes back instead, and status named the dead timer.
. "$(dirname "$0")/../deploy_lib.sh"
tw_netns s6d; N=$TW_NS; S=$T/state
tl "$N" "$S" -q -f "$A" apply || tw_fail "apply A failed"
dump "$N" "$T/s6d-A"
confirm_apply "$N" "$S" "$B" 60 "$T/s6d.out"
tp=$(timer_pid "$T/s6d.out")
[ -n "$tp" ] && kill -9 "$tp" # the machine went down: no timer survives a reboot
wait_for 2 no_timers "$S" || tw_fail "the timer did not die"
ip netns exec "$N" nft flush ruleset
# the killed timer is reaped by whoever is PID 1 here; until then it is a zombie with the same start time
if wait_for 5 gone "$tp"; then
	tl "$N" "$S" status >"$T/s6d.status" 2>&1
	has "$T/s6d.status" "the rollback timer (pid $tp) is not running" "status with a dead timer"
else
	echo "note: the killed timer $tp was not reaped within 5 s; status not checked" >&2
fi
tl "$N" "$S" -f "$B" apply --boot >"$T/s6d.boot" 2>&1
rc=$?
[ $rc -ne 0 ] || tw_fail "boot over an unconfirmed change exited 0"
has "$T/s6d.boot" "a change was still waiting for confirmation" "boot output"
has "$T/s6d.boot" "applying the last-known-good ruleset" "boot output"
live_is "$N" "$T/s6d-A" || tw_fail "boot did not apply last-known-good A: $(live_diff "$N" "$T/s6d-A")"
tl "$N" "$S" status >"$T/s6d.status2" 2>&1
has "$T/s6d.status2" "confirmation pending: no" "status after boot"
has "$T/s6d.status2" "last-known-good: $A (table inet tlswall)" "status after boot"
tw_done
