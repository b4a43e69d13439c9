#!/bin/sh
# SSH_CONNECTION as the lockout guard of apply reads it, in a namespace of its own:
#  1. a link-local client with its zone (fe80::1%tw0, as OpenSSH sets it): the guard sees it on that interface and
#     refuses a policy that drops it, but not one that opens 22 on that interface
#  2. a value that is not "CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT": a warning that says the guard cannot protect
#     the session, with the value escaped
. "$(dirname "$0")/lib.sh"
tw_require_root
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
T=$TW_TMP

tw_netns ssh
N=$TW_NS
ip -n "$N" link add tw0 type veth peer name tw1 && ip -n "$N" link set tw0 up || tw_fail "could not make interface tw0"

tw_policy "$T/no-ssh.conf" <<'P'
version = 1;
services = ( { service = "https"; } );
P
tw_policy "$T/ssh-on-tw0.conf" <<'P'
version = 1;
services = ( { service = "https"; } );
exemptions = ( { name = "ssh"; port = 22; interfaces = [ "tw0" ]; reason = "management over the link only"; } );
P
tw_policy "$T/ssh-on-other.conf" <<'P'
version = 1;
services = ( { service = "https"; } );
exemptions = ( { name = "ssh"; port = 22; interfaces = [ "other0" ]; reason = "management over another link"; } );
P
# tl SSH_CONNECTION ARGS...: tlswall in the namespace, as if run over that SSH session
tl() {
	_ssh=$1
	shift
	SSH_CONNECTION=$_ssh TLSWALL_STATE_DIR=$T/state timeout 30 ip netns exec "$N" "$bin" "$@"
}

# 1. link-local client
tl "fe80::1%tw0 51234 fe80::2%tw0 22" -f "$T/no-ssh.conf" apply >"$T/1a.out" 2>&1
rc=$?
[ $rc -eq 3 ] || tw_fail "1a: a policy that drops the link-local SSH client applied (exit $rc): $(cat "$T/1a.out")"
has "$T/1a.out" "would drop new connections from fe80::1 to port 22/tcp, which this SSH session uses" "1a"
if ip netns exec "$N" nft list table inet tlswall >/dev/null 2>&1; then tw_fail "1a: the refused policy reached the kernel"; fi

tl "fe80::1%tw0 51234 fe80::2%tw0 22" -f "$T/ssh-on-tw0.conf" apply >"$T/1b.out" 2>&1 ||
	tw_fail "1b: 22 is open on tw0, where the client is, but apply refused: $(cat "$T/1b.out")"
hasnt "$T/1b.out" "SSH_CONNECTION" "1b"

tl "fe80::1%tw0 51234 fe80::2%tw0 22" -f "$T/ssh-on-other.conf" apply >"$T/1c.out" 2>&1
rc=$?
[ $rc -eq 3 ] || tw_fail "1c: 22 is open on other0 only, yet apply did not refuse (exit $rc): $(cat "$T/1c.out")"
has "$T/1c.out" "exempt.ssh" "1c: the reason should name the exemption that opens 22 elsewhere"

# by index: the zone of fe80::1%N is interface N
idx=$(ip -n "$N" -o link show tw0 | cut -d: -f1)
tl "fe80::1%$idx 51234 fe80::2%$idx 22" -f "$T/ssh-on-other.conf" apply --dry-run >"$T/1d.out" 2>&1
rc=$?
[ $rc -eq 3 ] || tw_fail "1d: zone by index: exit $rc, expected 3: $(cat "$T/1d.out")"

# 2. values OpenSSH never sets: said, not ignored
esc=$(printf '\033')
tl "garbage${esc}]0;owned" -f "$T/no-ssh.conf" apply >"$T/2a.out" 2>&1 ||
	tw_fail "2a: apply failed: $(cat "$T/2a.out")"
has "$T/2a.out" 'tlswall: warning: SSH_CONNECTION="garbage\x1b]0;owned" is not "CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT" (it does not hold four fields); the lockout guard cannot protect this SSH session' "2a"
if grep -q "$esc" "$T/2a.out"; then tw_fail "2a: the escape character reached the output"; fi
tl "fe80::1%nosuch/0 51234 fe80::2 22" -f "$T/ssh-on-tw0.conf" apply >"$T/2b.out" 2>&1 ||
	tw_fail "2b: apply failed: $(cat "$T/2b.out")"
has "$T/2b.out" "(its zone is not an interface name); the lockout guard cannot protect this SSH session" "2b"
tw_done
