#!/bin/sh
# Safe deployment against the real kernel, every scenario in a namespace (and a state directory) of its own:
#  1. apply --confirm not confirmed: after the deadline the rollback timer restores the previous table exactly
#  2. the same with the applying process SIGKILLed right after its commit
#  3. confirm in time: the change stays, and becomes last-known-good
#  4. apply --confirm where there was no table: without confirmation the table is removed again
#  5. rollback during a pending confirmation: the previous table at once, and no timer left
#  6. apply --boot: broken policy -> last-known-good; nothing known -> the emergency ruleset (= policies/default.conf);
#     valid policy -> that policy; a change still unconfirmed at "reboot" -> last-known-good (or, with none, the
#     emergency ruleset), not the change
#  7. the state directory: 0700/0600 whatever the umask; a directory that is a symlink (also when named with a
#     trailing slash), open to group/others, or owned by someone else is refused; a state file replaced by a symlink,
#     or open to others, is refused and not used
#  8. a write torn by SIGKILL leaves last-known-good whole and usable; applying the same policy again afterwards
#     makes it last-known-good
#  9. a relative state directory: the rollback timer must still find it
# 10. a commit the kernel refuses (TLSWALL_TEST_FAULT_AT) with --confirm: no timer, nothing pending, nothing
#     changed; a later successful apply leaves no temporary files
# 11. the rollback restores tlswall's table only: a table added meanwhile stays, a rule added by hand goes
# Scenarios 7b (trailing slash), 8b, 9 and 10 (temporary file) fail against tlswall 0.1.0 as of this writing: they
# are bugs, kept as failing assertions.
# Dumps are `nft list ruleset` compared byte for byte, and `nft -j list ruleset` compared with the kernel-assigned
# "handle" numbers left out (a restored object may get a new handle; nothing else may differ).
. "$(dirname "$0")/lib.sh"
tw_require_root
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tw_test_bin "$@"
root=$(cd "$(dirname "$0")/../.." && pwd)
for tool in python3 timeout pgrep; do
	command -v "$tool" >/dev/null 2>&1 && continue
	if [ -n "${CI:-}" ]; then echo "FAIL: $tool is not installed (scripts/deps.sh)" >&2; exit 1; fi
	echo "SKIP: $tool is not installed (scripts/deps.sh)" >&2
	exit 77
done
# the lockout guard must not judge this test by the session that runs it
unset SSH_CONNECTION TLSWALL_STATE_DIR TLSWALL_TEST_HANG_AFTER_COMMIT TLSWALL_TEST_WRITE_DELAY_MS \
	TLSWALL_TEST_PAUSE_FILE TLSWALL_TEST_FAULT_AT
T=$TW_TMP
# scenario 9's state directory is relative; its name is unique so that its timer can be found at cleanup
REL=twrel-$$-$(date +%s)

# Rollback timers are detached (their own session, reparented away from us) and outlive apply by design: end every
# one this test started, by PID, before the namespaces go.
kill_timers() {
	for pid in $(pgrep -f -- "--state-dir ($T|$REL)[^ ]* rollback-timer" 2>/dev/null); do
		kill -9 "$pid" 2>/dev/null
	done
}
trap 'kill_timers; tw_cleanup' EXIT
trap 'exit 129' HUP PIPE

START=$(date +%s)
step() { [ -n "${VERBOSE:-}" ] && echo "-- $(($(date +%s) - START))s: $*"; return 0; }

# tl NS STATEDIR ARGS...: tlswall inside NS with its own state directory, bounded in time; ttl: the test build
tl() {
	_ns=$1 _sd=$2
	shift 2
	TLSWALL_STATE_DIR=$_sd timeout 30 ip netns exec "$_ns" "$bin" "$@"
}
ttl() {
	_ns=$1 _sd=$2
	shift 2
	TLSWALL_STATE_DIR=$_sd timeout 60 ip netns exec "$_ns" "$TBIN" "$@"
}
# dump NS FILE: the namespace's whole ruleset, as text (FILE.txt) and JSON (FILE.json)
dump() {
	ip netns exec "$1" nft list ruleset >"$2.txt" || tw_fail "nft list ruleset failed in $1"
	ip netns exec "$1" nft -j list ruleset >"$2.json" || tw_fail "nft -j list ruleset failed in $1"
}
json_same() {
	python3 - "$1" "$2" <<'PY'
import json, sys
def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items() if k != "handle"}
    if isinstance(o, list):
        return [strip(v) for v in o]
    return o
