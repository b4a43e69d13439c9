#!/bin/sh
# Installs the Debian 12 packages tlswall needs to build, test and demo, if any are missing (the second line of
# PACKAGES: building and linting the Debian package, the throwaway Debian tree it is installed into, the Ansible
# role, the man page and completion checks).
# Run as root on a fresh machine; as another user it only says what is missing.
set -eu

PACKAGES="gcc make pkg-config libnftnl-dev libmnl-dev libconfig-dev libjansson-dev libcmocka-dev
nftables iproute2 util-linux procps clang libclang-rt-14-dev valgrind openssl curl python3 systemd
build-essential dpkg-dev debhelper lintian debootstrap ansible-core mandoc man-db groff-base bash-completion"

missing=""
for p in $PACKAGES; do
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
apt-get update -qq
# no service a package brings may start on this machine (nftables and systemd units are installed, never started)
policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=yes
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null || { [ -n "$made_policy" ] && rm -f "$policy"; exit 1; }
[ -n "$made_policy" ] && rm -f "$policy"
exit 0
