#!/bin/sh
# The netfilter socket's last reference after a commit that removed something: nf_tables frees what was removed after
# an RCU grace period, and the release of the socket waits for it, so apply hands that reference to a child and does
# not wait itself. Held there by a test hook, the child is shown to hold nothing but the socket and its gate (a pipe
# reading apply's output ends, the next run is not made to wait for the state directory's lock, and it commits while
# the child still holds its socket); let go, the child drops it and ends, and no netfilter socket is left in the
# namespace. An apply that only adds leaves no child at all.
. "$(dirname "$0")/lib.sh"
tw_require_root
bin=$1
tw_test_bin "$@"
export TLSWALL_STATE_DIR="$TW_TMP/state"
tw_netns rel; ns=$TW_NS
run() { ip netns exec "$ns" "$@"; }
T=$TW_TMP
hold=$T/hold

# user_sockets: the netfilter netlink sockets of processes in the namespace (protocol 12; port 0 is the kernel's)
user_sockets() { run awk 'NR > 1 && $2 == 12 && $3 != 0 { print $10 }' /proc/net/netlink; }
# gone PID: no such process any more (or only its zombie, which holds nothing)
gone() { [ ! -d "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
in_kernel() { run nft list table inet tlswall | grep -qF "$1"; }

printf '%s\n' 192.0.2.0/24 198.51.100.7 203.0.113.9 >"$T/three.txt"
printf '%s\n' 192.0.2.0/24 198.51.100.7 >"$T/two.txt"
for n in three two; do
	tw_policy "$T/$n.conf" <<P
version = 1;
sets = { bl = { file = "$n.txt"; }; };
deny = [ "@bl" ];
services = ( { service = "https"; } );
P
done
chmod 600 "$T"/*.txt
run "$bin" -q -f "$T/three.conf" apply || tw_fail "the first apply failed"
[ -z "$(user_sockets)" ] || tw_fail "a netfilter socket is left after an apply that removed nothing: $(user_sockets)"
[ ! -e "$hold.ready" ] || tw_fail "an apply that removed nothing started a child"

# a removal, its output read through a pipe: the pipe ends while the child is held
TLSWALL_TEST_HOLD_RELEASE_FILE=$hold run "$TBIN" -f "$T/two.conf" apply 2>&1 | cat >"$T/remove.out"
has "$T/remove.out" "bl.v4: -1 element" "the removal"
wait_for 30 test -s "$hold.ready" || tw_fail "no child took the socket's last reference"
child=$(cat "$hold.ready" 2>/dev/null)
if [ -n "$child" ]; then
	TW_PIDS="$TW_PIDS $child"
	# what the child holds open: the socket and the read end of its gate, nothing of apply's
	ls -l "/proc/$child/fd" 2>/dev/null | awk 'NR > 1 { print $NF }' | sed 's/:\[[0-9]*\]$//' | sort >"$T/fds"
	printf 'pipe\nsocket\n' >"$T/fds.want"
	cmp -s "$T/fds" "$T/fds.want" || tw_fail "the child holds more than its socket and gate: $(tr '\n' ' ' <"$T/fds")"
	sock=$(ls -l "/proc/$child/fd" | sed -n 's/.*socket:\[\([0-9]*\)\]$/\1/p')
	user_sockets | grep -qx "$sock" || tw_fail "the child's socket $sock is not a netfilter socket of the namespace"
fi
in_kernel 203.0.113.9 && tw_fail "the removed address is still in the kernel"

# the next run, while the child still holds its socket: not made to wait, and it commits
run "$bin" -f "$T/three.conf" apply >"$T/add.out" 2>&1 || tw_fail "adding back failed: $(cat "$T/add.out")"
hasnt "$T/add.out" "waiting for another tlswall run" "the run after a removal"
has "$T/add.out" "bl.v4: +1 element" "the run after a removal"
in_kernel 203.0.113.9 || tw_fail "the address added back is not in the kernel"
[ -e "$hold.ready" ] || tw_fail "the child let go before it was told to"

# let go: the child drops the last reference and ends; no netfilter socket is left
touch "$hold"
[ -z "$child" ] || wait_for 30 gone "$child" || tw_fail "the child $child did not end once let go"
wait_for 30 test -z "$(user_sockets)" || tw_fail "netfilter sockets left in the namespace: $(user_sockets)"
tw_done
