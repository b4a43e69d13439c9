#!/bin/sh
# The rollback timer restores the previous ruleset even while another program commits ten times a second (each of
# its commits would make a generation-guarded restore of a large table fail): it replaces tlswall's table whole,
# without a guard, and keeps trying until it succeeds.
. "$(dirname "$0")/lib.sh"
tw_netns busy; N=$TW_NS; S=$T/state
python3 -c '
for i in range(100000):
    print("10.%d.%d.0/24" % (i // 256 % 256, i % 256) if i < 65536 else "172.%d.%d.0/24" % (16 + i // 65536, i // 256 % 256))
' | sort -u >"$T/big.txt"
chmod 600 "$T/big.txt"
cat >"$T/big-a.conf" <<'P'
version = 1;
sets = { big = { file = "big.txt"; }; };
deny = [ "@big" ];
services = ( { service = "https"; } );
P
cat >"$T/big-b.conf" <<'P'
version = 1;
sets = { big = { file = "big.txt"; }; };
deny = [ "@big" ];
services = ( { service = "https"; }, { service = "imaps"; } );
P
chmod 600 "$T"/big-*.conf
tl "$N" "$S" -q -f "$T/big-a.conf" apply || tw_fail "applying big-a failed"
table "$N" >"$T/A.live"
tl "$N" "$S" -q -f "$T/big-b.conf" apply --confirm 3 || tw_fail "apply --confirm of big-b failed"
# another program commits every 100 ms, for as long as the test needs
cat >"$T/busy.sh" <<'SH'
while :; do nft add table ip tw_busy && nft delete table ip tw_busy; sleep 0.1; done
SH
tw_bg timeout 120 ip netns exec "$N" sh "$T/busy.sh"
rolled() { table_is "$N" "$T/A.live"; }
wait_for 60 rolled || tw_fail "the rollback did not happen within 60 s under the busy neighbour: $(cat "$S/events.log")"
# the timer removes pending.json and writes its event just after the restore, under the state directory's lock
said() { grep -q '^[^ ]* rolled_back via="rollback timer"' "$S/events.log"; }
wait_for 10 said || tw_fail "events.log does not say it rolled back: $(cat "$S/events.log")"
wait_for 10 sh -c "[ ! -e $S/pending.json ]" || tw_fail "pending.json left after the rollback"
tw_done
