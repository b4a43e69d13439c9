#!/bin/sh
# The Debian package, built as a user builds it (dpkg-buildpackage -b -us -uc from a copy of this tree):
#  1. lintian: no errors (warnings are printed)
#  2. its files: the program, both man pages, both units (not enabled), the policy as a conffile (mode 0600, the
#     shipped default), the bash completion, the state directory (mode 0700); make install installs the same set
#  3. installed into a throwaway Debian 12 tree (an overlay on a cached debootstrap, in a private mount namespace,
#     nothing of this machine's own package set changes): it runs, checks its policy, its units are disabled and
#     enable together; remove keeps the edited policy and the state; purge removes both and leaves the tree as it was
#  4. the same tree booted by systemd as a container, nftables.service and tlswall enabled: after boot, and after
#     each restart, reload, reload-or-restart, try-restart and stop-then-start of nftables.service, tlswall's table is
#     there; after a stop it is not, and status says so
# Usage: tests/package/t_deb.sh TLSWALL (the binary of the tree's build directory, for make install)
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
version=$(sed -n 's/^VERSION := //p' "$root/Makefile")
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

if [ "${2:-}" = --chroot ]; then
	# ---- 3, inside the private mount namespace: $3 the base tree, $4 the .deb, $5 a scratch directory
	base=$3 deb=$4 w=$5
	R=$w/root
	mkdir -p "$w/upper" "$w/work" "$R"
	mount -t overlay overlay -o "lowerdir=$base,upperdir=$w/upper,workdir=$w/work" "$R" || exit 1
	mount -t proc proc "$R/proc" || exit 1
	chr() { timeout 120 chroot "$R" "$@"; }
	# every file and directory with its owner and mode, except the records and logs of dpkg and apt
	snapshot() {
		chr find / -xdev \( -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/log -o -path /var/cache -o -path /tmp \) -prune \
			-o -printf '%M %u:%g %p\n' | sort
	}
	modes() { for p in "$@"; do chr stat -c '%A %U:%G %n' "$p" 2>&1; done; }
	snapshot >"$w/before"
	# nothing the package does may start a service
	printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d" && chmod 755 "$R/usr/sbin/policy-rc.d"
	cp "$deb" "$R/tmp/tlswall.deb"

	chr dpkg -i /tmp/tlswall.deb >"$w/install.log" 2>&1 || fail "3: dpkg -i: $(cat "$w/install.log")"
	chr apt-get -qq --no-download -f install >"$w/apt.log" 2>&1 || fail "3: apt-get -f install: $(cat "$w/apt.log")"
	[ "$(chr dpkg-query -W -f='${Status} ${Version}' tlswall)" = "install ok installed $version" ] ||
		fail "3: not installed: $(chr dpkg-query -W -f='${Status} ${Version}' tlswall 2>&1)"
	[ -z "$(chr dpkg --audit)" ] || fail "3: dpkg --audit: $(chr dpkg --audit)"
	modes /usr/sbin/tlswall /etc/tlswall/tlswall.conf /var/lib/tlswall /lib/systemd/system/tlswall.service \
		/lib/systemd/system/tlswall-reapply.service /usr/share/bash-completion/completions/tlswall \
		/usr/share/man/man8/tlswall.8.gz /usr/share/man/man5/tlswall.conf.5.gz >"$w/modes"
	cat >"$w/modes.want" <<-'EOF'
		-rwxr-xr-x root:root /usr/sbin/tlswall
		-rw------- root:root /etc/tlswall/tlswall.conf
		drwx------ root:root /var/lib/tlswall
		-rw-r--r-- root:root /lib/systemd/system/tlswall.service
		-rw-r--r-- root:root /lib/systemd/system/tlswall-reapply.service
		-rw-r--r-- root:root /usr/share/bash-completion/completions/tlswall
		-rw-r--r-- root:root /usr/share/man/man8/tlswall.8.gz
		-rw-r--r-- root:root /usr/share/man/man5/tlswall.conf.5.gz
	EOF
	cmp -s "$w/modes" "$w/modes.want" || fail "3: installed files and modes: $(diff "$w/modes.want" "$w/modes")"
	[ "$(chr tlswall --version 2>&1)" = "tlswall $version" ] || fail "3: tlswall --version: $(chr tlswall --version 2>&1)"
	chr tlswall check >"$w/check.out" 2>&1 || fail "3: tlswall check of the shipped policy: $(cat "$w/check.out")"
	grep -q "^/etc/tlswall/tlswall.conf: OK: table inet tlswall" "$w/check.out" || fail "3: check: $(cat "$w/check.out")"
	for u in tlswall.service tlswall-reapply.service; do
		[ "$(chr systemctl is-enabled "$u" 2>&1)" = disabled ] || fail "3: $u is $(chr systemctl is-enabled "$u" 2>&1), not disabled"
	done
	chr systemctl enable tlswall.service >"$w/enable.log" 2>&1 || fail "3: systemctl enable tlswall: $(cat "$w/enable.log")"
	for l in sysinit.target.wants/tlswall.service nftables.service.wants/tlswall-reapply.service; do
		[ -L "$R/etc/systemd/system/$l" ] || fail "3: systemctl enable tlswall made no $l: $(cat "$w/enable.log")"
	done
	chr systemctl disable tlswall.service >"$w/disable.log" 2>&1 || fail "3: systemctl disable tlswall: $(cat "$w/disable.log")"
	[ -z "$(find "$R/etc/systemd/system" -name 'tlswall*')" ] || fail "3: disable left $(find "$R/etc/systemd/system" -name 'tlswall*')"

	# left enabled, then removed and purged: the purge takes the links away too (checked with the whole tree below)
	chr systemctl enable tlswall.service >/dev/null 2>&1 || fail "3: systemctl enable tlswall, again"

	# remove: the edited policy and the state stay
	echo "# edited by the admin" >>"$R/etc/tlswall/tlswall.conf"
	echo '{}' >"$R/var/lib/tlswall/last-known-good.json"
	chr dpkg -r tlswall >"$w/remove.log" 2>&1 || fail "3: dpkg -r: $(cat "$w/remove.log")"
	[ "$(chr dpkg-query -W -f='${Status}' tlswall)" = "deinstall ok config-files" ] || fail "3: after remove: $(chr dpkg-query -W -f='${Status}' tlswall)"
	[ -e "$R/usr/sbin/tlswall" ] && fail "3: remove left /usr/sbin/tlswall"
	[ -e "$R/lib/systemd/system/tlswall.service" ] && fail "3: remove left the unit"
	grep -q "^# edited by the admin" "$R/etc/tlswall/tlswall.conf" 2>/dev/null || fail "3: remove did not keep the edited policy"
	[ -f "$R/var/lib/tlswall/last-known-good.json" ] || fail "3: remove did not keep the state directory"

	# purge: the policy and the state directory go, and the tree is as it was
	chr dpkg --purge tlswall >"$w/purge.log" 2>&1 || fail "3: dpkg --purge: $(cat "$w/purge.log")"
	[ -e "$R/etc/tlswall" ] && fail "3: purge left /etc/tlswall: $(ls -la "$R/etc/tlswall")"
	[ -e "$R/var/lib/tlswall" ] && fail "3: purge left /var/lib/tlswall"
	[ -n "$(chr dpkg-query -W -f='${Status}' tlswall 2>/dev/null | grep -v not-installed)" ] &&
		fail "3: dpkg still knows tlswall: $(chr dpkg-query -W -f='${Status}' tlswall)"
	ls "$R"/var/lib/dpkg/info/tlswall.* >/dev/null 2>&1 && fail "3: purge left $(ls "$R"/var/lib/dpkg/info/tlswall.*)"
	rm -f "$R/usr/sbin/policy-rc.d" "$R/tmp/tlswall.deb"
	snapshot >"$w/after"
	cmp -s "$w/before" "$w/after" || fail "3: after purge the tree differs: $(diff "$w/before" "$w/after")"
	exit "$fails"
