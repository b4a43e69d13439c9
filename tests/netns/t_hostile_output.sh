#!/bin/sh
# What tlswall prints about a table someone else wrote into, in a namespace of its own: a rule added with nft whose
# comment holds a byte that is not UTF-8 and terminal escape sequences (clear the screen, set the window title).
#  1. show --json and diff --json keep that rule (its bad byte replaced by U+FFFD), with every key
#  2. show and diff print it escaped: no control character and no stray byte reaches the terminal
#  3. check --json of a policy whose list file has such lines counts as many diagnostics as errors
#  4. apply, which replaces the rule, names its chain printable in its warning
. "$(dirname "$0")/lib.sh"
tw_require_root
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tw_need python3
export TLSWALL_STATE_DIR="$TW_TMP/state"
T=$TW_TMP

tw_netns hostile
N=$TW_NS
tw_policy "$T/p.conf" <<'P'
version = 1;
services = ( { service = "https"; } );
P
tl() { timeout 30 ip netns exec "$N" "$bin" -f "$T/p.conf" "$@"; }
tl -q apply || tw_fail "apply failed"
printf 'add rule inet tlswall svc.https tcp dport 9999 accept comment "by hand \377 \033[2J\033]0;owned\007"\n' >"$T/rule.nft"
ip netns exec "$N" nft -f "$T/rule.nft" || tw_fail "nft could not add the hostile rule"

# 1.
tl show --json >"$T/show.json" 2>"$T/show.err" || tw_fail "show --json failed: $(cat "$T/show.err")"
tl diff --json >"$T/diff.json" 2>"$T/diff.err"
[ $? -eq 2 ] || tw_fail "diff --json did not report the difference: $(cat "$T/diff.err")"
python3 - "$T/show.json" "$T/diff.json" >"$T/json.out" 2>&1 <<'PY' || tw_fail "JSON: $(cat "$T/json.out")"
import json, sys
show = json.load(open(sys.argv[1]))
chain = [c for c in show["chains"] if c["name"] == "svc.https"][0]
foreign = [r for r in chain["rules"] if r["foreign"]]
assert len(chain["rules"]) == 2, "show --json lists %d rules in svc.https, not 2" % len(chain["rules"])
assert len(foreign) == 1, "show --json lists %d foreign rules" % len(foreign)
assert "by hand \ufffd \x1b[2J\x1b]0;owned\x07" in foreign[0]["text"], foreign[0]["text"]
diff = json.load(open(sys.argv[2]))
dels = [i for i in diff["items"] if i["change"] == "rule_delete"]
assert len(dels) == 1, "diff --json has %d rule_delete items" % len(dels)
for key in ("object", "position", "rule", "foreign", "handle"):
    assert key in dels[0], "the rule_delete item lacks %s: %r" % (key, dels[0])
assert "\ufffd" in dels[0]["rule"] and dels[0]["foreign"] is True, dels[0]
PY

# 2. (bytes a terminal acts on: C0 controls but tab and newline, DEL, and what is not UTF-8)
raw() { python3 -c '
import sys
b = open(sys.argv[1], "rb").read()
bad = [c for c in b if (c < 32 and c not in (9, 10)) or c == 127]
try:
    b.decode("utf-8")
except UnicodeDecodeError:
    bad.append(-1)
sys.exit(1 if bad else 0)' "$1"; }
tl show >"$T/show.txt" 2>&1 || tw_fail "show failed: $(cat "$T/show.txt")"
raw "$T/show.txt" || tw_fail "show printed raw control characters or bytes that are not UTF-8"
grep -qF 'comment "by hand \xff \x1b[2J\x1b]0;owned\x07" # not made by tlswall' "$T/show.txt" ||
	tw_fail "show does not print the foreign rule escaped: $(grep 9999 "$T/show.txt")"
tl diff >"$T/diff.txt" 2>&1
raw "$T/diff.txt" || tw_fail "diff printed raw control characters or bytes that are not UTF-8"
grep -qF 'comment "by hand \xff \x1b[2J\x1b]0;owned\x07"' "$T/diff.txt" ||
	tw_fail "diff does not print the foreign rule escaped: $(cat "$T/diff.txt")"

# 3.
printf '192.0.2.1\n10.0.0.1 \377\n\033[2J\n' >"$T/feed.txt"
cat >"$T/feed.conf" <<'P'
version = 1;
sets = { feed = { file = "feed.txt"; }; };
services = ( { service = "https"; from = [ "@feed" ]; } );
P
chmod 600 "$T/feed.conf" "$T/feed.txt"
"$bin" -f "$T/feed.conf" check --json >"$T/check.json" 2>&1
python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["errors"] == 2 and len(j["diagnostics"]) == 2, "errors %d, diagnostics %d" % (j["errors"], len(j["diagnostics"]))' \
	"$T/check.json" 2>"$T/check.out" || tw_fail "check --json: $(cat "$T/check.out")"
"$bin" -f "$T/feed.conf" check >"$T/check.txt" 2>&1
raw "$T/check.txt" || tw_fail "check printed raw control characters or bytes that are not UTF-8"

# 4. a foreign chain with an escape in its name (nft's JSON input takes any name) holds a rule apply removes
cat >"$T/chain.json" <<'J'
{"nftables": [{"add": {"chain": {"family": "inet", "table": "tlswall", "name": "x\u001b[2J"}}},
  {"add": {"rule": {"family": "inet", "table": "tlswall", "chain": "x\u001b[2J", "expr": [{"accept": null}]}}}]}
J
ip netns exec "$N" nft -j -f "$T/chain.json" || tw_fail "nft could not add the hostile chain"
tl apply >"$T/apply.txt" 2>&1 || tw_fail "apply failed: $(cat "$T/apply.txt")"
raw "$T/apply.txt" || tw_fail "apply printed raw control characters: $(cat -v "$T/apply.txt")"
grep -qF 'removing a rule in chain x\x1b[2J that tlswall did not make' "$T/apply.txt" ||
	tw_fail "apply does not name the chain escaped: $(cat -v "$T/apply.txt")"
tw_done
