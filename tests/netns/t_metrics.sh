#!/bin/sh
# tlswall metrics: what promtool check metrics accepts, with values that are the kernel's. Two namespaces joined by a
# veth pair (IPv6 off, so that nothing but the test's traffic is counted); a client makes connections the policy
# accepts, sends plaintext to a port whose payload is checked (require_tls), and knocks on closed ports.
#  0. the ruleset hash of every valid policy of the tree (check --json) is the one table_sha256.py computes from
#     generate's output, as tlswall(8) defines it
#  1. every counter equals the sum nft reports for the same chains, read from the record of the last commit (the
#     table's rules read without their set elements) and from a dump; the policy's hash is the SHA-256 of the table
#     generate prints; the table matches the policy
#  2. drift: a rule added by hand, then a policy edited on disk: matches 0
#  3. a broken policy: policy_valid 0, no policy_info, and the kernel's metrics are still there
#  4. a pending confirmation: its deadline is pending.json's, the timer runs; after confirm it is gone; the last apply
#     time is when apply ran
#  5. a dormant table, then a missing table: said plainly, and no counters
#  6. --output: an atomic replace (a reader never sees half a file), mode 0644, no temporary file left behind; a
#     directory that does not exist is a clear error
# Usage: sh t_metrics.sh TLSWALL TEST_TLSWALL
. "$(dirname "$0")/state_lib.sh"
tw_need promtool
# $TBIN: the sanitizer build, which runs metrics
tw_test_bin "$@"

tw_pair host client 10.98.0.1 10.98.0.2
N=$H
for ns in "$H" "$C"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; done

P=$T/m.conf
tw_policy "$P" <<'EOF'
version = 1;
policy = "reject";
sets = { lan = [ "10.98.0.0/24" ]; };
deny = [ "10.98.0.99" ];
services = (
  { service = "https"; },
  { service = "pop3s"; require_tls = true; },
  { service = "imaps"; from = [ "@lan" ]; }
);
exemptions = ( { name = "ssh"; port = 22; proto = "tcp"; from = [ "@lan" ]; reason = "management"; } );
EOF
# metrics FILE [ARGS...]: the metrics of policy $P (or ARGS' -f) into FILE, which promtool must accept
metrics() {
	_out=$1
	shift
	ttl -f "$P" "$@" metrics >"$_out" 2>"$_out.err" || tw_fail "metrics ($*) failed: $(cat "$_out.err")"
	promtool check metrics <"$_out" >"$_out.lint" 2>&1 || tw_fail "promtool check metrics ($*): $(cat "$_out.lint")"
}
# value FILE SAMPLE: the value of the sample written exactly so (name and labels), or nothing
value() { awk -v s="$2" 'substr($0, 1, length(s) + 1) == s " " { print substr($0, length(s) + 2) }' "$1"; }
# want FILE SAMPLE VALUE WHAT
want() {
	_v=$(value "$1" "$2")
	[ "$_v" = "$3" ] || tw_fail "$4: $2 is \"$_v\", expected \"$3\": $(grep -v '^#' "$1")"
}
# absent FILE NAME WHAT: no sample of the family NAME
absent() { if grep -q "^$2[{ ]" "$1"; then tw_fail "$3: $2 should be absent: $(grep "^$2" "$1")"; fi; }

# counters_match FILE WHAT: every counter in FILE is the kernel's (nft -j), read before and after it and unchanged
cat >"$T/kernel.py" <<'PY'
import json, sys
# the sums table_counters makes: a service's or exemption's chain, its plaintext chain, the drops of the input
# chain, and of the forward chain (published ports)
doc = json.load(sys.stdin)["nftables"]
chains, drops = {}, {"input": [0, 0], "forward": [0, 0]}
hooks = {o["chain"]["name"]: o["chain"]["hook"] for o in doc if "chain" in o and "hook" in o["chain"]}
for o in doc:
    r = o.get("rule")
    if not r:
        continue
    c = [e["counter"] for e in r["expr"] if "counter" in e]
    if not c:
        continue
    p, b = c[0]["packets"], c[0]["bytes"]
    s = chains.setdefault(r["chain"], [0, 0])
    s[0] += p; s[1] += b
    if hooks.get(r["chain"]) in drops and any("drop" in e or "reject" in e for e in r["expr"]):
        d = drops[hooks[r["chain"]]]
        d[0] += p; d[1] += b