fi

if [ "${2:-}" = --boot ]; then
	# ---- 4, inside a private mount namespace: $3 the base tree, $4 the .deb, $5 a scratch directory. systemd boots
	# the tree as a container: its own PID, network, UTS, IPC, mount and cgroup namespaces, a cgroup of its own
	# under this process's, /sys read-only; nftables.service and tlswall act on the container's network namespace.
	base=$3 deb=$4 w=$5
	R=$w/root
	mkdir -p "$w/upper" "$w/work" "$R"
	mount -t overlay overlay -o "lowerdir=$base,upperdir=$w/upper,workdir=$w/work" "$R" || exit 1
	mount -t proc proc "$R/proc"
	printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d" && chmod 755 "$R/usr/sbin/policy-rc.d"
	cp "$deb" "$R/tmp/tlswall.deb"
	timeout 120 chroot "$R" dpkg -i /tmp/tlswall.deb >"$w/install.log" 2>&1 || { fail "4: dpkg -i: $(cat "$w/install.log")"; exit 1; }
	rm -f "$R/usr/sbin/policy-rc.d"
	timeout 60 chroot "$R" systemctl enable nftables.service tlswall.service >"$w/enable.log" 2>&1 &&
		timeout 60 chroot "$R" systemctl set-default multi-user.target >>"$w/enable.log" 2>&1 ||
		{ fail "4: systemctl enable: $(cat "$w/enable.log")"; exit 1; }
	umount "$R/proc"
	cgmount=$(findmnt -n -t cgroup2 -o TARGET | head -n 1)
	cgroup=$cgmount$(sed -n 's/^0:://p' /proc/self/cgroup)
	cg=${cgroup%/}/tlswall-boot-$$
	if [ -z "$cgmount" ] || ! mkdir "$cg" 2>"$w/cg.err"; then
		echo "SKIP: 4: no cgroup v2 hierarchy to give the container: $(cat "$w/cg.err" 2>/dev/null)" >&2
		exit 77
	fi
	# shellcheck disable=SC2016
	sh -c 'echo $$ >"$1/cgroup.procs" && exec unshare -m --propagation private -n -u -i -C -p -f sh -c "$2" boot "$3"' \
		_ "$cg" '
		R=$1
		mount -t proc proc "$R/proc" && mount -t sysfs -o ro sysfs "$R/sys" && mount -t cgroup2 cgroup2 "$R/sys/fs/cgroup" &&
		mount -t tmpfs -o mode=755 tmpfs "$R/dev" || exit 1
		for d in null zero full random urandom tty; do touch "$R/dev/$d" && mount --bind "/dev/$d" "$R/dev/$d"; done
		mkdir -p "$R/dev/pts" "$R/dev/shm" && mount -t devpts -o newinstance devpts "$R/dev/pts"
		mount -t tmpfs tmpfs "$R/run" && mount -t tmpfs tmpfs "$R/tmp"
		ip link set lo up
		exec chroot "$R" /usr/bin/env container=tlswall-test /lib/systemd/systemd --log-target=journal-or-kmsg' \
		"$R" </dev/null >"$w/boot.log" 2>&1 &
	outer=$!
	stop_container() {
		pid=$(pgrep -P "$outer" | head -n 1)
		[ -n "$pid" ] && timeout 30 nsenter -t "$pid" -a -r -w systemctl poweroff >/dev/null 2>&1
		n=0
		while kill -0 "$outer" 2>/dev/null && [ $n -lt 300 ]; do n=$((n + 1)); sleep 0.1; done
		kill -9 "$outer" 2>/dev/null
		[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
		wait "$outer" 2>/dev/null
		# the container's cgroups, deepest first, once their processes are gone
		n=0
		while [ -d "$cg" ] && [ $n -lt 100 ]; do
			find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
			n=$((n + 1))
			[ -d "$cg" ] && sleep 0.1
		done
		[ -d "$cg" ] && echo "FAIL: 4: could not remove the container's cgroup $cg" >&2
	}
	trap 'stop_container' EXIT
	c() { timeout 60 nsenter -t "$pid" -a -r -w "$@"; }
	# systemd is up once the container's first process is systemd and its private socket exists
	n=0 pid=""
	until [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = systemd ] && c test -S /run/systemd/private 2>/dev/null; do
		n=$((n + 1))
		[ $n -lt 300 ] || break
		kill -0 "$outer" 2>/dev/null || break
		sleep 0.1
		pid=$(pgrep -P "$outer" | head -n 1)
	done
	state=$(c systemctl is-system-running --wait 2>&1)
	case $state in
	running | degraded) ;;
	*)
		echo "SKIP: 4: systemd does not boot in a container here ($state): $(tail -n 5 "$w/boot.log")" >&2
		exit 77
		;;
	esac
	[ "$state" = degraded ] && echo "note: 4: the container booted degraded: $(c systemctl --failed --no-legend 2>&1)" >&2
	idle() { c sh -c 'n=0; until systemctl list-jobs 2>/dev/null | grep -q "^No jobs"; do n=$((n + 1)); [ $n -lt 300 ] || exit 1; sleep 0.1; done'; }
	tables() { c nft list tables 2>&1 | tr '\n' ' '; }
	expect_tables() { # WHAT WANT
		idle || fail "4: $1: jobs still running after 30 s: $(c systemctl list-jobs 2>&1)"
		got=$(tables)
		[ "$got" = "$2" ] || fail "4: $1: the container's tables are [$got], expected [$2]"
	}
	both="table inet filter table inet tlswall "
	for u in nftables.service tlswall.service tlswall-reapply.service; do
		[ "$(c systemctl is-active "$u")" = active ] || fail "4: $u is not active after boot: $(c systemctl status --no-pager "$u" 2>&1)"
	done
	expect_tables "boot" "$both"
	# at boot tlswall.service started after nftables.service had finished
	nft_exit=$(c systemctl show -P ExecMainExitTimestampMonotonic nftables.service)
	tw_start=$(c systemctl show -P ExecMainStartTimestampMonotonic tlswall.service)
	[ "${tw_start:-0}" -ge "${nft_exit:-1}" ] 2>/dev/null || fail "4: tlswall.service started ($tw_start) before nftables.service finished ($nft_exit)"
	# each of these flushes the ruleset (the marker table goes), and tlswall's table comes back
	for action in restart reload reload-or-restart try-restart; do
		c nft add table inet marker
		c systemctl "$action" nftables.service >"$w/$action.log" 2>&1 || fail "4: systemctl $action nftables: $(cat "$w/$action.log")"
		expect_tables "systemctl $action nftables" "$both"
	done
	# stop flushes, and nothing puts the table back; status says so; start does
	c systemctl stop nftables.service
	expect_tables "systemctl stop nftables" ""
	c tlswall status >"$w/status.out" 2>&1
	for want in "live table: WARNING: table inet tlswall is missing" \
		'/etc/nftables.conf:3: warning: "flush ruleset" deletes table inet tlswall whenever nftables.service starts, restarts or reloads' \
		"tlswall: note: tlswall-reapply.service is enabled"; do
		grep -qF -- "$want" "$w/status.out" || fail "4: status after the stop says no \"$want\": $(cat "$w/status.out")"
	done
	c systemctl start nftables.service
	expect_tables "systemctl start nftables" "$both"
	# tlswall's own reload after a flush by hand
	c nft flush ruleset
	c systemctl reload tlswall.service || fail "4: systemctl reload tlswall"
	expect_tables "systemctl reload tlswall after nft flush ruleset" "table inet tlswall "
	exit "$fails"
