#!/bin/sh
# Living beside Debian's nftables.service, against the real kernel and the real unit files:
#  1. the units: systemd-analyze verify of nftables.service, tlswall.service and tlswall-reapply.service together,
#     linked as "systemctl enable tlswall" links them; the settings that order and propagate; a cycle is caught
#  2. with nftables.service enabled and Debian's stock /etc/nftables.conf, apply and check --live warn with FILE:LINE
#  3. nftables.service's ExecStart, run in the namespace, deletes the table; status says it is missing and who did it;
#     tlswall-reapply.service's ExecStart and ExecReload put the same table back
#  4. an include, a drop-in that clears ExecStop, a commented flush, a disabled or masked unit, an ifupdown hook
# Usage: tests/netns/t_nftables_service.sh TLSWALL [TEST_TLSWALL]
# Steps 2-4 run in a private mount namespace with an overlay on /etc: every change to /etc there (enabling units,
# writing /etc/nftables.conf) is thrown away with the namespace, and the host's /etc is never written.
. "$(dirname "$0")/lib.sh"
tw_require_root
# the sanitizer build when run.sh gives it (undefined behaviour fails the test), else the one given
b=${2:-$1}
[ "$b" = --inner ] && b=$1
bin=$(cd "$(dirname "$b")" && pwd)/$(basename "$b")
root=$(cd "$(dirname "$0")/../.." && pwd)
T=$TW_TMP

# Debian 12's nftables.service and /etc/nftables.conf, as the nftables package ships them (used when the package's
# own unit is not installed; the stock configuration is always written, so its line numbers are known)
debian_unit() {
	cat <<'EOF'
[Unit]
Description=nftables
Documentation=man:nft(8) http://wiki.nftables.org
Wants=network-pre.target
Before=network-pre.target shutdown.target
Conflicts=shutdown.target
DefaultDependencies=no

[Service]
Type=oneshot
RemainAfterExit=yes
StandardInput=null
ProtectSystem=full
ProtectHome=true
ExecStart=/usr/sbin/nft -f /etc/nftables.conf
ExecReload=/usr/sbin/nft -f /etc/nftables.conf
ExecStop=/usr/sbin/nft flush ruleset

[Install]
WantedBy=sysinit.target
EOF
}
debian_conf() {
	cat <<'EOF'
#!/usr/sbin/nft -f

flush ruleset

table inet filter {
	chain input {
		type filter hook input priority filter;
	}
	chain forward {
		type filter hook forward priority filter;
	}
	chain output {
		type filter hook output priority filter;
	}
}
EOF
}
# unit_gen UNIT DIR STATEDIR: the unit as make generates it, for this binary
unit_gen() {
	sed -e "s|@SBINDIR@|$(dirname "$bin")|g" -e 's|@SYSCONFDIR@|/etc|g' -e "s|@STATEDIR@|$3|g" \
		"$root/contrib/systemd/$1.in" >"$2/$1"
}
nft_unit=/usr/lib/systemd/system/nftables.service
[ -f "$nft_unit" ] || nft_unit=/lib/systemd/system/nftables.service

