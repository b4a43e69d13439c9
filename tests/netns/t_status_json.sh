#!/bin/sh
# status --json, in a namespace of its own, through a life: no table; applied (last-known-good, previous "no table");
# a pending confirmation (its deadline is pending.json's, its timer the one apply named, alive, then killed); confirmed;
# a dormant table; a missing one; a damaged confirmation; a state directory that cannot be used. Every field is checked
# against what the kernel and the state directory hold. Usage: sh t_status_json.sh TLSWALL TEST_TLSWALL
. "$(dirname "$0")/state_lib.sh"
tw_test_bin "$@"
tw_netns status; N=$TW_NS
A=$T/a.conf
B=$T/b.conf
tw_policy "$A" <<'P'
version = 1;
services = ( { service = "https"; } );
P
tw_policy "$B" <<'P'
version = 1;
services = ( { service = "https"; }, { service = "imaps"; } );
P
HA=$(sha "$A")
HB=$(sha "$B")

# check WHAT RC PYTHON: status --json (the test build) exits RC and its output, as `s`, passes the assertions
# (python statements; `fail(msg)` reports)
check() {
	_what=$1 _rc=$2
	ttl status --json >"$T/s.json" 2>"$T/s.err"
	expect_rc "$_rc" $? "$_what: status --json" "$T/s.err"
	[ -s "$T/s.err" ] && tw_fail "$_what: status --json wrote to standard error: $(cat "$T/s.err")"
	python3 - "$T/s.json" "$3" >"$T/py.out" 2>&1 <<'PY' || tw_fail "$_what: $(cat "$T/py.out")"
import json, sys
s = json.load(open(sys.argv[1]))
errors = []
def fail(msg): errors.append(msg)
exec(sys.argv[2])
if list(s)[-1] != "schema" or s["schema"] != 1:
    fail("schema is not last, or not 1")
if errors:
    print("; ".join(errors) + "\n" + json.dumps(s, indent=1)[:3000])
    sys.exit(1)
PY
}

# no table, nothing saved
check "1: fresh" 0 '
keys = ["table", "ok", "now", "live", "live_error", "pending", "pending_damaged", "last_known_good", "previous",
        "events", "diagnostics", "schema"]
if list(s) != keys: fail("keys: %s" % list(s))
if s["table"] != "tlswall" or s["ok"] is not True: fail("table/ok")
if s["live"] != "missing" or s["live_error"] is not None: fail("live should be missing")
if s["pending"] is not None or s["pending_damaged"] is not None: fail("nothing is pending")
if s["last_known_good"] is not None or s["previous"] is not None: fail("nothing is saved")
if s["events"] != []: fail("no events yet")
'

# applied
T0=$(date +%s)
tl -q -f "$A" apply || tw_fail "2: apply A failed"
T1=$(date +%s)
check "2: applied" 0 "
if s['live'] != 'present': fail('live: ' + s['live'])
l = s['last_known_good']
if l != {'origin': '$A', 'table': 'tlswall', 'absent': False, 'sha256': '$HA', 'error': None}: fail('lkg: %s' % l)
p = s['previous']
if p is None or p['absent'] is not True or p['sha256'] is not None or p['table'] != 'tlswall': fail('previous: %s' % p)
e = s['events']
if len(e) != 1 or e[0]['event'] != 'applied' or not $T0 <= e[0]['time'] <= $T1: fail('events: %s' % e)
if ' sha256=$HA ' not in e[0]['text'] or ' policy=$A ' not in e[0]['text']: fail('event text: %s' % e[0]['text'])
"

# a pending confirmation
tl -f "$B" apply --confirm 120 >"$T/3.out" 2>&1 || tw_fail "3: apply --confirm failed: $(cat "$T/3.out")"
tp=$(sed -n 's/.*(rollback timer: pid \([0-9]*\)).*/\1/p' "$T/3.out")
check "3: pending" 0 "
pj = json.load(open('$S/pending.json'))
p = s['pending']
want = {'policy': '$B', 'table': 'tlswall', 'sha256': '$HB', 'applied_at': pj['applied_at'], 'deadline': pj['deadline'],
        'timer': {'pid': $tp, 'alive': True}, 'here': True, 'restore_failures': 0, 'restore_error': None}
got = {k: v for k, v in (p or {}).items() if k != 'seconds_left'}
if got != want: fail('pending: %s, expected %s' % (p, want))
if p and p['seconds_left'] != p['deadline'] - s['now']: fail('seconds_left is not deadline - now')
if p and not 0 < p['seconds_left'] <= 120: fail('seconds_left: %s' % p['seconds_left'])
if s['events'][-1]['event'] != 'applied' or ' confirm=120 ' not in s['events'][-1]['text']: fail('last event: %s' % s['events'][-1])
if s['previous']['sha256'] != '$HA': fail('previous is not A: %s' % s['previous'])
"
kill -9 "$tp" 2>/dev/null
wait_for 5 sh -c "! kill -0 $tp 2>/dev/null" || tw_fail "3: the timer did not die"
check "3: timer killed" 0 "
if s['pending']['timer'] != {'pid': $tp, 'alive': False}: fail('timer: %s' % s['pending']['timer'])
"
tl -q confirm || tw_fail "4: confirm failed"
check "4: confirmed" 0 "
if s['pending'] is not None: fail('still pending')
if s['events'][-1]['event'] != 'confirmed' or ' sha256=$HB ' not in s['events'][-1]['text']: fail('last event: %s' % s['events'][-1])
if s['last_known_good']['sha256'] != '$HB' or s['last_known_good']['origin'] != '$B': fail('lkg: %s' % s['last_known_good'])
"

# dormant, then missing
ip netns exec "$N" nft add table inet tlswall '{ flags dormant; }' || tw_fail "5: nft could not make the table dormant"
check "5: dormant" 0 "
if s['live'] != 'dormant': fail('live: ' + s['live'])
"
ip netns exec "$N" nft delete table inet tlswall || tw_fail "5: nft delete table failed"
check "5: missing" 0 "
if s['live'] != 'missing': fail('live: ' + s['live'])
"

# a damaged confirmation
printf '{"token": 3}' >"$S/pending.json"
chmod 600 "$S/pending.json"
check "6: damaged" 0 "
if s['pending'] is not None: fail('pending: %s' % s['pending'])
if s['pending_damaged'] != 'the pending confirmation $S/pending.json is damaged (it is not a confirmation tlswall wrote)':
    fail('pending_damaged: %s' % s['pending_damaged'])
"
rm -f "$S/pending.json"

# a state directory open to others: ok false, and why
chmod 0755 "$S"
check "7: state directory open to others" 1 "
if list(s) != ['table', 'ok', 'diagnostics', 'schema'] or s['ok'] is not False: fail('keys: %s' % list(s))
d = s['diagnostics']
if len(d) != 1 or d[0]['severity'] != 'error' or d[0]['message'] != 'state directory $S is open to group or others (mode 0755); chmod 700 it':
    fail('diagnostics: %s' % d)
"
chmod 0700 "$S"
tw_done
