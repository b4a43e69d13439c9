#!/bin/sh
# lockout: an exemption from the client's network is applied without a word about the session, over IPv4 and IPv6
# (and then cutting the IPv6 session is refused); a session the live table already shuts out is not this change's
# doing, so it does not stop an apply.
. "$(dirname "$0")/../guards_lib.sh"
tw_netns ssh; N=$TW_NS
tl "$N" -q -f "$T/ssh-any.conf" apply || tw_fail "apply with SSH open to all failed"
SSH_CONNECTION=$SSHC tl "$N" -f "$T/ssh-net.conf" apply >"$T/v4.out" 2>&1
expect_rc 0 $? "apply with SSH from the client's network" "$T/v4.out"
hasnt "$T/v4.out" "would drop" "IPv4 session"
tl "$N" -q -f "$T/ssh-net.conf" diff >/dev/null 2>&1 || tw_fail "the policy is not live"
SSH_CONNECTION="2001:db8:77::9 50022 2001:db8:77::1 22" tl "$N" -f "$T/ssh-any.conf" apply >"$T/v6.out" 2>&1
expect_rc 0 $? "apply with SSH open to all, over SSH from 2001:db8:77::9" "$T/v6.out"
hasnt "$T/v6.out" "would drop" "IPv6 session"
SSH_CONNECTION="2001:db8:77::9 50022 2001:db8:77::1 22" tl "$N" -f "$T/ssh-net.conf" apply >"$T/v6b.out" 2>&1
expect_rc 0 $? "apply with SSH from the client's network, over SSH from 2001:db8:77::9" "$T/v6b.out"
SSH_CONNECTION="2001:db8:77::9 50022 2001:db8:77::1 22" tl "$N" -f "$T/no-ssh.conf" apply >"$T/v6c.out" 2>&1
expect_rc 3 $? "apply without SSH, over SSH from 2001:db8:77::9" "$T/v6c.out"
has "$T/v6c.out" "from 2001:db8:77::9 to port 22/tcp" "refusal (IPv6)"
# 192.0.2.99 is outside @admins: the live table drops it already
SSH_CONNECTION="192.0.2.99 50022 10.0.0.1 22" tl "$N" -f "$T/no-ssh.conf" apply >"$T/out" 2>&1
expect_rc 0 $? "apply over a session the live table already drops" "$T/out"
hasnt "$T/out" "would drop" "a session the live table already drops"
tw_done
