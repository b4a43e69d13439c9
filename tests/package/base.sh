#!/bin/sh
# Prints the path of a minimal Debian 12 (bookworm) tree for installing the package into, making it the first time:
# debootstrap --variant=minbase from the mirror apt already uses, plus the package's runtime libraries, systemd and
# nftables (to enable the units, and to boot them in a container), so that later runs need no network. It is made
# under a temporary name and renamed when complete, so an interrupted first run leaves nothing half-made behind;
# it is never modified after, except to be made again when INCLUDE changes.
# First run: about a minute and 300 MB in /var/tmp. Usage: tests/package/base.sh
set -eu
BASE=/var/tmp/tlswall-bookworm-base
INCLUDE=libconfig9,libjansson4,libmnl0,libnftnl11,systemd,nftables
made() { [ -x "$BASE/usr/bin/dpkg" ] && [ "$(cat "$BASE/.tlswall-include" 2>/dev/null)" = "$INCLUDE" ]; }
if ! made; then
	command -v debootstrap >/dev/null || { echo "tlswall: debootstrap is missing: run scripts/deps.sh" >&2; exit 1; }
	mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
	[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 ~ /^bookworm$/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
	[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
	exec 9>"$BASE.lock"
	flock 9
	if ! made; then
		tmp=$(mktemp -d "$BASE.new.XXXXXX")
		log=/var/tmp/tlswall-debootstrap.log
		echo "tlswall: making a Debian 12 base for the package test in $BASE (once; log: $log)" >&2
		if ! debootstrap --variant=minbase --include="$INCLUDE" bookworm "$tmp" "$mirror" >"$log" 2>&1; then
			rm -rf "$tmp"
			tail -n 20 "$log" >&2
			exit 1
		fi
		rm -rf "$tmp/var/cache/apt/archives"/*.deb
		echo "$INCLUDE" >"$tmp/.tlswall-include"
		rm -rf "$BASE"
		mv "$tmp" "$BASE"
	fi
fi
echo "$BASE"
