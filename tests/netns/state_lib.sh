# Shared by the tests of what tlswall says about its table and its state directory (t_metrics.sh,
# t_status_json.sh, t_trail.sh): tlswall runs in one namespace, $N (the test makes it), with one state directory, $S.
# Source it from the test: it sources lib.sh. $bin is the release build (the test's first argument, made absolute),
# $T the test's temporary directory; $S is under it, so that lib.sh ends its rollback timers at exit.
. "$(dirname "$0")/lib.sh"
tw_require_root
tw_need python3 timeout pgrep
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
T=$TW_TMP
S=$T/state

# tl ARGS...: tlswall in $N with the state directory $S, bounded in time; ttl: the same with the test build ($TBIN,
# set by tw_test_bin)
tl() { timeout 60 ip netns exec "$N" "$bin" --state-dir "$S" "$@"; }
ttl() { timeout 60 ip netns exec "$N" "$TBIN" --state-dir "$S" "$@"; }
# sha POLICY: POLICY's ruleset hash as tlswall(8) defines it, computed by a script of the tests' own from what
# generate prints
sha() { "$bin" -f "$1" generate | python3 "$TW_LIB_DIR/table_sha256.py"; }
# generation: the ruleset generation of the table in $N, as show reports it
generation() { ip netns exec "$N" "$bin" show | sed -n 's/^# table inet tlswall, ruleset generation \([0-9]*\)$/\1/p'; }
