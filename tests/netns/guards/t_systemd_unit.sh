#!/bin/sh
# the systemd unit, as `make` generates it and as the template reads with its placeholders filled in: it puts the
# firewall before the network, never stops it, and passes systemd-analyze verify (which fails a unit naming a
# binary that does not exist).
. "$(dirname "$0")/../guards_lib.sh"
bindir=$(dirname "$bin")
unit_checks() {
	u=$1
	for want in '^DefaultDependencies=no$' '^Before=(.* )?network-pre\.target( |$)' '^Wants=(.* )?network-pre\.target( |$)' \
		"^ExecStart=$bindir/tlswall apply --boot\$" "^ExecReload=$bindir/tlswall "; do
		grep -Eq "$want" "$u" || tw_fail "$u has no line matching $want"
	done
	grep -Eq '^[[:space:]]*ExecStop(Post)?=' "$u" && tw_fail "$u has an ExecStop (stopping must keep the rules)"
	grep -q '@[A-Z]*@' "$u" && tw_fail "$u has unsubstituted placeholders: $(grep '@[A-Z]*@' "$u")"
	if [ -n "$analyze" ]; then
		if ! out=$(timeout 60 systemd-analyze verify --man=no "$u" 2>&1); then
			tw_fail "systemd-analyze verify $u failed: $out"
		elif [ -n "$out" ]; then
			tw_fail "systemd-analyze verify $u complained: $out"
		fi
	fi
}
analyze=$(command -v systemd-analyze)
[ -n "$analyze" ] || echo "note: systemd-analyze is not installed; unit files checked by content only" >&2
# the unit `make` generates for this binary's directory (only the unit is built: no compiler needed)
if command -v make >/dev/null 2>&1; then
	mkdir -p "$T/unit-make"
	if make -s -C "$root" O="$T/unit-make" SBINDIR="$bindir" "$T/unit-make/tlswall.service" >"$T/make.log" 2>&1; then
		unit_checks "$T/unit-make/tlswall.service"
	else
		tw_fail "make could not generate the unit: $(cat "$T/make.log")"
	fi
fi
# the template with @SBINDIR@ (and the other placeholders) filled in by hand
mkdir -p "$T/unit-sed"
sed -e "s|@SBINDIR@|$bindir|g" -e 's|@SYSCONFDIR@|/etc|g' -e 's|@STATEDIR@|/var/lib/tlswall|g' \
	"$root/contrib/systemd/tlswall.service.in" >"$T/unit-sed/tlswall.service"
unit_checks "$T/unit-sed/tlswall.service"
# the check has teeth: a unit naming a binary that does not exist fails verification
if [ -n "$analyze" ]; then
	mkdir -p "$T/unit-bad"
	sed -e "s|@SBINDIR@|$T/no-such-dir|g" -e 's|@SYSCONFDIR@|/etc|g' -e 's|@STATEDIR@|/var/lib/tlswall|g' \
		"$root/contrib/systemd/tlswall.service.in" >"$T/unit-bad/tlswall.service"
	timeout 60 systemd-analyze verify --man=no "$T/unit-bad/tlswall.service" >/dev/null 2>&1 &&
		tw_fail "systemd-analyze verify accepted a unit whose ExecStart does not exist"
fi
tw_done
