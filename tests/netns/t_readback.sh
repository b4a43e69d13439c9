#!/bin/sh
# Read-back round trip against the kernel: apply, then diff and a second apply find nothing to do (and commit
# nothing); a policy change shows up as exactly that change; a rule added by hand shows up in diff and show; a foreign
# table is identical before and after apply, diff and remove.
# tlswall keeps a record of its last commit and reads it instead of the kernel while the ruleset generation is the
# one that commit produced. Every comparison here is made after another commit has moved the generation on, so the
# table is dumped and decoded; a record that lies proves it: believed while its generation holds, ignored after.
. "$(dirname "$0")/lib.sh"
tw_require_root
bin=$1
export TLSWALL_STATE_DIR="$TW_TMP/state"
tw_netns rb; ns=$TW_NS
run() { ip netns exec "$ns" "$@"; }
generation() { run "$bin" show --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])'; }
# bump: a commit by someone else (the generation moves on, the table stays as it is)
bump() { run nft add table inet tw_bump && run nft delete table inet tw_bump; }
record=$TLSWALL_STATE_DIR/applied.json
# stamped: the generation the record's stamp names
stamped() {
	python3 -c 'import json, re, sys; print(re.search(r"generation=(\d+)", json.load(open(sys.argv[1]))["stamp"])[1])' \
		"$record"
}
# lie: the record, with a table comment the kernel does not hold (a new file: last-known-good may be a link to it)
lie() {
	python3 - "$record" <<'PY'
import json, os, sys
path = sys.argv[1]
r = json.load(open(path))
r["ruleset"]["comment"] = "a record that lies"
fd = os.open(path + ".lie", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, json.dumps(r).encode())
os.close(fd)
os.rename(path + ".lie", path)
PY
}

cat >"$TW_TMP/a.conf" <<'P'
version = 1;
sets = { office = [ "192.0.2.0/24", "2001:db8:1::/48" ]; };
services = (
  { service = "https"; },
  { service = "imaps"; from = [ "@office" ]; }
);
P
sed 's/{ service = "https"; },/{ service = "https"; },\n  { service = "pop3s"; },/' "$TW_TMP/a.conf" >"$TW_TMP/b.conf"
chmod 600 "$TW_TMP"/*.conf

# a table that stands for Docker's or libvirt's
run nft -f - <<'NFT'
table ip dockerlike {
	chain forward { type filter hook forward priority 0; policy drop; ct state established,related accept; iifname "docker0" accept; }
	chain input { type filter hook input priority 5; policy accept; tcp dport 2375 drop; }
}
NFT
foreign() { run nft list table ip dockerlike; }
foreign >"$TW_TMP/foreign.before"

run "$bin" -q -f "$TW_TMP/a.conf" apply || tw_fail "first apply failed"
[ -f "$record" ] || tw_fail "apply left no record of its commit"
g0=$(generation)
[ "$(stamped)" = "$g0" ] || tw_fail "the record names generation $(stamped), the kernel is at $g0"
# while the generation is the one the commit produced, the record stands for the kernel: a lie is believed
lie
out=$(run "$bin" -f "$TW_TMP/a.conf" diff); rc=$?
[ $rc -eq 2 ] || tw_fail "diff did not use the record while its generation holds (exit $rc): $out"
case $out in
*"a record that lies"*) ;;
*) tw_fail "diff from the record does not show the record's comment: $out" ;;
esac
# from here on the generation has moved on: the kernel is read, and the lie goes unheard
bump || tw_fail "could not commit in the namespace"
g1=$(generation)
[ "$g1" != "$g0" ] || tw_fail "the generation did not move on ($g0)"
out=$(run "$bin" -f "$TW_TMP/a.conf" diff); rc=$?
[ $rc -eq 0 ] || tw_fail "diff read back from the kernel exited $rc: $out"
out=$(run "$bin" -f "$TW_TMP/a.conf" apply); rc=$?
[ $rc -eq 0 ] || tw_fail "second apply exited $rc"
case $out in *"no changes"*) ;; *) tw_fail "second apply did not report no changes: $out" ;; esac
g2=$(generation)
[ "$g1" = "$g2" ] || tw_fail "second apply committed something (generation $g1 -> $g2)"

# the change, and only the change
run "$bin" -f "$TW_TMP/b.conf" diff --json >"$TW_TMP/d.json"; rc=$?
[ $rc -eq 2 ] || tw_fail "diff after a policy change exited $rc, expected 2"
python3 - "$TW_TMP/d.json" <<'PY' || tw_fail "diff --json did not report exactly the added service"
import json, sys
d = json.load(open(sys.argv[1]))
got = sorted((i["change"], i["object"], i.get("rule", ""), tuple(i.get("added", [])), tuple(i.get("removed", [])))
             for i in d["items"])
want = sorted([("chain_add", "svc.pop3s", "", (), ()),
               ("rule_add", "svc.pop3s", "counter accept", (), ()),
               ("elements", "services", "", ("tcp . 995 : jump svc.pop3s",), ()),
               ("elements", "published.tcp", "", ("995 : jump svc.pop3s",), ())])
if got != want:
    print("got", got, file=sys.stderr)
    sys.exit(1)
PY
out=$(run "$bin" -f "$TW_TMP/b.conf" diff)
echo "$out" | grep -q "^+[[:space:]]*tcp \. 995 : jump svc\.pop3s$" || tw_fail "text diff lacks the new map element: $out"
run "$bin" -q -f "$TW_TMP/b.conf" apply || tw_fail "apply of the change failed"
[ "$(stamped)" = "$(generation)" ] || tw_fail "apply of the change did not record its commit"
lie
bump || tw_fail "could not commit in the namespace"
run "$bin" -q -f "$TW_TMP/b.conf" diff || tw_fail "diff not empty after applying the change (read back)"

# a rule added by hand is kept in the model as foreign, shown, and removed by the next apply
run nft add rule inet tlswall input tcp dport 8080 accept
out=$(run "$bin" -f "$TW_TMP/b.conf" diff); rc=$?
[ $rc -eq 2 ] || tw_fail "diff did not notice the hand-added rule (exit $rc)"
echo "$out" | grep -q '^-.*dport 8080 accept.*not made by tlswall' || tw_fail "diff does not show the hand-added rule: $out"
out=$(run "$bin" -f "$TW_TMP/b.conf" show)
echo "$out" | grep -q 'holds a rule tlswall did not make' || tw_fail "show does not flag the hand-added rule"
run "$bin" -f "$TW_TMP/b.conf" diff --json | grep -q '"foreign": true' || tw_fail "diff --json does not mark the rule foreign"
run "$bin" -q -f "$TW_TMP/b.conf" apply 2>/dev/null || tw_fail "apply over a hand-added rule failed"
run nft list table inet tlswall | grep -q 'dport 8080' && tw_fail "the hand-added rule survived apply"

# the foreign table saw none of it
foreign >"$TW_TMP/foreign.mid"
cmp -s "$TW_TMP/foreign.before" "$TW_TMP/foreign.mid" || tw_fail "apply/diff changed the foreign table"
run "$bin" -q -f "$TW_TMP/b.conf" remove || tw_fail "remove failed"
run nft list tables | grep -q 'inet tlswall' && tw_fail "remove left the table"
foreign >"$TW_TMP/foreign.after"
cmp -s "$TW_TMP/foreign.before" "$TW_TMP/foreign.after" || tw_fail "remove changed the foreign table"
out=$(run "$bin" -f "$TW_TMP/b.conf" remove); rc=$?
[ $rc -eq 0 ] || tw_fail "remove of an absent table exited $rc"
tw_done
