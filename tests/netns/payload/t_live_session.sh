#!/bin/sh
# A TLS session that is already open when require_tls is first applied (IMAP IDLE on 993, HTTP keep-alive on 443).
# Its connection began before the check was in force, so its check was never pending: its next segment, an
# application-data record (0x17 0x03), is not looked at, and the session carries on, as the deny list lets
# established connections carry on. Sessions opened after the apply are checked and work.
. "$(dirname "$0")/../payload_lib.sh"

policy open <<'P'
version = 1;
services = ( { service = "imaps"; } );
P
policy checked <<'P'
version = 1;
require_tls = true;
services = ( { service = "imaps"; } );
P
serve python3 "$here/wire.py" echo "$ID.pem" "$ID.key" 993 >echo.log 2>&1
listening t 993
apply open

# the session waits for a line on a FIFO, held open read-write here so that opening it blocks nobody
mkfifo go
exec 3<>go
# (not tw_bg: an asynchronous command's standard input is /dev/null unless it is redirected on that command itself)
ip netns exec "$C" timeout 30 python3 "$here/wire.py" session $H4 993 <&3 >session.out 2>&1 &
TW_PIDS="$TW_PIDS $!"
is_ready() { grep -q '^ready' session.out; }
wait_for 10 is_ready || { tw_fail "the session did not start: $(cat session.out)"; tw_done; }
line_is session.out 1 "echo one" "the session before the apply"
apply checked
echo >&3
exec 3>&-
has_result() { [ "$(wc -l <session.out)" -ge 3 ]; }
wait_for 10 has_result || tw_fail "the session did not finish: $(cat session.out)"
line_is session.out 3 "echo two" "a session open before the apply"
expect_dropped imaps 0 "a session open before the apply"

# a session opened under the check works
wire session $H6 993 </dev/null >new.out 2>&1
line_is new.out 1 "echo one" "a session opened under the check"
line_is new.out 3 "echo two" "a session opened under the check"
tw_done
