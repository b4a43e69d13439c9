# Shared by the guard cases, tests/netns/guards/t_*.sh (source it from there: paths are found from the case file's
# directory). Each case runs in namespaces of its own, each namespace with a state directory of its own.
TW_NAME="guards/$(basename "$0")"
. "$(dirname "$0")/../lib.sh"
tw_require_root
tw_need python3 timeout ss pgrep
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/../../.." && pwd)
T=$TW_TMP

# tl NS ARGS...: tlswall inside NS, with the state directory of that namespace, bounded in time
tl() {
	_ns=$1
	shift
	TLSWALL_STATE_DIR=$T/state-$_ns timeout 30 ip netns exec "$_ns" "$bin" "$@"
}
# ruleset NS: the namespace's whole ruleset, text and JSON (nothing changed: handles included)
ruleset() { ip netns exec "$1" nft list ruleset && ip netns exec "$1" nft -j list ruleset; }

# ---- policies
tw_policy "$T/ssh-any.conf" <<'P'
version = 1;
services = ( { service = "https"; } );
exemptions = ( { name = "ssh"; port = 22; proto = "tcp"; reason = "management from anywhere"; } );
P
tw_policy "$T/no-ssh.conf" <<'P'
version = 1;
services = ( { service = "https"; }, { service = "imaps"; } );
P
tw_policy "$T/ssh-net.conf" <<'P'
version = 1;
sets = { admins = [ "198.51.100.0/24", "2001:db8:77::/48" ]; };
services = ( { service = "https"; }, { service = "imaps"; } );
exemptions = (
  { name = "ssh"; port = 22; proto = "tcp"; from = [ "@admins" ]; reason = "management from the admin network"; }
);
P
tw_policy "$T/ssh-other.conf" <<'P'
version = 1;
services = ( { service = "https"; }, { service = "imaps"; } );
exemptions = (
  { name = "ssh"; port = 22; proto = "tcp"; from = [ "203.0.113.0/24" ]; reason = "management from elsewhere"; }
);
P
tw_policy "$T/admin.conf" <<'P'
version = 1;
services = ( { service = "https"; }, { name = "admin"; port = 8443; tls = true; } );
P
tw_policy "$T/plain.conf" <<'P'
version = 1;
services = ( { service = "https"; } );
P

# host_and_client N: host and client namespaces on a veth pair (H and C), the host at H4=10.N.0.1 and H6=fd00:N::1,
# the client at C4=10.N.0.2 and C6=fd00:N::2
host_and_client() {
	H4=10.$1.0.1 C4=10.$1.0.2 H6=fd00:$1::1 C6=fd00:$1::2
	tw_pair host client $H4 $C4 $H6 $C6
}

# hold NS ARGS...: tests/netns/hold.py in NS (a server that holds every connection, or a client that holds one)
hold() {
	_ns=$1
	shift
	tw_serve "$_ns" python3 "$TW_LIB_DIR/hold.py" "$@"
}

# the SSH session the lockout cases pretend to run over
SSHC="198.51.100.7 50022 10.0.0.1 22"