if [ "${2:-}" != --inner ]; then
	tw_need systemd-analyze systemctl unshare nft

	# ---- 1. the units, linked as "systemctl enable" links them, verified together
	U=$T/units
	mkdir -p "$U/usr/lib/systemd/system" "$U/etc/systemd/system"
	if [ -f "$nft_unit" ]; then cp "$nft_unit" "$U/usr/lib/systemd/system/"; else debian_unit >"$U/usr/lib/systemd/system/nftables.service"; fi
	for u in tlswall.service tlswall-reapply.service; do unit_gen "$u" "$U/usr/lib/systemd/system" /var/lib/tlswall; done
	systemctl --root="$U" enable tlswall.service nftables.service >"$T/enable.out" 2>&1 || tw_fail "1: systemctl enable: $(cat "$T/enable.out")"
	for link in sysinit.target.wants/tlswall.service nftables.service.wants/tlswall-reapply.service \
		sysinit.target.wants/nftables.service; do
		[ -L "$U/etc/systemd/system/$link" ] || tw_fail "1: systemctl enable tlswall made no $link: $(cat "$T/enable.out")"
	done
	[ "$(systemctl --root="$U" is-enabled tlswall-reapply.service)" = enabled ] || tw_fail "1: Also= did not enable tlswall-reapply.service"
	# verify reads a unit's .wants next to it: one directory holds the units and the links enabling makes
	V=$T/verify
	mkdir -p "$V/nftables.service.wants" "$V/sysinit.target.wants"
	cp "$U/usr/lib/systemd/system/"*.service "$V/"
	ln -s ../tlswall-reapply.service "$V/nftables.service.wants/"
	ln -s ../tlswall.service ../nftables.service "$V/sysinit.target.wants/"
	if ! out=$(cd "$V" && timeout 60 systemd-analyze verify --man=no ./nftables.service ./tlswall.service ./tlswall-reapply.service 2>&1); then
		tw_fail "1: systemd-analyze verify failed: $out"
	elif [ -n "$out" ]; then
		tw_fail "1: systemd-analyze verify complained: $out"
	fi
	r=$V/tlswall-reapply.service
	t=$V/tlswall.service
	for want in "$t:^After=(.* )?nftables\\.service( |\$)" "$t:^TimeoutStartSec=" "$t:^Also=tlswall-reapply\\.service\$" \
		"$r:^After=(.* )?nftables\\.service( |\$)" "$r:^After=(.* )?tlswall\\.service( |\$)" \
		"$r:^PartOf=nftables\\.service\$" "$r:^ReloadPropagatedFrom=nftables\\.service\$" \
		"$r:^WantedBy=nftables\\.service\$" "$r:^ExecStart=-$(dirname "$bin")/tlswall apply --boot\$" \
		"$r:^ExecReload=-$(dirname "$bin")/tlswall apply --boot\$" "$r:^TimeoutStartSec="; do
		grep -Eq "${want#*:}" "${want%%:*}" || tw_fail "1: $(basename "${want%%:*}") has no line matching ${want#*:}"
	done
	grep -Eq '^[[:space:]]*ExecStop' "$r" && tw_fail "1: tlswall-reapply.service must not have an ExecStop (PartOf= stops it with nftables.service)"
	# the check has teeth: tlswall-reapply.service ordered before nftables.service is a cycle verify reports
	sed 's/^PartOf=/Before=nftables.service\nPartOf=/' "$r" >"$T/cycle.service" && cp "$T/cycle.service" "$r"
	(cd "$V" && timeout 60 systemd-analyze verify --man=no ./nftables.service ./tlswall-reapply.service >"$T/cycle.out" 2>&1)
	grep -q "ordering cycle" "$T/cycle.out" || tw_fail "1: verify did not report an ordering cycle: $(cat "$T/cycle.out")"

	# ---- 2-4 in a mount namespace of their own, with the network namespace made here
	tw_netns host
	unshare -m --propagation private sh "$0" "$bin" --inner "$TW_NS" "$T"
	rc=$?
	[ $rc -eq 77 ] && exit 77
	[ $rc -eq 0 ] || tw_fail "2-4: $rc failure(s) in the private mount namespace"
	tw_done
	exit
fi

# ---- inside the private mount namespace
N=$3
T=$4
mkdir -p "$T/etc-upper" "$T/etc-work"
if ! mount -t overlay overlay -o "lowerdir=/etc,upperdir=$T/etc-upper,workdir=$T/etc-work" /etc 2>"$T/mount.err"; then
	if [ -n "${CI:-}" ]; then echo "FAIL: cannot lay an overlay on /etc: $(cat "$T/mount.err")" >&2; exit 1; fi
	echo "SKIP: cannot lay an overlay on /etc: $(cat "$T/mount.err")" >&2
	exit 77
