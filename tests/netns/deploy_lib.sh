# Shared by the safe-deployment cases, tests/netns/deploy/t_*.sh (source it from there: paths are found from the
# case file's directory). Each case runs in namespaces and a state directory of its own, and ends every rollback
# timer it started. Rulesets are compared as `nft list ruleset` byte for byte, and as `nft -j list ruleset` with
# the kernel-assigned "handle" numbers left out (a restored object may get a new handle; nothing else may differ).
TW_NAME="deploy/$(basename "$0")"
. "$(dirname "$0")/../lib.sh"
tw_require_root
tw_need python3 timeout pgrep
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
# $TBIN: the test build, the only one with the test hooks (TLSWALL_TEST_*); ttl runs it
tw_test_bin "$@"
root=$(cd "$(dirname "$0")/../../.." && pwd)
T=$TW_TMP

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
# same PREFIX1 PREFIX2: two saved dumps are the same ruleset
same() { cmp -s "$1.txt" "$2.txt" && json_same "$1.json" "$2.json"; }
# live_is NS FILE: the live ruleset is the one dumped to FILE.{txt,json}; live_diff: how it differs, for messages
live_is() {
	dump "$1" "$T/now-$1"
	same "$2" "$T/now-$1"
}
live_diff() { diff "$2.txt" "$T/now-$1.txt" | head -n 12; }
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

# ---- policies (absolute paths: status and the snapshots name them)
A=$T/a.conf
B=$T/b.conf
C=$T/c.conf
BROKEN=$T/broken.conf
tw_policy "$A" <<'P'
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
tw_policy "$B" <<'P'
version = 1;
policy  = "drop";
services = (
  { service = "https"; },
  { service = "pop3s"; },
  { name = "admin"; port = 8443; tls = true; }
);
P
# plaintext service without an exemption: rejected by validation
cat >"$BROKEN" <<'P'
version = 1;
services = ( { service = "http"; } );
P
chmod 600 "$BROKEN"
"$bin" -q -f "$BROKEN" check >/dev/null 2>&1 && tw_fail "the broken test policy checks"

# big_policy: C, ~20,000 separate CIDRs (none adjacent, so none merge): its snapshot is hundreds of KB
big_policy() {
	python3 -c '
for i in range(20000):
    print("10.%d.%d.0/25" % (i // 256, i % 256))' >"$T/big.txt"
	chmod 600 "$T/big.txt"
	tw_policy "$C" <<'P'
version = 1;
sets = { big = { file = "big.txt"; }; };
deny = [ "@big" ];
services = ( { service = "https"; }, { service = "ldaps"; } );
P
}

# ref WHAT: $T/ref-WHAT.{txt,json}, the ruleset of a fresh namespace that holds only WHAT: a or b (policy A or B
# applied), default (what `nft -f` loads of the script `generate` prints for policies/default.conf: the emergency
# ruleset), or empty
ref() {
	[ -e "$T/ref-$1.txt" ] && return 0
	if [ -z "${REF_NS:-}" ]; then
		_ns=${TW_NS:-}
		tw_netns ref
		REF_NS=$TW_NS
		TW_NS=$_ns
	fi
	case $1 in
	a | b)
		tl "$REF_NS" "$T/ref-state-$1" -q -f "$T/$1.conf" apply || tw_fail "reference apply of $1.conf failed"
		dump "$REF_NS" "$T/ref-$1"
		tl "$REF_NS" "$T/ref-state-$1" -q remove || tw_fail "reference remove failed"
		;;
	default)
		"$bin" -f "$root/policies/default.conf" generate >"$T/default.nft" ||
			tw_fail "generate of policies/default.conf failed"
		ip netns exec "$REF_NS" nft -f "$T/default.nft" || tw_fail "nft -f of the generated default policy failed"
		dump "$REF_NS" "$T/ref-default"
		ip netns exec "$REF_NS" nft flush ruleset
		;;
	empty)
		dump "$REF_NS" "$T/ref-empty"
		;;
	esac
}

# torn NS STATEDIR: applies the big policy C slowly (test hook TLSWALL_TEST_WRITE_DELAY_MS: 300 ms after every
# 64 KiB a state file write puts out), and SIGKILLs it in the middle of the first large write after its commit:
# last-known-good.json.tmp, or applied.json.tmp (the record of the commit, which last-known-good is then made a second
# name of). TORN is the file it was writing. (big_policy first.)
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
		[ -e "$TORN" ] || tw_fail "apply finished writing $TORN before it was killed"
		_size=$(stat -c %s "$TORN" 2>/dev/null || echo 0)
		[ "$_size" -lt 200000 ] || tw_fail "the torn $TORN is not torn ($_size bytes)"
	else
		tw_fail "no large state file write was seen: $(cat "$T/torn.out")"
		kill -9 "$_pid" 2>/dev/null
		wait "$_pid" 2>/dev/null
	fi
}
