#!/bin/sh
# lockout: with SSH open to all, a policy that opens no way to 22/tcp is refused over SSH (exit 3, saying no entry
# opens it), also with --dry-run and for a client written as an IPv4-mapped IPv6 address; the live table is
# untouched, handles included.
. "$(dirname "$0")/../guards_lib.sh"
tw_netns ssh; N=$TW_NS
SSH_CONNECTION=$SSHC tl "$N" -f "$T/ssh-any.conf" apply >"$T/open.out" 2>&1
expect_rc 0 $? "apply with SSH open to all" "$T/open.out"
hasnt "$T/open.out" "would drop" "apply with SSH open to all"
ruleset "$N" >"$T/before"
SSH_CONNECTION=$SSHC tl "$N" -f "$T/no-ssh.conf" apply >"$T/out" 2>&1
expect_rc 3 $? "apply without SSH, over SSH" "$T/out"
has "$T/out" "refusing: the new policy would drop new connections from 198.51.100.7 to port 22/tcp" "refusal"
has "$T/out" "no entry of the policy opens 22/tcp" "refusal"
ruleset "$N" | cmp -s - "$T/before" || tw_fail "a refused apply changed the ruleset"
SSH_CONNECTION=$SSHC tl "$N" -f "$T/no-ssh.conf" apply --dry-run >"$T/dry.out" 2>&1
expect_rc 3 $? "apply --dry-run without SSH, over SSH" "$T/dry.out"
SSH_CONNECTION="::ffff:198.51.100.7 50022 ::ffff:10.0.0.1 22" tl "$N" -f "$T/no-ssh.conf" apply >"$T/mapped.out" 2>&1
expect_rc 3 $? "apply without SSH, over SSH from ::ffff:198.51.100.7" "$T/mapped.out"
has "$T/mapped.out" "from 198.51.100.7 to port 22/tcp" "refusal (mapped address)"
ruleset "$N" | cmp -s - "$T/before" || tw_fail "a refused apply changed the ruleset"
tw_done