out = []
for name, (p, b) in sorted(chains.items()):
    for prefix, kind in (("svc.", "service"), ("exempt.", "exemption")):
        if name.startswith(prefix):
            svc = name[len(prefix):]
            lab = '{table="tlswall",service="%s",kind="%s"}' % (svc, kind)
            out.append("tlswall_service_accepted_packets_total%s %d" % (lab, p))
            out.append("tlswall_service_accepted_bytes_total%s %d" % (lab, b))
            if "plaintext." + svc in chains:
                pp, pb = chains["plaintext." + svc]
                out.append("tlswall_service_plaintext_dropped_packets_total%s %d" % (lab, pp))
                out.append("tlswall_service_plaintext_dropped_bytes_total%s %d" % (lab, pb))
out.append('tlswall_dropped_packets_total{table="tlswall"} %d' % drops["input"][0])
out.append('tlswall_dropped_bytes_total{table="tlswall"} %d' % drops["input"][1])
if "forward" in hooks.values():
    out.append('tlswall_forwarded_dropped_packets_total{table="tlswall"} %d' % drops["forward"][0])
    out.append('tlswall_forwarded_dropped_bytes_total{table="tlswall"} %d' % drops["forward"][1])
print("\n".join(sorted(out)))
PY
kernel_counters() { ip netns exec "$H" nft -j list table inet tlswall | python3 "$T/kernel.py"; }
counters_match() {
	kernel_counters >"$T/k1"
	metrics "$1"
	kernel_counters >"$T/k2"
	cmp -s "$T/k1" "$T/k2" || tw_fail "$2: the kernel's counters moved while the metrics were read"
	grep -E '^tlswall_(service_[a-z_]+|dropped_[a-z]+|forwarded_dropped_[a-z]+)_total\{' "$1" | sort >"$T/m.counters"
	cmp -s "$T/k1" "$T/m.counters" || tw_fail "$2: the counters are not the kernel's: $(diff "$T/k1" "$T/m.counters")"
}

