#!/bin/sh
# Installs the Debian 12 packages tlswall needs to build, test and demo, if any are missing (the third line of
# PACKAGES: building and linting the Debian package, the throwaway Debian tree it is installed into, the Ansible
# role, the man page and completion checks).
# Run as root on a fresh machine; as another user it only says what is missing.
set -eu

PACKAGES="gcc make pkg-config libnftnl-dev libmnl-dev libconfig-dev libjansson-dev nettle-dev libssl-dev libcmocka-dev
nftables iptables iproute2 util-linux procps clang libclang-rt-14-dev valgrind openssl curl python3 systemd strace
build-essential dpkg-dev debhelper lintian debootstrap ansible-core mandoc man-db groff-base bash-completion"
# Real servers for the audit tests. Each runs only as a child of a test, inside its network namespace, with a
# throwaway configuration; installing them must never start them as this machine's services. prometheus is here
# for its promtool, which checks the metrics; its server never runs.
SERVERS="dovecot-imapd dovecot-pop3d dovecot-managesieved postfix vsftpd slapd caddy prometheus"
DAEMONS="dovecot master slapd vsftpd caddy prometheus"
# their units, which their postinsts enable for the next boot
UNITS="dovecot postfix slapd vsftpd caddy prometheus"
# Python modules the namespace tests use: cryptography protects the QUIC Initial packets of tests/netns/payload
TEST_MODULES="python3-cryptography"

missing=""
for p in $PACKAGES $SERVERS $TEST_MODULES; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "tlswall: missing Debian packages:$missing" >&2
	echo "tlswall: install them as root: apt-get install$missing" >&2
	exit 1
fi
echo "tlswall: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# postfix and slapd ask questions; "no configuration" leaves them without a system configuration to start from
debconf-set-selections <<'SEL'
postfix postfix/main_mailer_type select No configuration
slapd slapd/no_configuration boolean true
SEL
before=""
for d in $DAEMONS; do before="$before $(pgrep -x "$d" || true)"; done
enabled=""
for u in $UNITS; do
	[ "$(systemctl is-enabled "$u.service" 2>/dev/null)" = enabled ] && enabled="$enabled $u"
done
# A policy-rc.d that says "no" keeps every package from starting its service (invoke-rc.d and deb-systemd-invoke
# both ask it). One that is already there is someone else's and is left alone.
own_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 0755 /usr/sbin/policy-rc.d
	own_policy=1
fi
cleanup() { [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d; }
trap cleanup EXIT
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# The servers are there for the tests alone (prometheus for its promtool): their postinsts enabled them for the next
# boot, which this undoes, for the units that were not enabled before this run (systemctl disable also removes
# their System V links).
for u in $UNITS; do
	case " $enabled " in *" $u "*) continue ;; esac
	[ "$(systemctl is-enabled "$u.service" 2>/dev/null)" = enabled ] || continue
	systemctl disable "$u.service" >/dev/null 2>&1 || echo "tlswall: warning: could not disable $u.service" >&2
done
# Whatever a postinst started anyway is stopped, by its pid.
for d in $DAEMONS; do
	for pid in $(pgrep -x "$d" || true); do
		case " $before " in *" $pid "*) continue ;; esac
		echo "tlswall: warning: installing $d started it (pid $pid); stopping it" >&2
		kill "$pid" 2>/dev/null || true
	done
done
