#!/bin/sh
# The audit trail through syslog(3): apply, apply --confirm and confirm, the rollback timer, rollback by hand, the
# lockout guard's refusal, a failed apply, boot's fallback and remove each send one message, with its facility and
# level, naming the policy, the ruleset hash (as table_sha256.py computes it from generate's output), the ruleset
# generation (as show reports it), the change and who made it. The messages are read from a /dev/log of the
# test's own: a unix datagram socket, laid over /dev in a private mount namespace (the host's /dev is untouched).
# events.log holds the same lines: one path. Usage: sh t_trail.sh TLSWALL [TEST_TLSWALL]
. "$(dirname "$0")/state_lib.sh"
tw_need unshare

# ---- the syslog daemon: one line per datagram (a newline inside one would be shown as \n)
cat >"$T/syslogd.py" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], "ab", buffering=0) as out:
    open(sys.argv[3], "w").close()
    while True:
        m = s.recv(65536)
        out.write(m.rstrip(b"\n").replace(b"\n", b"\\n") + b"\n")
PY
: >"$T/syslog"
tw_bg timeout 600 python3 "$T/syslogd.py" "$T/log.sock" "$T/syslog" "$T/ready"
wait_for 10 test -e "$T/ready" || { tw_fail "the test syslog daemon did not start"; tw_done; }