# 0.
root=$(cd "$(dirname "$0")/../.." && pwd)
hashed=0
for p in "$root"/policies/*.conf "$root"/tests/golden/0*.conf; do
	(cd "$(dirname "$p")" && "$bin" -q -f "$p" generate >"$T/0.nft" 2>/dev/null) || continue
	want=$(python3 "$(dirname "$0")/table_sha256.py" <"$T/0.nft")
	got=$(cd "$(dirname "$p")" && "$bin" -f "$p" check --json 2>/dev/null |
		python3 -c 'import json, sys; print(json.load(sys.stdin).get("sha256"))')
	[ "$got" = "$want" ] || tw_fail "0: $p: check --json says sha256 $got, the definition gives $want"
	hashed=$((hashed + 1))
done
[ "$hashed" -ge 40 ] || tw_fail "0: only $hashed policies were hashed"

# ---- traffic: servers on 443 and 995 in the host; the client connects, sends plaintext to 995, knocks on 8080
cat >"$T/net.py" <<'PY'
import socket, sys, threading, time
if sys.argv[1] == "server":
    def serve(port):
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port)); s.listen(16)
        while True:
            c, _ = s.accept()
            c.settimeout(2)
            try: c.recv(100)
            except OSError: pass
            c.close()
    for p in (443, 995):
        threading.Thread(target=serve, args=(p,), daemon=True).start()
    print("listening", flush=True)
    time.sleep(600)
else:
    host = sys.argv[2]
    ok = 0
    for i in range(3):
        c = socket.create_connection((host, 443), timeout=5); c.sendall(b"\x16\x03\x01\x00\x05hello"); c.close(); ok += 1
    c = socket.create_connection((host, 995), timeout=5)
    c.sendall(b"USER alice\r\n")
    time.sleep(0.3)
    # a reset instead of retransmitting what the check dropped
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    c.close()
    for port in (8080, 8081):
        try:
            socket.create_connection((host, port), timeout=2).close()
        except OSError:
            ok += 1
    print("done", ok, flush=True)
PY
tw_bg timeout 300 ip netns exec "$H" python3 "$T/net.py" server >"$T/srv.log" 2>&1
wait_for 10 grep -q listening "$T/srv.log" || tw_fail "the servers never listened: $(cat "$T/srv.log")"

# 1.
T_BEFORE=$(date +%s)
tl -q -f "$P" apply || tw_fail "1: apply failed"
T_AFTER=$(date +%s)
timeout 60 ip netns exec "$C" python3 "$T/net.py" client 10.98.0.1 >"$T/cli.log" 2>&1
grep -q "done 5" "$T/cli.log" || tw_fail "1: the client's traffic did not go as planned: $(cat "$T/cli.log")"
# the traffic is over when the kernel's counters stop moving (retransmissions, the servers' closes)
settled() {
	kernel_counters >"$T/s1"
	sleep 1
	kernel_counters >"$T/s2"
	cmp -s "$T/s1" "$T/s2"
}
wait_for 30 settled || tw_fail "1: the counters kept moving for 30 s: $(diff "$T/s1" "$T/s2")"
counters_match "$T/1.prom" "1 (the record)"
# the test can fail: what it compares is not all zero
for s in 'tlswall_service_accepted_packets_total{table="tlswall",service="https",kind="service"}' \
	'tlswall_service_plaintext_dropped_packets_total{table="tlswall",service="pop3s",kind="service"}' \
	'tlswall_dropped_packets_total{table="tlswall"}'; do
	[ "$(value "$T/1.prom" "$s")" -gt 0 ] 2>/dev/null || tw_fail "1: $s is not above 0: $(grep -v '^#' "$T/1.prom")"
done
want "$T/1.prom" 'tlswall_service_accepted_packets_total{table="tlswall",service="https",kind="service"}' 3 "1: three connections to https"
sha=$(sha "$P")
want "$T/1.prom" "tlswall_policy_info{policy=\"$P\",table=\"tlswall\",sha256=\"$sha\"}" 1 "1: the policy's hash"
want "$T/1.prom" "tlswall_policy_valid{policy=\"$P\"}" 1 "1"
want "$T/1.prom" 'tlswall_ruleset_readable' 1 "1"
want "$T/1.prom" 'tlswall_table_present{table="tlswall"}' 1 "1"
want "$T/1.prom" 'tlswall_table_dormant{table="tlswall"}' 0 "1"
want "$T/1.prom" "tlswall_table_matches_policy{table=\"tlswall\",policy=\"$P\"}" 1 "1"
gen=$(generation)
want "$T/1.prom" 'tlswall_ruleset_generation' "$gen" "1: the generation show reads"
want "$T/1.prom" 'tlswall_confirmation_pending' 0 "1"
want "$T/1.prom" 'tlswall_last_known_good_present' 1 "1"
t=$(value "$T/1.prom" tlswall_last_apply_timestamp_seconds)
[ -n "$t" ] && [ "$t" -ge "$T_BEFORE" ] && [ "$t" -le "$T_AFTER" ] ||
	tw_fail "1: tlswall_last_apply_timestamp_seconds is \"$t\", not between $T_BEFORE and $T_AFTER"
want "$T/1.prom" tlswall_last_change_timestamp_seconds "$t" "1: the last change is the apply"
# another program commits (another table): the next read is a dump, with the same counters
ip netns exec "$H" nft add table inet tw-other || tw_fail "1: nft add table failed"
counters_match "$T/1d.prom" "1 (a dump)"
grep -E '_total\{' "$T/1.prom" | sort >"$T/c1"
grep -E '_total\{' "$T/1d.prom" | sort >"$T/c2"
cmp -s "$T/c1" "$T/c2" || tw_fail "1: the record and the dump give different counters: $(diff "$T/c1" "$T/c2")"

# 2. drift
ip netns exec "$H" nft add rule inet tlswall svc.https counter || tw_fail "2: nft add rule failed"
metrics "$T/2.prom"
want "$T/2.prom" "tlswall_table_matches_policy{table=\"tlswall\",policy=\"$P\"}" 0 "2: a rule added by hand"
tl -q -f "$P" apply || tw_fail "2: apply failed"
metrics "$T/2b.prom"
want "$T/2b.prom" "tlswall_table_matches_policy{table=\"tlswall\",policy=\"$P\"}" 1 "2: applied again"
sed 's/{ service = "https"; },/{ service = "https"; }, { service = "ldaps"; },/' "$P" >"$T/edited.conf"
chmod 600 "$T/edited.conf"
metrics "$T/2c.prom" -f "$T/edited.conf"
want "$T/2c.prom" "tlswall_table_matches_policy{table=\"tlswall\",policy=\"$T/edited.conf\"}" 0 "2: a policy edited on disk"

# 3. a broken policy
printf 'version = 1;\nservices = ( { service = "http"; } );\n' >"$T/broken.conf"
chmod 600 "$T/broken.conf"
metrics "$T/3.prom" -f "$T/broken.conf"
want "$T/3.prom" "tlswall_policy_valid{policy=\"$T/broken.conf\"}" 0 "3: a broken policy"
absent "$T/3.prom" tlswall_policy_info "3"
absent "$T/3.prom" tlswall_table_matches_policy "3"
want "$T/3.prom" 'tlswall_table_present{table="tlswall"}' 1 "3: the kernel's metrics stay"
grep -q '^tlswall_service_accepted_packets_total{table="tlswall",service="https"' "$T/3.prom" ||
	tw_fail "3: no counters with a broken policy: $(cat "$T/3.prom")"

# 4. a pending confirmation
T_BEFORE=$(date +%s)
tl -f "$T/edited.conf" apply --confirm 120 >"$T/4.out" 2>&1 || tw_fail "4: apply --confirm failed: $(cat "$T/4.out")"
T_AFTER=$(date +%s)
metrics "$T/4.prom"
deadline=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["deadline"])' "$S/pending.json")
want "$T/4.prom" 'tlswall_confirmation_pending' 1 "4"
want "$T/4.prom" "tlswall_confirmation_deadline_timestamp_seconds{table=\"tlswall\",policy=\"$T/edited.conf\"}" "$deadline" "4: the deadline"
want "$T/4.prom" 'tlswall_rollback_timer_running' 1 "4"
want "$T/4.prom" 'tlswall_rollback_failures' 0 "4"
want "$T/4.prom" "tlswall_table_matches_policy{table=\"tlswall\",policy=\"$P\"}" 0 "4: the pending change is not the policy"
t=$(value "$T/4.prom" tlswall_last_apply_timestamp_seconds)
[ -n "$t" ] && [ "$t" -ge "$T_BEFORE" ] && [ "$t" -le "$T_AFTER" ] ||
	tw_fail "4: tlswall_last_apply_timestamp_seconds is \"$t\", not between $T_BEFORE and $T_AFTER"
tl -q confirm || tw_fail "4: confirm failed"
metrics "$T/4c.prom"
want "$T/4c.prom" 'tlswall_confirmation_pending' 0 "4: confirmed"
absent "$T/4c.prom" tlswall_confirmation_deadline_timestamp_seconds "4: confirmed"
absent "$T/4c.prom" tlswall_rollback_timer_running "4: confirmed"

# 5. dormant, then missing
ip netns exec "$H" nft add table inet tlswall '{ flags dormant; }' || tw_fail "5: nft could not make the table dormant"
metrics "$T/5.prom"
want "$T/5.prom" 'tlswall_table_present{table="tlswall"}' 1 "5: dormant"
want "$T/5.prom" 'tlswall_table_dormant{table="tlswall"}' 1 "5: dormant"
ip netns exec "$H" nft delete table inet tlswall || tw_fail "5: nft delete table failed"
metrics "$T/5m.prom"
want "$T/5m.prom" 'tlswall_table_present{table="tlswall"}' 0 "5: missing"
want "$T/5m.prom" "tlswall_table_matches_policy{table=\"tlswall\",policy=\"$P\"}" 0 "5: missing"
absent "$T/5m.prom" tlswall_table_dormant "5: missing"
absent "$T/5m.prom" tlswall_service_accepted_packets_total "5: missing"
absent "$T/5m.prom" tlswall_dropped_packets_total "5: missing"

# 6. --output
tl -q -f "$P" apply || tw_fail "6: apply failed"
mkdir "$T/textfile"
chmod 0755 "$T/textfile"
tl -f "$P" metrics --output "$T/textfile/tlswall.prom" >"$T/6.out" 2>&1 || tw_fail "6: metrics --output failed: $(cat "$T/6.out")"
[ -s "$T/6.out" ] && tw_fail "6: metrics --output printed something: $(cat "$T/6.out")"
[ "$(stat -c %a "$T/textfile/tlswall.prom")" = 644 ] || tw_fail "6: the file's mode is $(stat -c %a "$T/textfile/tlswall.prom"), not 644"
promtool check metrics <"$T/textfile/tlswall.prom" >/dev/null 2>&1 || tw_fail "6: promtool rejects the file"
# a reader that opens the file over and over while 40 runs replace it: every read is a whole file
cat >"$T/reader.py" <<'PY'
import os, sys, time
path, stop = sys.argv[1], sys.argv[2]
reads = bad = 0
while not os.path.exists(stop):
    with open(path, "rb") as f:
        data = f.read()
    reads += 1
    if not data.endswith(b"\n") or b"# TYPE tlswall_last_change_timestamp_seconds gauge\n" not in data:
        bad += 1
print(reads, bad, flush=True)
PY
tw_bg python3 "$T/reader.py" "$T/textfile/tlswall.prom" "$T/stop" >"$T/reader.out"
reader=$!
for i in $(seq 40); do tl -f "$P" metrics -o "$T/textfile/tlswall.prom" || tw_fail "6: metrics -o failed (run $i)"; done
touch "$T/stop"
wait "$reader"
read -r reads bad <"$T/reader.out"
[ "${bad:-1}" -eq 0 ] && [ "${reads:-0}" -gt 0 ] || tw_fail "6: the reader saw $bad partial files in $reads reads"
[ "$(ls -A "$T/textfile")" = tlswall.prom ] || tw_fail "6: files left in the directory: $(ls -A "$T/textfile")"
tl -f "$P" metrics --output "$T/nowhere/tlswall.prom" >"$T/6n.out" 2>&1
expect_rc 1 $? "6: --output into a directory that does not exist" "$T/6n.out"
has "$T/6n.out" "tlswall metrics: cannot write metrics to $T/nowhere/tlswall.prom: directory $T/nowhere: does not exist" "6"
tl -f "$P" metrics --output "$T/textfile" >"$T/6d.out" 2>&1
expect_rc 1 $? "6: --output naming a directory" "$T/6d.out"
has "$T/6d.out" "tlswall metrics: cannot write metrics to $T/textfile: it is a directory" "6"
tw_done
