# Shared by the fault tests (tests/netns/faults/t_*.sh): each is one case of tlswall under a fault (a broken file, a
# reboot at the wrong moment, a busy neighbour, a shared state directory), in namespaces of its own. Usage of every
# test: sh t_x.sh TLSWALL TEST_TLSWALL
. "$(dirname "$0")/../lib.sh"
tw_require_root
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tw_test_bin "$@"
T=$TW_TMP

# tl NS STATEDIR ARGS...: tlswall inside NS with its own state directory, bounded in time; ttl: the test build
tl() {
	_ns=$1 _sd=$2
	shift 2
	timeout 60 ip netns exec "$_ns" "$bin" --state-dir "$_sd" "$@"
}
ttl() {
	_ns=$1 _sd=$2
	shift 2
	timeout 120 ip netns exec "$_ns" "$TBIN" --state-dir "$_sd" "$@"
}
# table NS: tlswall's table as nft lists it (no handles, counters left out), or nothing
table() {
	ip netns exec "$1" nft list table inet tlswall 2>/dev/null | sed 's/counter packets [0-9]* bytes [0-9]*/counter/'
}
# table_is NS FILE: the live table is the one saved in FILE
table_is() { table "$1" | cmp -s - "$2"; }

# Policies: A opens SSH (from anywhere) besides the TLS ports, B does not, BROKEN has a mistake.
A=$T/a.conf
B=$T/b.conf
BROKEN=$T/broken.conf
tw_policy "$A" <<'P'
version = 1;
services = ( { service = "https"; }, { service = "imaps"; } );
exemptions = ( { name = "ssh"; port = 22; proto = "tcp"; reason = "management"; } );
P
tw_policy "$B" <<'P'
version = 1;
services = ( { service = "https"; }, { service = "pop3s"; } );
P
printf 'version = 1;\nservices = ( { service = "htps"; } );\n' >"$BROKEN"
chmod 600 "$BROKEN"
