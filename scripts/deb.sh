#!/bin/sh
# Builds the Debian package from a copy of this source tree (what git tracks, plus new files it does not ignore):
# dpkg-buildpackage -b -us -uc, as a user would from a checkout, without touching the checkout's build/ directory.
# Usage: scripts/deb.sh OUTDIR   (the .deb, .buildinfo and .changes land in OUTDIR; the log in OUTDIR/build.log)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=$1
mkdir -p "$out"
out=$(cd "$out" && pwd)
for tool in dpkg-buildpackage dh; do
	command -v "$tool" >/dev/null 2>&1 || { echo "tlswall: $tool is missing: run scripts/deps.sh as root" >&2; exit 1; }
done
version=$(sed -n 's/^VERSION := //p' "$root/Makefile")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
src=$work/tlswall-$version
mkdir "$src"
if [ -d "$root/.git" ] || [ -f "$root/.git" ]; then
	# A checkout owned by another user (cloned as a user, built with sudo) is one git refuses to read as root unless
	# told it is safe; and a failed listing must stop here, not make an empty package tree.
	git -C "$root" -c safe.directory="$root" ls-files -z --cached --others --exclude-standard >"$work/files" ||
		{ echo "tlswall: cannot list the files of the checkout $root" >&2; exit 1; }
	(cd "$root" && xargs -0 -I{} sh -c '[ -e "{}" ] && printf "%s\0" "{}"' <"$work/files" | tar --null -T - -cf -) |
		tar -C "$src" -xf -
else
	(cd "$root" && tar --exclude=./build --exclude='./build-*' -cf - .) | tar -C "$src" -xf -
fi
rm -f "$out"/tlswall_*.deb "$out"/tlswall-dbgsym_*.deb "$out"/tlswall_*.buildinfo "$out"/tlswall_*.changes
if ! (cd "$src" && dpkg-buildpackage -b -us -uc) >"$out/build.log" 2>&1; then
	tail -n 40 "$out/build.log" >&2
	echo "tlswall: dpkg-buildpackage failed; the whole log is in $out/build.log" >&2
	exit 1
fi
mv "$work"/*.deb "$work"/*.buildinfo "$work"/*.changes "$out/"
ls "$out"/tlswall_"$version"_*.deb