# logns CMD...: CMD in a private mount namespace whose /dev holds the host's entries (as symbolic links to them,
# through a bind mount of the real /dev) and a /dev/log that is the test's socket. The rollback timer apply --confirm
# starts inherits it.
mkdir "$T/realdev"
cat >"$T/logns.sh" <<'SH'
set -e
mount --make-rprivate /
mount --rbind /dev "$TW_LOGNS/realdev"
mount -t tmpfs -o mode=0755,size=64k tw-dev /dev
for f in "$TW_LOGNS"/realdev/* "$TW_LOGNS"/realdev/.[!.]*; do
	[ -e "$f" ] || [ -L "$f" ] || continue
	[ "${f##*/}" = log ] || ln -s "$f" "/dev/${f##*/}"
done
ln -s "$TW_LOGNS/log.sock" /dev/log
exec "$@"
SH
tw_netns host; N=$TW_NS
# tl ARGS...: tlswall in the namespace, logging to the test's socket
tl() { TW_LOGNS=$T timeout 60 unshare -m sh "$T/logns.sh" ip netns exec "$N" "$bin" --state-dir "$S" "$@"; }

# ---- policies
A=$T/a.conf
B=$T/b.conf
BROKEN=$T/broken.conf
tw_policy "$A" <<'P'
version = 1;
sets = { office = [ "192.0.2.0/24" ]; };
services = ( { service = "https"; } );
exemptions = ( { name = "ssh"; port = 22; proto = "tcp"; from = [ "@office" ]; reason = "management"; } );
P
tw_policy "$B" <<'P'
version = 1;
services = ( { service = "https"; }, { service = "imaps"; } );
P
printf 'version = 1;\nservices = ( { service = "http"; } );\n' >"$BROKEN"
chmod 600 "$BROKEN"
HA=$(sha "$A")
HB=$(sha "$B")
[ ${#HA} -eq 64 ] && [ "$HA" != "$HB" ] || tw_fail "the reference hashes are wrong: $HA $HB"
# who the kernel says is logged in (pam_loginuid), as by= names it
login=$(cat /proc/self/loginuid 2>/dev/null || echo 4294967295)
if [ "$login" = 4294967295 ]; then
	by_login=""
else
	by_login=" login=$login($(getent passwd "$login" | cut -d: -f1))"
fi
root_by="uid=0($(getent passwd 0 | cut -d: -f1))$by_login"

# expect PRI WHAT REGEX: the next message (in order: nothing may come in between) has priority PRI (facility daemon:
# 29 notice, 28 warning, 27 error) and a text after "tlswall[PID]: " that matches REGEX (an extended regex, anchored);
# it may take up to 15 s to arrive
seen=0
next_is() {
	tail -n +$((seen + 1)) "$T/syslog" | head -n 1 |
		grep -qE "^<$1>[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} tlswall\[[0-9]+\]: $2\$"
}
expect() {
	if wait_for 15 next_is "$1" "$3"; then
		seen=$((seen + 1))
		tw_ok "$2"
	else
		tw_fail "$2: the next message is not <$1> matching: $3; the test's syslog holds from there:
$(tail -n +$((seen + 1)) "$T/syslog")"
		seen=$(wc -l <"$T/syslog")
	fi
}
q() { printf '%s' "$1" | sed 's/[].[^$*+?(){}|\\/]/\\&/g'; }

# 1. apply, over an SSH session from the office, under sudo
SSH_CONNECTION="192.0.2.7 51234 10.0.0.1 22" SUDO_USER=tw-admin tl -f "$A" apply >"$T/1.out" 2>&1 ||
	tw_fail "1: apply A failed: $(cat "$T/1.out")"
G=$(generation)
expect 29 "1: apply" "applied via=apply policy=$(q "$A") table=tlswall generation=$G sha256=$HA change=\"new table, \+[0-9]+ chains, \+[0-9]+ sets?, \+[0-9]+ rules\" by=\"$(q "$root_by") sudo=tw-admin ssh=192\.0\.2\.7\""

# 2. apply --confirm, then confirm
tl -f "$B" apply --confirm 60 >"$T/2.out" 2>&1 || tw_fail "2: apply --confirm of B failed: $(cat "$T/2.out")"
tp=$(sed -n 's/.*(rollback timer: pid \([0-9]*\)).*/\1/p' "$T/2.out")
G=$(generation)
expect 29 "2: apply --confirm" "applied via=apply policy=$(q "$B") table=tlswall generation=$G sha256=$HB change=\"[^\"]*\" confirm=60 deadline=[0-9T:+-]+ timer_pid=$tp by=\"$(q "$root_by")\""
tl confirm >"$T/2c.out" 2>&1 || tw_fail "2: confirm failed: $(cat "$T/2c.out")"
expect 29 "2: confirm" "confirmed via=confirm policy=$(q "$B") table=tlswall sha256=$HB applied_at=[0-9]+ by=\"$(q "$root_by")\""

# 3. the rollback timer: A applied with --confirm 2, not confirmed; B comes back
tl -f "$A" apply --confirm 2 >"$T/3.out" 2>&1 || tw_fail "3: apply --confirm 2 of A failed: $(cat "$T/3.out")"
expect 29 "3: apply --confirm 2" "applied via=apply policy=$(q "$A") .* confirm=2 .*"
expect 28 "3: the timer's rollback" "rolled_back via=\"rollback timer\" reason=\"not confirmed within 2 seconds\" unconfirmed=$(q "$A") unconfirmed_sha256=$HA restored=\"[^\"]*, restored from previous\.json\" table=tlswall generation=[0-9]+ sha256=$HB change=\"[^\"]*\" by=\"$(q "$root_by")\""
G=$(generation)
grep -q " rolled_back via=\"rollback timer\" .* generation=$G " "$S/events.log" ||
	tw_fail "3: the timer's generation is not the live one ($G): $(tail -n 1 "$S/events.log")"

# 4. rollback by hand
tl -f "$A" apply --confirm 60 >"$T/4.out" 2>&1 || tw_fail "4: apply --confirm of A failed: $(cat "$T/4.out")"
expect 29 "4: apply --confirm" "applied via=apply policy=$(q "$A") .*"
tl rollback >"$T/4r.out" 2>&1 || tw_fail "4: rollback failed: $(cat "$T/4r.out")"
G=$(generation)
expect 29 "4: rollback" "rolled_back via=rollback unconfirmed=$(q "$A") unconfirmed_sha256=$HA restored=\"[^\"]*\" table=tlswall generation=$G sha256=$HB change=\"[^\"]*\" by=\"$(q "$root_by")\""

# 5. the lockout guard's refusal: A opens SSH to the office, B does not
tl -q -f "$A" apply >"$T/5a.out" 2>&1 || tw_fail "5: apply A failed: $(cat "$T/5a.out")"
expect 29 "5: apply A" "applied via=apply policy=$(q "$A") .*"
SSH_CONNECTION="192.0.2.7 51234 10.0.0.1 22" tl -f "$B" apply >"$T/5.out" 2>&1
expect_rc 3 $? "5: apply cutting the SSH session" "$T/5.out"
expect 28 "5: refusal" "refused via=apply policy=$(q "$B") table=tlswall sha256=$HB reason=\"refusing: the new policy would drop new connections from 192\.0\.2\.7 to port 22/tcp, which this SSH session uses \(SSH_CONNECTION\): no entry of the policy opens 22/tcp\" by=\"$(q "$root_by") ssh=192\.0\.2\.7\""

# 6. a failed apply (the policy has an error): to syslog, not to events.log (no state directory was opened)
tl -f "$BROKEN" apply >"$T/6.out" 2>&1
expect_rc 1 $? "6: apply of a broken policy" "$T/6.out"
expect 27 "6: apply failed" "apply_failed via=apply policy=$(q "$BROKEN") reason=\"$(q "$BROKEN"):2: service "'\\"http\\"'" \(80/tcp\) is plaintext .*\" by=\"$(q "$root_by")\""

# 7. boot with the broken policy: last-known-good (A) instead
tl -f "$BROKEN" apply --boot >"$T/7.out" 2>&1
expect_rc 1 $? "7: apply --boot of a broken policy" "$T/7.out"
expect 28 "7: boot's fallback" "fallback via=boot reason=\"the policy $(q "$BROKEN") is missing or invalid \(1 error\)\" policy=$(q "$BROKEN") installed=\"the last-known-good ruleset \($(q "$A")\)\" table=tlswall generation=[0-9]+ sha256=$HA change=\"none: the kernel already held it\" by=\"$(q "$root_by")\""

# 8. remove
tl -f "$A" remove >"$T/8.out" 2>&1 || tw_fail "8: remove failed: $(cat "$T/8.out")"
expect 28 "8: remove" "removed via=remove table=tlswall generation=[0-9]+ sha256=none change=\"table deleted\" by=\"$(q "$root_by")\""

# one path: every line of events.log is a message of the trail, and every message but the failed apply's (6) is in
# events.log
sed 's/^[^ ]* //' "$S/events.log" | sort >"$T/events.txt"
sed -n 's/^<[0-9]*>.\{15\} tlswall\[[0-9]*\]: //p' "$T/syslog" | grep -v '^apply_failed via=apply ' | sort >"$T/messages.txt"
cmp -s "$T/events.txt" "$T/messages.txt" ||
	tw_fail "events.log and syslog disagree: $(diff "$T/events.txt" "$T/messages.txt" | head -n 10)"
[ "$(wc -l <"$T/events.txt")" -eq 11 ] || tw_fail "events.log holds $(wc -l <"$T/events.txt") lines, not 11: $(cat "$S/events.log")"
# nothing leaked into the host's mount namespace
[ "$(readlink /dev/log 2>/dev/null)" = "$T/log.sock" ] && tw_fail "the test's /dev/log is the host's"
mountpoint -q "$T/realdev" && tw_fail "the host's /dev is mounted on $T/realdev outside the test's namespace"
tw_kill_timers
tw_done
