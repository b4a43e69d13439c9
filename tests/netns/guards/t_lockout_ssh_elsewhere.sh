#!/bin/sh
# lockout: a policy that opens SSH only to another network is refused over SSH from this one, and the reason names
# the entry that restricts it.
. "$(dirname "$0")/../guards_lib.sh"
tw_netns ssh; N=$TW_NS
tl "$N" -q -f "$T/ssh-any.conf" apply || tw_fail "apply with SSH open to all failed"
ruleset "$N" >"$T/before"
SSH_CONNECTION=$SSHC tl "$N" -f "$T/ssh-other.conf" apply >"$T/out" 2>&1
expect_rc 3 $? "apply with SSH from another network only" "$T/out"
has "$T/out" "from 198.51.100.7 to port 22/tcp" "refusal"
has "$T/out" "opens 22/tcp only to some sources or interfaces, and not to this one" \
	"the reason should name the exemption that opens 22/tcp to other sources only (chain exempt.ssh)"
has "$T/out" "exempt.ssh (" "the reason names the chain"
ruleset "$N" | cmp -s - "$T/before" || tw_fail "a refused apply changed the ruleset"
tw_done