a, b = (strip(json.load(open(f))) for f in sys.argv[1:3])
sys.exit(0 if a == b else 1)
PY
}
# live_is NS FILE: the live ruleset is the one dumped to FILE.{txt,json}
live_is() {
	dump "$1" "$T/now-$1"
	cmp -s "$2.txt" "$T/now-$1.txt" && json_same "$2.json" "$T/now-$1.json"
}
live_diff() { diff "$2.txt" "$T/now-$1.txt" | head -n 12; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# wait_for SECONDS CMD...: CMD every 0.1 s until it succeeds; false if it has not within SECONDS of wall-clock time
wait_for() {
	_end=$(($(now_ms) + $1 * 1000))
	shift
	while :; do
		"$@" && return 0
		[ "$(now_ms)" -lt "$_end" ] || return 1
		sleep 0.1
	done
}
# before MS: true while less than MS milliseconds have passed since $T0 (taken just before an apply --confirm).
# A check made in that window saw the ruleset before the deadline could possibly have passed; on a machine too
# loaded to get there in time the check is skipped (and said so), never failed.
before() {
	[ $(($(now_ms) - T0)) -lt "$1" ] && return 0
	echo "note: $2: too slow to look before the deadline; not checked" >&2
	return 1
}
gone() { [ ! -e "/proc/$1" ]; }
# timers DIR: PIDs of rollback timers working on state directory DIR
timers() { pgrep -f -- "--state-dir $1 rollback-timer"; }
no_timers() { [ -z "$(timers "$1")" ]; }
# timer_pid FILE: the PID apply --confirm printed ("rollback timer: pid N")
timer_pid() { sed -n 's/.*(rollback timer: pid \([0-9]*\)).*/\1/p' "$1" | head -n 1; }
# has FILE TEXT WHAT: FILE contains TEXT, else a failure about WHAT
has() { grep -qF -- "$2" "$1" || tw_fail "$3: expected \"$2\" in: $(cat "$1")"; }
hasnt() { if grep -qF -- "$2" "$1"; then tw_fail "$3: did not expect \"$2\" in: $(cat "$1")"; fi; }

# ---- policies (absolute paths: status and the snapshots name them)
A=$T/a.conf
B=$T/b.conf
C=$T/c.conf
BROKEN=$T/broken.conf
cat >"$A" <<'P'
version = 1;
policy  = "reject";
sets = { office = [ "192.0.2.0/24", "2001:db8:1::/48" ]; };
services = (
  { service = "https"; },
  { service = "imaps"; from = [ "@office" ]; }
);
exemptions = (
  { name = "ssh"; port = 22; proto = "tcp"; from = [ "@office" ]; reason = "management from the office"; }
);
P
cat >"$B" <<'P'
version = 1;
policy  = "drop";
services = (
  { service = "https"; },
  { service = "pop3s"; },
  { name = "admin"; port = 8443; tls = true; }
);
P
# C: ~20,000 separate CIDRs (none adjacent, so none merge): its snapshot is hundreds of KB
python3 -c '
for i in range(20000):
    print("10.%d.%d.0/25" % (i // 256, i % 256))' >"$T/big.txt"
cat >"$C" <<'P'
version = 1;
sets = { big = { file = "big.txt"; }; };
deny = [ "@big" ];
services = ( { service = "https"; }, { service = "ldaps"; } );
P
# plaintext service without an exemption: rejected by validation
cat >"$BROKEN" <<'P'
version = 1;
services = ( { service = "http"; } );
P
chmod 600 "$T"/*.conf "$T/big.txt"
for p in "$A" "$B" "$C"; do
	"$bin" -q -f "$p" check >/dev/null || tw_fail "test policy $p does not check"
done
"$bin" -q -f "$BROKEN" check >/dev/null 2>&1 && tw_fail "the broken test policy checks"

# reference dumps: each policy alone in a fresh namespace
tw_netns ref
REF=$TW_NS
dump "$REF" "$T/empty"
for p in a b; do
	tl "$REF" "$T/ref-state-$p" -q -f "$T/$p.conf" apply || tw_fail "reference apply of $p.conf failed"
	dump "$REF" "$T/ref-$p"
	tl "$REF" "$T/ref-state-$p" -q remove || tw_fail "reference remove failed"
done
# the emergency ruleset as `nft -f` loads what `generate` prints for the shipped default policy
"$bin" -f "$root/policies/default.conf" generate >"$T/default.nft" || tw_fail "generate of policies/default.conf failed"
ip netns exec "$REF" nft -f "$T/default.nft" || tw_fail "nft -f of the generated default policy failed"
dump "$REF" "$T/ref-default"
ip netns exec "$REF" nft flush ruleset

# confirm_apply NS STATEDIR POLICY SECONDS OUT: apply --confirm (T0 taken just before), checking it started a timer
# visible in ps
confirm_apply() {
	T0=$(now_ms)
	if ! tl "$1" "$2" -f "$3" apply --confirm "$4" >"$5" 2>&1; then
		tw_fail "apply --confirm $4 of $3 failed: $(cat "$5")"
		return 1
	fi
	_tp=$(timer_pid "$5")
	_args=$(ps -o args= -p "$_tp" 2>/dev/null)
	if [ -z "$_tp" ]; then
		tw_fail "apply --confirm did not name its rollback timer: $(cat "$5")"
	elif before $(($4 * 1000 - 100)) "timer in ps"; then
		case $_args in
		*"--state-dir $2 rollback-timer "*) ;;
		*) tw_fail "the rollback timer (pid $_tp) is not visible in ps as tlswall ... rollback-timer (ps: '$_args')" ;;
		esac
	fi
	return 0
}
# same PREFIX1 PREFIX2: two saved dumps are the same ruleset
same() { cmp -s "$1.txt" "$2.txt" && json_same "$1.json" "$2.json"; }

# ---- 1. not confirmed: the timer restores A exactly
step "1. unconfirmed change rolls back"
tw_netns s1; N=$TW_NS; S=$T/state1
tl "$N" "$S" -q -f "$A" apply || tw_fail "1: apply A failed"
dump "$N" "$T/s1-A"
same "$T/s1-A" "$T/ref-a" || tw_fail "1: A applied is not the reference dump of A"
confirm_apply "$N" "$S" "$B" 2 "$T/s1.out"
dump "$N" "$T/s1-B"
tl "$N" "$S" status >"$T/s1.status" 2>&1
if before 1900 "1: B live and status pending"; then
	same "$T/s1-B" "$T/ref-b" || tw_fail "1: B is not live right after apply --confirm: $(diff "$T/ref-b.txt" "$T/s1-B.txt" | head)"
	has "$T/s1.status" "confirmation pending: $B applied to table inet tlswall" "1: status while pending"
	has "$T/s1.status" " left, then it rolls back" "1: status while pending" # "1 second left" on a slow machine
fi
has "$T/s1.out" 'run "tlswall confirm" within 2 seconds' "1: apply --confirm output"
if wait_for 6 live_is "$N" "$T/s1-A"; then
	tw_ok "1: rolled back to A"
else
	tw_fail "1: 6 s after apply --confirm 2 the live ruleset is not A: $(live_diff "$N" "$T/s1-A")"
fi
[ $(($(now_ms) - T0)) -ge 1900 ] || tw_fail "1: rolled back after only $(($(now_ms) - T0)) ms, before the deadline"
tl "$N" "$S" status >"$T/s1.status2" 2>&1
has "$T/s1.status2" "confirmation pending: no" "1: status after the rollback"
has "$T/s1.status2" "not confirmed within 2 seconds: rolled back" "1: status events after the rollback"
wait_for 2 no_timers "$S" || tw_fail "1: a rollback timer is still running: $(timers "$S")"
[ -e "$S/pending.json" ] && tw_fail "1: pending.json left behind"
[ -e "$S/candidate.json" ] && tw_fail "1: candidate.json left behind"

# ---- 2. the applying process is SIGKILLed right after its commit
step "2. SIGKILL after commit"
tw_netns s2; N=$TW_NS; S=$T/state2
tl "$N" "$S" -q -f "$A" apply || tw_fail "2: apply A failed"
dump "$N" "$T/s2-A"
# no `timeout` wrapper: $! must be tlswall itself (ip netns exec execs it)
T0=$(now_ms)
TLSWALL_STATE_DIR=$S TLSWALL_TEST_HANG_AFTER_COMMIT=1 ip netns exec "$N" "$TBIN" -f "$B" apply --confirm 2 \
	>"$T/s2.out" 2>&1 &
pid=$!
TW_PIDS="$TW_PIDS $pid"
hanging() { grep -q "test hook: committed, now hanging" "$T/s2.out"; }
if wait_for 10 hanging; then
	dump "$N" "$T/s2-B"
	tps=$(timers "$S")
	if before 1900 "2: B live while apply hangs"; then
		same "$T/s2-B" "$T/ref-b" || tw_fail "2: B is not live while apply hangs after its commit"
		[ -n "$tps" ] || tw_fail "2: no rollback timer while the commit stands"
	fi
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = tlswall ] || tw_fail "2: pid $pid is not tlswall"
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	if wait_for 6 live_is "$N" "$T/s2-A"; then
		tw_ok "2: rolled back to A after SIGKILL"
	else
		tw_fail "2: the timer did not roll back to A after apply was killed: $(live_diff "$N" "$T/s2-A")"
	fi
	[ $(($(now_ms) - T0)) -ge 1900 ] || tw_fail "2: rolled back before the deadline"
	tl "$N" "$S" status >"$T/s2.status" 2>&1
	has "$T/s2.status" "confirmation pending: no" "2: status after the rollback"
	wait_for 2 no_timers "$S" || tw_fail "2: a rollback timer is still running: $(timers "$S")"
else
	tw_fail "2: apply never reached the hang-after-commit hook: $(cat "$T/s2.out")"
	kill -9 "$pid" 2>/dev/null
fi

# ---- 3. confirmed in time: B stays and becomes last-known-good (3 s, so that a loaded machine confirms in time)
step "3. confirm"
tw_netns s3; N=$TW_NS; S=$T/state3
tl "$N" "$S" -q -f "$A" apply || tw_fail "3: apply A failed"
confirm_apply "$N" "$S" "$B" 3 "$T/s3.out"
tp=$(timer_pid "$T/s3.out")
tl "$N" "$S" confirm >"$T/s3.confirm" 2>&1 || tw_fail "3: confirm failed: $(cat "$T/s3.confirm")"
[ $(($(now_ms) - T0)) -lt 3000 ] || echo "note: 3: confirm came $(($(now_ms) - T0)) ms after apply" >&2
has "$T/s3.confirm" "confirmed $B; it is now the last-known-good ruleset" "3: confirm output"
wait_for 2 no_timers "$S" || tw_fail "3: the rollback timer (pid $tp) still runs after confirm"
# well past the deadline
while [ $(($(now_ms) - T0)) -lt 4500 ]; do sleep 0.2; done
live_is "$N" "$T/ref-b" || tw_fail "3: the confirmed B did not stay: $(live_diff "$N" "$T/ref-b")"
tl "$N" "$S" status >"$T/s3.status" 2>&1
has "$T/s3.status" "confirmation pending: no" "3: status after confirm"
has "$T/s3.status" "last-known-good: $B (table inet tlswall)" "3: status after confirm"
out=$(tl "$N" "$S" confirm 2>&1) && tw_fail "3: a second confirm succeeded: $out"
case $out in *"nothing to confirm"*) ;; *) tw_fail "3: second confirm: $out" ;; esac

# ---- 4. --confirm where no table existed: unconfirmed, the table goes away
step "4. no previous table"
tw_netns s4; N=$TW_NS; S=$T/state4
dump "$N" "$T/s4-empty"
same "$T/s4-empty" "$T/empty" || tw_fail "4: a fresh namespace has a ruleset"
confirm_apply "$N" "$S" "$B" 2 "$T/s4.out"
dump "$N" "$T/s4-B"
if before 1900 "4: B live"; then
	same "$T/s4-B" "$T/ref-b" || tw_fail "4: B is not live after apply --confirm"
fi
if wait_for 6 live_is "$N" "$T/s4-empty"; then
	tw_ok "4: table removed"
else
	tw_fail "4: without confirmation the table is still there: $(live_diff "$N" "$T/s4-empty")"
fi
ip netns exec "$N" nft list tables | grep -q 'inet tlswall' && tw_fail "4: table inet tlswall still exists"
tl "$N" "$S" status >"$T/s4.status" 2>&1
has "$T/s4.status" "confirmation pending: no" "4: status"
wait_for 2 no_timers "$S" || tw_fail "4: a rollback timer is still running"

# ---- 5. rollback during a pending confirmation
step "5. rollback"
tw_netns s5; N=$TW_NS; S=$T/state5
tl "$N" "$S" -q -f "$A" apply || tw_fail "5: apply A failed"
dump "$N" "$T/s5-A"
confirm_apply "$N" "$S" "$B" 30 "$T/s5.out"
tp=$(timer_pid "$T/s5.out")
tl "$N" "$S" status >"$T/s5.status" 2>&1
has "$T/s5.status" "rollback timer: pid $tp" "5: status while pending"
tl "$N" "$S" rollback >"$T/s5.rb" 2>&1 || tw_fail "5: rollback failed: $(cat "$T/s5.rb")"
has "$T/s5.rb" "rolled back to the ruleset before the last apply" "5: rollback output"
live_is "$N" "$T/s5-A" || tw_fail "5: rollback did not restore A at once: $(live_diff "$N" "$T/s5-A")"
wait_for 2 no_timers "$S" || tw_fail "5: the rollback timer (pid $tp) survived rollback"
tl "$N" "$S" status >"$T/s5.status2" 2>&1
has "$T/s5.status2" "confirmation pending: no" "5: status after rollback"
has "$T/s5.status2" "last-known-good: $A (table inet tlswall)" "5: status after rollback"
tl "$N" "$S" -q -f "$B" apply || tw_fail "5: a plain apply after the rollback failed"

# ---- 6. apply --boot
step "6. boot"
tw_netns s6; N=$TW_NS; S=$T/state6
# 6a. broken policy, last-known-good A (host "rebooted": empty ruleset)
tl "$N" "$S" -q -f "$A" apply || tw_fail "6a: apply A failed"
dump "$N" "$T/s6-A"
ip netns exec "$N" nft flush ruleset
tl "$N" "$S" -f "$BROKEN" apply --boot >"$T/s6a.out" 2>&1
rc=$?
[ $rc -ne 0 ] || tw_fail "6a: boot with a broken policy exited 0"
has "$T/s6a.out" "is missing or invalid" "6a: boot output"
has "$T/s6a.out" "applying the last-known-good ruleset" "6a: boot output"
live_is "$N" "$T/s6-A" || tw_fail "6a: live is not last-known-good A: $(live_diff "$N" "$T/s6-A")"
# 6b. broken policy, fresh empty state directory: the emergency ruleset
ip netns exec "$N" nft flush ruleset
tl "$N" "$T/state6b" -f "$BROKEN" apply --boot >"$T/s6b.out" 2>&1
rc=$?
[ $rc -ne 0 ] || tw_fail "6b: boot with a broken policy and no state exited 0"
has "$T/s6b.out" "applying the emergency ruleset" "6b: boot output"
tl "$N" "$T/state6b" -q -f "$root/policies/default.conf" diff >/dev/null 2>&1 ||
	tw_fail "6b: the emergency ruleset differs from policies/default.conf (diff exit $?)"
live_is "$N" "$T/ref-default" ||
	tw_fail "6b: the emergency ruleset is not what the generated default policy loads: $(live_diff "$N" "$T/ref-default")"
# same with a policy file that does not exist at all
ip netns exec "$N" nft flush ruleset
tl "$N" "$T/state6b2" -f "$T/no-such.conf" apply --boot >"$T/s6b2.out" 2>&1 && tw_fail "6b: boot with no policy exited 0"
live_is "$N" "$T/ref-default" || tw_fail "6b: missing policy did not give the emergency ruleset"
# 6c. a valid policy: exit 0, it is live, and it is last-known-good now
tl "$N" "$S" -f "$B" apply --boot >"$T/s6c.out" 2>&1 || tw_fail "6c: boot with a valid policy failed: $(cat "$T/s6c.out")"
has "$T/s6c.out" "boot: applied $B to table inet tlswall" "6c: boot output"
live_is "$N" "$T/ref-b" || tw_fail "6c: the valid policy is not live: $(live_diff "$N" "$T/ref-b")"
tl "$N" "$S" status >"$T/s6c.status" 2>&1
has "$T/s6c.status" "last-known-good: $B (table inet tlswall)" "6c: status"
# 6d. a change pending at "reboot" is not trusted: last-known-good (A), not the unconfirmed B
tw_netns s6d; N=$TW_NS; S=$T/state6d
tl "$N" "$S" -q -f "$A" apply || tw_fail "6d: apply A failed"
dump "$N" "$T/s6d-A"
confirm_apply "$N" "$S" "$B" 60 "$T/s6d.out"
tp=$(timer_pid "$T/s6d.out")
[ -n "$tp" ] && kill -9 "$tp" # the machine went down: no timer survives a reboot
wait_for 2 no_timers "$S" || tw_fail "6d: the timer did not die"
ip netns exec "$N" nft flush ruleset
# the killed timer is reaped by whoever is PID 1 here; until then it is a zombie with the same start time
if wait_for 5 gone "$tp"; then
	tl "$N" "$S" status >"$T/s6d.status" 2>&1
	has "$T/s6d.status" "the rollback timer (pid $tp) is not running" "6d: status with a dead timer"
else
	echo "note: 6d: the killed timer $tp was not reaped within 5 s; status not checked" >&2
fi
tl "$N" "$S" -f "$B" apply --boot >"$T/s6d.boot" 2>&1
rc=$?
[ $rc -ne 0 ] || tw_fail "6d: boot over an unconfirmed change exited 0"
has "$T/s6d.boot" "a change was still waiting for confirmation" "6d: boot output"
has "$T/s6d.boot" "applying the last-known-good ruleset" "6d: boot output"
live_is "$N" "$T/s6d-A" || tw_fail "6d: boot did not apply last-known-good A: $(live_diff "$N" "$T/s6d-A")"
tl "$N" "$S" status >"$T/s6d.status2" 2>&1
has "$T/s6d.status2" "confirmation pending: no" "6d: status after boot"
has "$T/s6d.status2" "last-known-good: $A (table inet tlswall)" "6d: status after boot"

# 6e. the same with no last-known-good at all (the first change ever was the unconfirmed one): its predecessor was no
# table, which is never applied; the emergency ruleset would be stricter than both and shut out what the policy
# opens (SSH, say): the policy on disk, valid, comes up
tw_netns s6e; N=$TW_NS; S=$T/state6e
confirm_apply "$N" "$S" "$B" 60 "$T/s6e.out"
tp=$(timer_pid "$T/s6e.out")
[ -n "$tp" ] && kill -9 "$tp"
wait_for 2 no_timers "$S" || tw_fail "6e: the timer did not die"
ip netns exec "$N" nft flush ruleset
tl "$N" "$S" -f "$B" apply --boot >"$T/s6e.boot" 2>&1 && tw_fail "6e: boot over an unconfirmed first change exited 0"
has "$T/s6e.boot" "a change was still waiting for confirmation" "6e: boot output"
has "$T/s6e.boot" "it was the first: applying the policy $B" "6e: boot output"
live_is "$N" "$T/ref-b" || tw_fail "6e: boot did not apply the valid policy: $(live_diff "$N" "$T/ref-b")"
# and with that policy broken too: the emergency ruleset
tw_netns s6e2; N=$TW_NS; S=$T/state6e2
confirm_apply "$N" "$S" "$B" 60 "$T/s6e2.out"
tp=$(timer_pid "$T/s6e2.out")
[ -n "$tp" ] && kill -9 "$tp"
wait_for 2 no_timers "$S" || tw_fail "6e: the timer did not die"
ip netns exec "$N" nft flush ruleset
tl "$N" "$S" -f "$BROKEN" apply --boot >"$T/s6e2.boot" 2>&1 && tw_fail "6e: boot over an unconfirmed first change exited 0"
has "$T/s6e2.boot" "applying the emergency ruleset" "6e: boot output (broken policy)"
live_is "$N" "$T/ref-default" || tw_fail "6e: boot did not apply the emergency ruleset: $(live_diff "$N" "$T/ref-default")"

# ---- 7. the state directory
step "7. state directory"
tw_netns s7; N=$TW_NS
# 7a. created 0700, files 0600, even with umask 000
S=$T/state7/new
mkdir -m 700 "$T/state7"
(
	umask 000
	tl "$N" "$S" -q -f "$A" apply && tl "$N" "$S" -q -f "$B" apply --confirm 30 >/dev/null
) || tw_fail "7a: applies with umask 000 failed"
[ "$(stat -c %a "$S" 2>/dev/null)" = 700 ] || tw_fail "7a: state directory mode $(stat -c %a "$S" 2>/dev/null), expected 700"
nfiles=0
for f in "$S"/* "$S"/.[!.]*; do
	[ -e "$f" ] || [ -L "$f" ] || continue
	nfiles=$((nfiles + 1))
	if [ -L "$f" ] || [ ! -f "$f" ]; then tw_fail "7a: $f is not a regular file"; fi
	m=$(stat -c %a "$f")
	[ "$m" = 600 ] || tw_fail "7a: $(basename "$f") has mode $m, expected 600"
done
for f in previous.json last-known-good.json candidate.json pending.json; do
	[ -f "$S/$f" ] || tw_fail "7a: $f missing"
done
tl "$N" "$S" -q rollback || tw_fail "7a: rollback failed"
wait_for 2 no_timers "$S" || tw_fail "7a: timer survived rollback"
ip netns exec "$N" nft list ruleset >"$T/s7-before.txt"
# 7b. the state directory is a symlink: refused, nothing applied, nothing written through it
mkdir -m 700 "$T/s7real"
ln -s "$T/s7real" "$T/s7link"
out=$(tl "$N" "$T/s7link" -f "$B" apply 2>&1) && tw_fail "7b: apply with a symlinked state directory succeeded"
case $out in *"it is a symbolic link"*) ;; *) tw_fail "7b: no clear message: $out" ;; esac
out=$(tl "$N" "$T/s7link" status 2>&1) && tw_fail "7b: status with a symlinked state directory succeeded"
[ -z "$(ls -A "$T/s7real")" ] || tw_fail "7b: files were written through the symlink: $(ls -A "$T/s7real")"
ip netns exec "$N" nft list ruleset | cmp -s - "$T/s7-before.txt" || tw_fail "7b: the ruleset changed"
# the same directory named with a trailing slash (TLSWALL_STATE_DIR=/var/lib/tlswall/ is a natural way to write it)
out=$(tl "$N" "$T/s7link/" -f "$B" apply 2>&1)
rc=$?
if [ $rc -eq 0 ] || [ -n "$(ls -A "$T/s7real")" ]; then
	tw_fail "7b: the symlinked state directory named with a trailing slash ($T/s7link/) was followed: apply" \
		"exited $rc, and wrote $(ls -A "$T/s7real" | tr '\n' ' ')into the directory it points to"
fi
tl "$N" "$T/state7/new" -q -f "$A" apply 2>/dev/null # back to A whatever happened above
ip netns exec "$N" nft list ruleset >"$T/s7-before.txt"
# 7c. mode 0755: refused
mkdir -m 755 "$T/s7open"
out=$(tl "$N" "$T/s7open" -f "$B" apply 2>&1) && tw_fail "7c: apply with a 0755 state directory succeeded"
case $out in *"open to group or others (mode 0755)"*) ;; *) tw_fail "7c: no clear message: $out" ;; esac
ip netns exec "$N" nft list ruleset | cmp -s - "$T/s7-before.txt" || tw_fail "7c: the ruleset changed"
[ -z "$(ls -A "$T/s7open")" ] || tw_fail "7c: files were written into the 0755 directory: $(ls -A "$T/s7open")"
# 7d. last-known-good.json replaced by a symlink to a file elsewhere (a valid snapshot of B): refused, not followed
S=$T/state7d
tl "$N" "$S" -q -f "$B" apply || tw_fail "7d: apply B failed"
cp "$S/last-known-good.json" "$T/elsewhere.json"
cp "$T/elsewhere.json" "$T/elsewhere.orig"
tl "$N" "$S" -q -f "$A" apply || tw_fail "7d: apply A failed"
ln -sf "$T/elsewhere.json" "$S/last-known-good.json"
tl "$N" "$S" status >"$T/s7d.status" 2>&1
has "$T/s7d.status" "last-known-good: unreadable: cannot open $S/last-known-good.json: it is a symbolic link" "7d: status"
ip netns exec "$N" nft flush ruleset
tl "$N" "$S" -f "$BROKEN" apply --boot >"$T/s7d.boot" 2>&1 && tw_fail "7d: boot with a broken policy exited 0"
has "$T/s7d.boot" "last-known-good.json: it is a symbolic link" "7d: boot output"
has "$T/s7d.boot" "applying the emergency ruleset" "7d: boot output"
live_is "$N" "$T/ref-default" || tw_fail "7d: boot did not fall back to the emergency ruleset: $(live_diff "$N" "$T/ref-default")"
live_is "$N" "$T/ref-b" && tw_fail "7d: boot followed the symlinked last-known-good"
# a write replaces the symlink itself; the file it pointed to is untouched
tl "$N" "$S" -q -f "$A" apply || tw_fail "7d: apply A over a symlinked last-known-good failed"
[ -L "$S/last-known-good.json" ] && tw_fail "7d: last-known-good.json is still a symlink after apply"
cmp -s "$T/elsewhere.json" "$T/elsewhere.orig" || tw_fail "7d: the symlink's target was written"
tl "$N" "$S" status >"$T/s7d.status2" 2>&1
has "$T/s7d.status2" "last-known-good: $A (table inet tlswall)" "7d: status after apply"
# previous.json as a symlink: rollback refuses it
ln -sf "$T/elsewhere.json" "$S/previous.json"
ip netns exec "$N" nft list ruleset >"$T/s7-before.txt"
out=$(tl "$N" "$S" rollback 2>&1) && tw_fail "7d: rollback followed a symlinked previous.json"
case $out in *"previous.json: it is a symbolic link"*) ;; *) tw_fail "7d: rollback message: $out" ;; esac
ip netns exec "$N" nft list ruleset | cmp -s - "$T/s7-before.txt" || tw_fail "7d: rollback changed the ruleset"
cmp -s "$T/elsewhere.json" "$T/elsewhere.orig" || tw_fail "7d: the symlink's target was written"

# 7e. a state directory owned by someone else: refused
mkdir -m 700 "$T/s7other"
chown 65534 "$T/s7other"
out=$(tl "$N" "$T/s7other" -f "$B" apply 2>&1) && tw_fail "7e: apply with a state directory owned by uid 65534 succeeded"
case $out in *"is owned by uid 65534"*) ;; *) tw_fail "7e: no clear message: $out" ;; esac
# 7f. a state file open to others: refused, not used
S=$T/state7f
tl "$N" "$S" -q -f "$B" apply || tw_fail "7f: apply B failed"
chmod 644 "$S/last-known-good.json"
tl "$N" "$S" status >"$T/s7f.status" 2>&1
has "$T/s7f.status" "last-known-good: unreadable: refusing $S/last-known-good.json: not a regular file of uid 0 with mode 0600" "7f: status"
ip netns exec "$N" nft flush ruleset
tl "$N" "$S" -f "$BROKEN" apply --boot >"$T/s7f.boot" 2>&1 && tw_fail "7f: boot with a broken policy exited 0"
has "$T/s7f.boot" "applying the emergency ruleset" "7f: boot output"
live_is "$N" "$T/ref-default" || tw_fail "7f: boot used a last-known-good file open to others"

# ---- 8. a state write torn by SIGKILL
step "8. torn write"
# torn NS STATEDIR: applies C slowly (300 ms after every 64 KiB a state file write puts out), and SIGKILLs it in the
# middle of the first large write after its commit: last-known-good.json.tmp, or applied.json.tmp (the record of the
# commit, which last-known-good is then made a second name of)
torn() {
	TLSWALL_STATE_DIR=$2 TLSWALL_TEST_WRITE_DELAY_MS=300 ip netns exec "$1" "$TBIN" -f "$C" apply >"$T/torn.out" 2>&1 &
	_pid=$!
	TW_PIDS="$TW_PIDS $_pid"
	tmp_of_c() {
		for _f in "$2/last-known-good.json.tmp" "$2/applied.json.tmp"; do
			[ -s "$_f" ] && TORN=$_f && return 0
		done
		return 1
	}
	if wait_for 20 tmp_of_c "$1" "$2"; then
		kill -9 "$_pid"
		wait "$_pid" 2>/dev/null
		[ -e "$TORN" ] || tw_fail "8: apply finished writing $TORN before it was killed"
		_size=$(stat -c %s "$TORN" 2>/dev/null || echo 0)
		[ "$_size" -lt 200000 ] || tw_fail "8: the torn $TORN is not torn ($_size bytes)"
	else
		tw_fail "8: no large state file write was seen: $(cat "$T/torn.out")"
		kill -9 "$_pid" 2>/dev/null
		wait "$_pid" 2>/dev/null
	fi
}
tw_netns s8; N=$TW_NS; S=$T/state8
tl "$N" "$S" -q -f "$A" apply || tw_fail "8: apply A failed"
dump "$N" "$T/s8-A"
torn "$N" "$S"
tl "$N" "$S" -q -f "$C" diff >/dev/null 2>&1 || tw_fail "8: C was not committed before the kill"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$S/last-known-good.json" ||
	tw_fail "8: last-known-good.json is not whole JSON"
tl "$N" "$S" status >"$T/s8.status" 2>&1
has "$T/s8.status" "last-known-good: $A (table inet tlswall)" "8: status after the torn write"
tl "$N" "$S" -f "$BROKEN" apply --boot >"$T/s8.boot" 2>&1 && tw_fail "8: boot with a broken policy exited 0"
has "$T/s8.boot" "applying the last-known-good ruleset" "8: boot output"
live_is "$N" "$T/s8-A" || tw_fail "8: boot did not restore A: $(live_diff "$N" "$T/s8-A")"
tl "$N" "$S" -q -f "$C" apply || tw_fail "8: apply C failed"
tl "$N" "$S" status >"$T/s8.status2" 2>&1
has "$T/s8.status2" "last-known-good: $C (table inet tlswall)" "8: status after applying C"
for f in "$S"/*.tmp; do [ -e "$f" ] && tw_fail "8: $f is still there after a complete apply"; done
sz=$(stat -c %s "$S/last-known-good.json")
[ "$sz" -gt 200000 ] || tw_fail "8: last-known-good.json of C is only $sz bytes"
# 8b. after the same torn write, running the same apply again (what anyone would do) must leave last-known-good = C
tw_netns s8b; N=$TW_NS; S=$T/state8b
tl "$N" "$S" -q -f "$A" apply || tw_fail "8b: apply A failed"
torn "$N" "$S"
tl "$N" "$S" -f "$C" apply >"$T/s8b.out" 2>&1 || tw_fail "8b: apply C again failed: $(cat "$T/s8b.out")"
tl "$N" "$S" status >"$T/s8b.status" 2>&1
has "$T/s8b.status" "last-known-good: $C (table inet tlswall)" \
	"8b: C applied without --confirm and apply exited 0 ($(cat "$T/s8b.out")), yet last-known-good"

# ---- 9. a relative state directory
step "9. relative state directory"
tw_netns s9; N=$TW_NS
if [ -e "/$REL" ]; then
	echo "note: /$REL exists; scenario 9 skipped" >&2
else
	mkdir -m 700 "$T/$REL"
	cd "$T" || exit 1
	tl "$N" "$REL/state" -q -f "$A" apply || tw_fail "9: apply A failed"
	dump "$N" "$T/s9-A"
	tl "$N" "$REL/state" -q -f "$B" apply --confirm 2 >/dev/null || tw_fail "9: apply --confirm failed"
	live_is "$N" "$T/ref-b" || tw_fail "9: B is not live"
	if ! wait_for 6 live_is "$N" "$T/s9-A"; then
		tl "$N" "$REL/state" status >"$T/s9.status" 2>&1
		tw_fail "9: with a relative state directory ($REL/state) the unconfirmed change was never rolled back" \
			"($(head -n 3 "$T/s9.status" | tr '\n' ' '))"
	fi
	cd / || exit 1
	[ -e "/$REL" ] && tw_fail "9: the rollback timer created /$REL"
fi

# ---- 10. a commit the kernel refuses (test hook TLSWALL_TEST_FAULT_AT): with --confirm the timer and the pending
# change go with it; a retry that succeeds leaves no temporary file in the state directory
step "10. refused commit"
tw_netns s10; N=$TW_NS; S=$T/state10
tl "$N" "$S" -q -f "$A" apply || tw_fail "10: apply A failed"
dump "$N" "$T/s10-A"
TLSWALL_TEST_FAULT_AT=2 ttl "$N" "$S" -f "$B" apply --confirm 30 >"$T/s10.out" 2>&1
rc=$?
[ $rc -eq 1 ] || tw_fail "10: apply --confirm with a refused commit exited $rc, expected 1: $(cat "$T/s10.out")"
has "$T/s10.out" "the kernel refused the transaction; nothing was applied" "10: refused commit"
live_is "$N" "$T/s10-A" || tw_fail "10: a refused commit changed the ruleset: $(live_diff "$N" "$T/s10-A")"
wait_for 2 no_timers "$S" || tw_fail "10: the rollback timer of a refused commit still runs: $(timers "$S")"
[ -e "$S/pending.json" ] && tw_fail "10: pending.json left after a refused commit"
[ -e "$S/candidate.json" ] && tw_fail "10: candidate.json left after a refused commit"
tl "$N" "$S" status >"$T/s10.status" 2>&1
has "$T/s10.status" "confirmation pending: no" "10: status after a refused commit"
TLSWALL_TEST_FAULT_AT=2 ttl "$N" "$S" -q -f "$B" apply >/dev/null 2>&1 && tw_fail "10: a second faulty apply succeeded"
tl "$N" "$S" -q -f "$B" apply || tw_fail "10: apply B after the refused commits failed"
live_is "$N" "$T/ref-b" || tw_fail "10: B is not live"
left=$(for f in "$S"/*.tmp; do [ -e "$f" ] && basename "$f"; done)
[ -z "$left" ] || tw_fail "10: after a successful apply the state directory still holds: $left ($(ls -li "$S" | tr '\n' ';'))"

# ---- 11. the rollback is of tlswall's table alone: a table another program adds meanwhile stays, and a rule added
# by hand to tlswall's table meanwhile goes
step "11. rollback next to other tables"
tw_netns s11; N=$TW_NS; S=$T/state11
tl "$N" "$S" -q -f "$A" apply || tw_fail "11: apply A failed"
ip netns exec "$N" nft list table inet tlswall >"$T/s11-A.table"
confirm_apply "$N" "$S" "$B" 2 "$T/s11.out"
ip netns exec "$N" nft -f - <<'NFT' || tw_fail "11: could not add the other table"
table ip other {
	chain FORWARD {
		type filter hook forward priority 0; policy accept;
		iifname "docker0" counter accept
	}
}
NFT
ip netns exec "$N" nft add rule inet tlswall input tcp dport 9999 accept || tw_fail "11: could not add a rule by hand"
ip netns exec "$N" nft list table ip other >"$T/s11-other.table"
tlswall_is_a() { ip netns exec "$N" nft list table inet tlswall 2>/dev/null | cmp -s - "$T/s11-A.table"; }
if wait_for 6 tlswall_is_a; then
	tw_ok "11: tlswall's table rolled back"
else
	tw_fail "11: table inet tlswall is not A again: $(ip netns exec "$N" nft list table inet tlswall |
		diff "$T/s11-A.table" - | head)"
fi
ip netns exec "$N" nft list table ip other | cmp -s - "$T/s11-other.table" || tw_fail "11: the rollback changed table ip other"
wait_for 2 no_timers "$S" || tw_fail "11: a rollback timer is still running"

step "done"
tw_done
