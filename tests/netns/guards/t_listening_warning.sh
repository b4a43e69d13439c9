#!/bin/sh
# a listening service the policy opens no way to is warned about, not refused; loopback-only listeners and
# listeners the policy opens are not mentioned.
. "$(dirname "$0")/../guards_lib.sh"
tw_netns listen; N=$TW_NS
hold "$N" server "0.0.0.0,8080" "127.0.0.1,8081" "0.0.0.0,443" >"$T/lsrv.log" 2>&1
wait_for 10 grep -q listening "$T/lsrv.log" || tw_fail "the server never listened: $(cat "$T/lsrv.log")"
tl "$N" -f "$T/plain.conf" apply >"$T/out" 2>&1
expect_rc 0 $? "apply with a blocked listener" "$T/out"
has "$T/out" "warning: something listens on 0.0.0.0 port 8080/tcp, but the policy opens no way in" "warning"
hasnt "$T/out" "port 8081/tcp" "loopback-only listener"
hasnt "$T/out" "port 443/tcp" "a listener the policy opens"
hasnt "$T/out" "refusing" "warning"
tl "$N" -q -f "$T/plain.conf" diff >/dev/null 2>&1 || tw_fail "the policy is not live"
tw_done
