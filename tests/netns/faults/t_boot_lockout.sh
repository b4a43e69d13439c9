#!/bin/sh
# apply --boot is what "systemctl restart tlswall" runs on a running host: a policy that would cut an established
# inbound connection (the admin's SSH session) is refused there too, the live table stays, and last-known-good is
# not overwritten. At a real boot there is no connection, and the same policy applies.
. "$(dirname "$0")/lib.sh"
tw_pair host client 10.97.0.1 10.97.0.2
S=$T/state
tl "$H" "$S" -q -f "$A" apply || tw_fail "applying A (which opens SSH) failed"
table "$H" >"$T/A.live"
cp "$S/last-known-good.json" "$T/lkg.before"
tw_serve "$H" python3 "$TW_LIB_DIR/hold.py" server "0.0.0.0,22" >"$T/srv.log" 2>&1
wait_for 10 grep -q listening "$T/srv.log" || tw_fail "the SSH stand-in never listened"
tw_serve "$C" python3 "$TW_LIB_DIR/hold.py" client 10.97.0.1 22 60 >"$T/cli.log" 2>&1
wait_for 10 grep -q accepted "$T/srv.log" || tw_fail "the session was not established: $(cat "$T/cli.log")"
tl "$H" "$S" -f "$B" apply --boot >"$T/restart.out" 2>&1
expect_rc 3 $? "apply --boot (a restart) cutting an established SSH session" "$T/restart.out"
has "$T/restart.out" "refusing: the new policy would drop new connections from 10.97.0.2 to port 22/tcp" "restart"
has "$T/restart.out" "boot: not applying $B: the live ruleset stays" "restart"
table_is "$H" "$T/A.live" || tw_fail "a refused restart changed the table: $(table "$H" | diff "$T/A.live" - )"
cmp -s "$S/last-known-good.json" "$T/lkg.before" || tw_fail "a refused restart overwrote last-known-good"
# a real boot: no connection, no table; the same policy applies
for pid in $TW_PIDS; do kill "$pid" 2>/dev/null; done
ip netns del "$C"
ip netns exec "$H" nft flush ruleset
wait_for 10 sh -c "! ip netns exec $H ss -Htn state established | grep -q :22" || tw_fail "the session did not end"
tl "$H" "$S" -f "$B" apply --boot >"$T/boot.out" 2>&1
expect_rc 0 $? "apply --boot at a real boot" "$T/boot.out"
tl "$H" "$S" -q -f "$B" diff || tw_fail "after the boot B is not live"
tw_done