fi
S=$T/state
tl() { TLSWALL_STATE_DIR=$S timeout 30 ip netns exec "$N" "$bin" "$@"; }
# a clean host: nothing enabled, no interface hooks (all of it only in the overlay)
rm -f /etc/systemd/system/*.wants/* /etc/systemd/system/*.requires/* /etc/rc.local /etc/network/interfaces
for d in /etc/network/if-*.d /etc/network/interfaces.d /etc/NetworkManager/dispatcher.d /etc/ppp/ip-up.d; do
	[ -d "$d" ] && find "$d" -mindepth 1 -delete
done
if [ ! -f "$nft_unit" ]; then
	nft_unit=/etc/systemd/system/nftables.service
	debian_unit >"$nft_unit"
fi
debian_conf >/etc/nftables.conf
# the policy where the units look for it
mkdir -p /etc/tlswall
install -m 600 "$root/policies/default.conf" /etc/tlswall/tlswall.conf
start_line=$(grep -n '^ExecStart=' "$nft_unit" | cut -d: -f1)
stop_line=$(grep -n '^ExecStop=' "$nft_unit" | cut -d: -f1)
w_conf="/etc/nftables.conf:3: warning: \"flush ruleset\" deletes table inet tlswall whenever nftables.service starts, restarts or reloads (loaded by $nft_unit:$start_line)"
w_stop="$nft_unit:$stop_line: warning: \"flush ruleset\" deletes table inet tlswall whenever nftables.service restarts or stops"
n_enable='tlswall: note: "systemctl enable tlswall" orders tlswall after nftables.service at boot and enables tlswall-reapply.service, which applies the policy again after nftables.service starts, restarts or reloads'
n_enabled='tlswall: note: tlswall-reapply.service is enabled: it applies the policy again after nftables.service starts, restarts or reloads'

# baseline: nothing flushes
tl check --live >"$T/0.out" 2>&1
expect_rc 0 $? "0: check --live on a clean host" "$T/0.out"
hasnt "$T/0.out" "table inet tlswall whenever" "0: a clean host"

# ---- 2. nftables.service enabled, Debian's /etc/nftables.conf
systemctl --root=/ enable nftables.service >/dev/null 2>&1
[ -L /etc/systemd/system/sysinit.target.wants/nftables.service ] || tw_fail "2: systemctl enable nftables.service made no link"
tl apply >"$T/2a.out" 2>"$T/2a.err"
expect_rc 0 $? "2a: apply" "$T/2a.err"
has "$T/2a.err" "$w_conf" "2a: apply warns about /etc/nftables.conf"
has "$T/2a.err" "$w_stop" "2a: apply warns about ExecStop"
has "$T/2a.err" "$n_enable" "2a: apply says what puts the table back"
has "$T/2a.out" "tlswall: applied" "2a: apply applied"
tl check --live >"$T/2b.out" 2>&1
expect_rc 0 $? "2b: check --live" "$T/2b.out"
has "$T/2b.out" "$w_conf" "2b: check --live warns about /etc/nftables.conf"
has "$T/2b.out" "$w_stop" "2b: check --live warns about ExecStop"
ip netns exec "$N" nft -s list table inet tlswall >"$T/applied.nft" 2>&1 || tw_fail "2: no table after apply"
tl status >"$T/2d.out" 2>&1
has "$T/2d.out" "live table: table inet tlswall" "2d: status with the table in place"
hasnt "$T/2d.out" "WARNING" "2d: status with the table in place"

# ---- 3. what nftables.service runs deletes the table; status says so; tlswall-reapply.service puts it back
nft_start=$(sed -n 's/^ExecStart=//p' "$nft_unit")
ip netns exec "$N" sh -c "$nft_start" || tw_fail "3: $nft_start failed"
ip netns exec "$N" nft list tables >"$T/3a.tables"
has "$T/3a.tables" "table inet filter" "3a: nftables.service loaded its table"
hasnt "$T/3a.tables" "table inet tlswall" "3a: nftables.service's flush"
tl status >"$T/3b.out" 2>&1
expect_rc 0 $? "3b: status" "$T/3b.out"
has "$T/3b.out" "live table: WARNING: table inet tlswall is missing: tlswall filters nothing; \"tlswall apply\" puts it back" "3b: status"
has "$T/3b.out" "$w_conf" "3b: status names the flush"
# "systemctl enable tlswall", with units generated for this binary and this state directory
for u in tlswall.service tlswall-reapply.service; do unit_gen "$u" /etc/systemd/system "$S"; done
systemctl --root=/ enable tlswall.service >/dev/null 2>&1
[ -L /etc/systemd/system/nftables.service.wants/tlswall-reapply.service ] || tw_fail "3: enabling tlswall did not enable tlswall-reapply.service"
tl status >"$T/3c.out" 2>&1
has "$T/3c.out" "$n_enabled" "3c: status knows tlswall-reapply.service is enabled"
hasnt "$T/3c.out" "$n_enable" "3c: no advice to enable what is enabled"
# nftables.service's ExecReload (on Debian the same command as its ExecStart), then what systemd runs next for
# tlswall-reapply.service: ExecStart after a start or restart, ExecReload after a reload
for key in ExecStart ExecReload; do
	cmd=$(sed -n "s/^$key=-//p" /etc/systemd/system/tlswall-reapply.service)
	env=$(sed -n 's/^Environment=//p' /etc/systemd/system/tlswall-reapply.service)
	ip netns exec "$N" sh -c "$(sed -n 's/^ExecReload=//p' "$nft_unit")" || tw_fail "3: nftables.service's ExecReload failed"
	ip netns exec "$N" nft list tables | grep -q "table inet tlswall" && tw_fail "3: $key: the reload left the table"
	ip netns exec "$N" env "$env" sh -c "$cmd" >"$T/3d.out" 2>&1 || tw_fail "3: tlswall-reapply.service $key failed: $(cat "$T/3d.out")"
	ip netns exec "$N" nft -s list table inet tlswall >"$T/3d.nft" 2>&1
	cmp -s "$T/applied.nft" "$T/3d.nft" || tw_fail "3: $key did not restore the table: $(diff "$T/applied.nft" "$T/3d.nft")"
done
tl status >"$T/3e.out" 2>&1
has "$T/3e.out" "live table: table inet tlswall" "3e: status after the reapply"
hasnt "$T/3e.out" "WARNING" "3e: status after the reapply"

# ---- 4. variations an admin makes
# an include with the flush
mkdir -p /etc/nftables.d
printf 'flush ruleset\ninclude "/etc/nftables.d/*.nft"\n' | sed 's/^flush ruleset$/# flush ruleset: moved to 00-reset.nft/' >/etc/nftables.conf
printf '# reset\nflush ruleset\n' >/etc/nftables.d/00-reset.nft
tl check --live >"$T/4a.out" 2>&1
has "$T/4a.out" "/etc/nftables.d/00-reset.nft:2: warning: \"flush ruleset\" deletes table inet tlswall whenever nftables.service starts, restarts or reloads (loaded by $nft_unit:$start_line, included at /etc/nftables.conf:2)" "4a: include"
hasnt "$T/4a.out" "/etc/nftables.conf:1" "4a: a commented flush"
# the flush commented out, and a drop-in that clears ExecStop: nothing left
printf '# flush ruleset\ntable inet filter {\n}\n' >/etc/nftables.conf
mkdir -p /etc/systemd/system/nftables.service.d
printf '[Service]\nExecStop=\nExecStop=/bin/true\n' >/etc/systemd/system/nftables.service.d/keep-others.conf
tl check --live >"$T/4b.out" 2>&1
hasnt "$T/4b.out" "table inet tlswall whenever" "4b: no flush left"
rm -r /etc/systemd/system/nftables.service.d
debian_conf >/etc/nftables.conf
# disabled, then masked
systemctl --root=/ disable nftables.service >/dev/null 2>&1
tl check --live >"$T/4c.out" 2>&1
hasnt "$T/4c.out" "whenever nftables.service" "4c: nftables.service disabled"
ln -s "$nft_unit" /etc/systemd/system/sysinit.target.wants/nftables.service
systemctl --root=/ mask nftables.service >/dev/null 2>&1
tl check --live >"$T/4d.out" 2>&1
hasnt "$T/4d.out" "whenever nftables.service" "4d: nftables.service masked"
systemctl --root=/ unmask nftables.service >/dev/null 2>&1
# an ifupdown hook that loads the file; not executable, it does not run
mkdir -p /etc/network/if-pre-up.d
printf '#!/bin/sh\n[ "$IFACE" = lo ] && exit 0\n/usr/sbin/nft -f /etc/nftables.conf\n' >/etc/network/if-pre-up.d/firewall
chmod 755 /etc/network/if-pre-up.d/firewall
tl check --live >"$T/4e.out" 2>&1
has "$T/4e.out" "/etc/nftables.conf:3: warning: \"flush ruleset\" deletes table inet tlswall whenever an interface comes up (ifupdown) (loaded by /etc/network/if-pre-up.d/firewall:3)" "4e: ifupdown hook"
has "$T/4e.out" 'tlswall: note: after such a flush, "systemctl reload tlswall" or "tlswall apply" puts the table back' "4e: note"
chmod 644 /etc/network/if-pre-up.d/firewall
tl check --live >"$T/4f.out" 2>&1
hasnt "$T/4f.out" "ifupdown" "4f: a hook that is not executable"
exit "$TW_FAILS"
