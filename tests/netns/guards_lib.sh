# Shared by the guard cases, tests/netns/guards/t_*.sh (source it from there: paths are found from the case file's
# directory). Each case runs in namespaces of its own, each namespace with a state directory of its own.
TW_NAME="guards/$(basename "$0")"
. "$(dirname "$0")/../lib.sh"
tw_require_root
tw_need python3 timeout ss pgrep
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/../../.." && pwd)
unset SSH_CONNECTION TLSWALL_STATE_DIR TLSWALL_TEST_HANG_AFTER_COMMIT TLSWALL_TEST_WRITE_DELAY_MS \
	TLSWALL_TEST_PAUSE_FILE TLSWALL_TEST_FAULT_AT
T=$TW_TMP
# nothing here applies with --confirm; should a change ever start a rollback timer, it ends with the test
kill_timers() {
	for pid in $(pgrep -f -- "--state-dir ${T}[^ ]* rollback-timer" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
}
trap 'kill_timers; tw_cleanup' EXIT
trap 'exit 129' HUP PIPE

# tl NS ARGS...: tlswall inside NS, with the state directory of that namespace, bounded in time
tl() {
	_ns=$1
	shift
	TLSWALL_STATE_DIR=$T/state-$_ns timeout 30 ip netns exec "$_ns" "$bin" "$@"
}
# ruleset NS: the namespace's whole ruleset, text and JSON (nothing changed: handles included)
ruleset() { ip netns exec "$1" nft list ruleset && ip netns exec "$1" nft -j list ruleset; }

# ---- policies
cat >"$T/ssh-any.conf" <<'P'
version = 1;
services = ( { service = "https"; } );
exemptions = ( { name = "ssh"; port = 22; proto = "tcp"; reason = "management from anywhere"; } );
P
cat >"$T/no-ssh.conf" <<'P'
version = 1;
services = ( { service = "https"; }, { service = "imaps"; } );
P
cat >"$T/ssh-net.conf" <<'P'
version = 1;
sets = { admins = [ "198.51.100.0/24", "2001:db8:77::/48" ]; };
services = ( { service = "https"; }, { service = "imaps"; } );
exemptions = (
  { name = "ssh"; port = 22; proto = "tcp"; from = [ "@admins" ]; reason = "management from the admin network"; }
);
P
cat >"$T/ssh-other.conf" <<'P'
version = 1;
services = ( { service = "https"; }, { service = "imaps"; } );
exemptions = (
  { name = "ssh"; port = 22; proto = "tcp"; from = [ "203.0.113.0/24" ]; reason = "management from elsewhere"; }
);
P
cat >"$T/admin.conf" <<'P'
version = 1;
services = ( { service = "https"; }, { name = "admin"; port = 8443; tls = true; } );
P
cat >"$T/plain.conf" <<'P'
version = 1;
services = ( { service = "https"; } );
P
chmod 600 "$T"/*.conf
for p in "$T"/*.conf; do "$bin" -q -f "$p" check >/dev/null || tw_fail "test policy $p does not check"; done

# python3 helpers. server: listens on every ADDR,PORT given ("::" dual-stack), accepts and holds every connection.
cat >"$T/server.py" <<'EOF'
import socket, sys, threading
socks = []
for spec in sys.argv[1:]:
    addr, _, port = spec.rpartition(",")
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if ":" in addr:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # "::" takes IPv4 too, as ::ffff:a.b.c.d
    s.bind((addr, int(port)))
    s.listen(16)
    socks.append(s)
print("listening", flush=True)
held = []
def serve(s):
    while True:
        c, a = s.accept()
        held.append(c)
        print("accepted %s %d" % (a[0], a[1]), flush=True)
for s in socks:
    threading.Thread(target=serve, args=(s,), daemon=True).start()
threading.Event().wait()
EOF
# client: connects to ADDR PORT and holds the connection for SECONDS
cat >"$T/client.py" <<'EOF'
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
print("connected %s %d" % s.getsockname()[:2], flush=True)
time.sleep(float(sys.argv[3]))
EOF

# the SSH session the lockout cases pretend to run over
SSHC="198.51.100.7 50022 10.0.0.1 22"
