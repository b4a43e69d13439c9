#!/bin/sh
# lockout, no table yet: nothing would let the SSH session (SSH_CONNECTION) back in, so a policy without SSH is
# refused (exit 3, naming the client, the port and --force) and no table is created.
. "$(dirname "$0")/../guards_lib.sh"
tw_netns ssh; N=$TW_NS
SSH_CONNECTION=$SSHC tl "$N" -f "$T/no-ssh.conf" apply >"$T/out" 2>&1
expect_rc 3 $? "apply without SSH on a bare host, over SSH" "$T/out"
has "$T/out" "refusing: the new policy would drop new connections from 198.51.100.7 to port 22/tcp" "refusal"
has "$T/out" "SSH_CONNECTION" "refusal"
has "$T/out" "apply with --force" "refusal"
[ -z "$(ip netns exec "$N" nft list tables)" ] || tw_fail "a refused apply created a table"
tw_done