fi

if [ "$(id -u)" -ne 0 ]; then
	if [ -n "${CI:-}" ]; then echo "FAIL: the package test needs root in CI" >&2; exit 1; fi
	echo "SKIP: the package test needs root (it installs the package into a throwaway Debian tree)" >&2
	exit 77
fi
for tool in dpkg-buildpackage dh lintian debootstrap unshare; do
	command -v "$tool" >/dev/null 2>&1 && continue
	if [ -n "${CI:-}" ]; then echo "FAIL: $tool is not installed (scripts/deps.sh)" >&2; exit 1; fi
	echo "SKIP: $tool is not installed (scripts/deps.sh)" >&2
	exit 77
done
tmp=$(mktemp -d /var/tmp/tlswall-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
start=$(date +%s)

# ---- 1. build, lintian
"$root/scripts/deb.sh" "$tmp/out" >/dev/null || { echo "FAIL: the package does not build" >&2; exit 1; }
deb=$(ls "$tmp/out"/tlswall_"$version"_*.deb)
lintian "$tmp"/out/tlswall_"$version"_*.changes >"$tmp/lintian.out" 2>&1
rc=$?
grep -v "running with root privileges" "$tmp/lintian.out" | sed 's/^/  lintian: /'
echo "package: lintian: $(grep -c '^E: ' "$tmp/lintian.out") errors, $(grep -c '^W: ' "$tmp/lintian.out") warnings"
[ $rc -eq 0 ] || fail "1: lintian exited $rc"
grep -q '^E: ' "$tmp/lintian.out" && fail "1: lintian reports errors"
echo "package: built and linted in $(($(date +%s) - start))s"

# ---- 2. what the package holds, and make install installs the same
dpkg-deb -c "$deb" | awk '{ print $1, $2, $6 }' >"$tmp/contents"
for want in "-rwxr-xr-x root/root ./usr/sbin/tlswall" \
	"-rw-r--r-- root/root ./usr/share/man/man8/tlswall.8.gz" \
	"-rw-r--r-- root/root ./usr/share/man/man5/tlswall.conf.5.gz" \
	"-rw-r--r-- root/root ./lib/systemd/system/tlswall.service" \
	"-rw-r--r-- root/root ./lib/systemd/system/tlswall-reapply.service" \
	"-rw------- root/root ./etc/tlswall/tlswall.conf" \
	"-rw-r--r-- root/root ./usr/share/bash-completion/completions/tlswall" \
	"drwx------ root/root ./var/lib/tlswall/"; do
	grep -qxF -- "$want" "$tmp/contents" || fail "2: the package has no \"$want\": $(cat "$tmp/contents")"
done
grep -q ' \./etc/systemd' "$tmp/contents" && fail "2: the package enables units itself: $(grep ' ./etc/systemd' "$tmp/contents")"
mkdir "$tmp/ctl"
dpkg-deb -e "$deb" "$tmp/ctl"
[ "$(cat "$tmp/ctl/conffiles")" = /etc/tlswall/tlswall.conf ] || fail "2: conffiles: $(cat "$tmp/ctl/conffiles")"
dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./etc/tlswall/tlswall.conf >"$tmp/conffile"
cmp -s "$tmp/conffile" "$root/policies/default.conf" || fail "2: the conffile is not policies/default.conf"
[ "$(grep -c '^#' "$tmp/conffile")" -ge 3 ] || fail "2: the shipped policy is not commented"
dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./lib/systemd/system/tlswall.service >"$tmp/unit"
for want in "ExecStart=/usr/sbin/tlswall apply --boot" "Environment=TLSWALL_STATE_DIR=/var/lib/tlswall" \
	"RequiresMountsFor=/etc/tlswall /var/lib/tlswall"; do
	grep -qxF "$want" "$tmp/unit" || fail "2: the packaged unit has no line \"$want\""
done
# make install, with the package's paths, from this tree's build: the same files, modes and directories
umask 022
make -s -C "$root" O="$(dirname "$bin")" install DESTDIR="$tmp/mi" PREFIX=/usr SBINDIR=/usr/sbin \
	UNITDIR=/lib/systemd/system >"$tmp/mi.log" 2>&1 || fail "2: make install: $(cat "$tmp/mi.log")"
(cd "$tmp/mi" && find . -printf '%M %p\n') | awk '{ p = $2; if ($1 ~ /^d/) p = (p == "." ? "./" : p "/")
	if (p ~ /\/man[58]\/[^\/]*\.[58]$/) p = p ".gz"; print $1, p }' | sort >"$tmp/mi.list"
awk '{ print $1, $3 }' "$tmp/contents" | grep -v ' \./usr/share/doc\| \./usr/share/lintian' | sort >"$tmp/deb.list"
cmp -s "$tmp/mi.list" "$tmp/deb.list" || fail "2: make install and the package differ: $(diff "$tmp/deb.list" "$tmp/mi.list")"

# ---- 3. install, remove, purge in a throwaway Debian 12 tree
base=$("$root/tests/package/base.sh") || { echo "FAIL: no Debian 12 base tree" >&2; exit 1; }
unshare -m --propagation private sh "$0" "$bin" --chroot "$base" "$deb" "$tmp/chroot"
rc=$?
[ $rc -eq 0 ] || fail "3: $rc failure(s) in the Debian tree"

# ---- 4. the units under a real systemd: the tree booted as a container
unshare -m --propagation private sh "$0" "$bin" --boot "$base" "$deb" "$tmp/boot"
rc=$?
case $rc in
0) ;;
77) echo "package: step 4 skipped (see above)" ;;
*) fail "4: $rc failure(s) with systemd" ;;
esac

echo "package: $(($(date +%s) - start))s in all"
[ $fails -eq 0 ] || { echo "package: $fails failure(s)"; exit 1; }
echo "package: ok"
