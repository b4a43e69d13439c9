#!/bin/sh
# lockout: --force applies a policy that cuts the SSH session, with a warning instead of the refusal.
. "$(dirname "$0")/../guards_lib.sh"
tw_netns ssh; N=$TW_NS
tl "$N" -q -f "$T/ssh-any.conf" apply || tw_fail "apply with SSH open to all failed"
SSH_CONNECTION=$SSHC tl "$N" -f "$T/no-ssh.conf" apply --force >"$T/out" 2>&1
expect_rc 0 $? "apply --force without SSH" "$T/out"
has "$T/out" "warning: the new policy would drop new connections from 198.51.100.7 to port 22/tcp" "warning"
hasnt "$T/out" "refusing" "warning"
tl "$N" -q -f "$T/no-ssh.conf" diff >/dev/null 2>&1 || tw_fail "--force did not apply the policy"
tw_done
