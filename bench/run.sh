#!/bin/sh
# tlswall benchmarks. Usage: bench/run.sh TLSWALL [MEASUREMENT...]
#
# Runs each measurement bench/measure/NAME.py (all of them when none is named; diagnostics in bench/diag/ only when
# named), each inside its own network
# namespace (unshare --net; the measurement makes a fresh one again for every timed load) and under a time limit,
# prints its Markdown tables and writes them to bench/results/NAME.md. Needs root: nothing here touches this
# machine's own firewall or network, but creating namespaces and loading rulesets into them does.
#
# After the measurements, bench/lib/summary.py writes results/summary.md (the targets, met or missed) and, with
# Debian's python3-matplotlib, results/summary.png.
#
# Environment: BENCH_RUNS (rounds per figure, default 5, at least 5), BENCH_RUNS_1M (rounds per figure at 1M
# networks, default 3, at least 3), BENCH_SIZES (default "10 1000 100000 1000000"), BENCH_TIMEOUT (seconds per
# measurement, default 1800), BENCH_NFT_TIMEOUT (seconds for one slow nft command, default 120),
# BENCH_RESULTS (default bench/results), BENCH_TOOLS (where ferm and firewalld are unpacked, default
# /var/tmp/tlswall-bench-tools), BENCH_NO_INSTALL=1 (install nothing), BENCH_STRICT=1 (exit 3 when tlswall is
# slower than nft -f anywhere in measure/apply.py).
set -u

usage() { echo "Usage: $0 TLSWALL [MEASUREMENT...]" >&2; exit 1; }
[ $# -ge 1 ] || usage
bench=$(cd "$(dirname "$0")" && pwd)
bin=$1
shift
[ -x "$bin" ] || { echo "bench: $bin: not an executable (build it first: make)" >&2; exit 1; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (network namespaces and nftables inside them)" >&2
	exit 1
fi
for tool in python3 nft unshare timeout; do
	command -v "$tool" >/dev/null || { echo "bench: $tool not found" >&2; exit 1; }
done

results=${BENCH_RESULTS:-$bench/results}
runs=${BENCH_RUNS:-5}
sizes=${BENCH_SIZES:-10 1000 100000 1000000}
limit=${BENCH_TIMEOUT:-1800}
tools=${BENCH_TOOLS:-/var/tmp/tlswall-bench-tools}
export BENCH_TOOLS=$tools
started=$(date +%s)

# Bench-only packages, from Debian, when missing: /usr/bin/time and strace (peak RSS, phases), matplotlib for the
# plot (Debian's python3, not whatever python3 is first in PATH), iptables for ferm, and firewalld's Python
# modules and dbus-daemon. ferm and firewalld themselves are only downloaded and unpacked into $tools: installing
# them would enable their services on this machine (firewalld's would take over its firewall at the next boot).
want_pkgs="time strace python3-matplotlib iptables python3-nftables python3-dbus python3-gi gir1.2-glib-2.0 dbus"
if [ "${BENCH_NO_INSTALL:-0}" != 1 ] && command -v apt-get >/dev/null; then
	missing=""
	for p in $want_pkgs; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		echo "bench: installing bench-only packages:$missing" >&2
		export DEBIAN_FRONTEND=noninteractive
		# shellcheck disable=SC2086
		apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 ||
			{ apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1; } ||
			echo "bench: warning: could not install$missing; the measurements that need them say so" >&2
	fi
	if [ ! -x "$tools/usr/sbin/ferm" ] || [ ! -x "$tools/usr/sbin/firewalld" ]; then
		echo "bench: unpacking Debian's ferm and firewalld into $tools (not installing them)" >&2
		dl=$(mktemp -d)
		chmod 755 "$dl"
		if (cd "$dl" && apt-get download ferm firewalld python3-firewall >/dev/null 2>&1 ||
			{ apt-get update -q >/dev/null 2>&1 && apt-get download ferm firewalld python3-firewall >/dev/null 2>&1; }); then
			mkdir -p "$tools"
			for deb in "$dl"/*.deb; do dpkg-deb -x "$deb" "$tools"; done
		else
			echo "bench: warning: could not download ferm/firewalld; measure/others.py reports them as missing" >&2
		fi
		rm -rf "$dl"
	fi
fi

# the packet-path client and server
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if command -v cc >/dev/null && cc -O2 -Wall -o "$work/connrate" "$bench/connrate.c"; then
	export BENCH_CONNRATE="$work/connrate"
else
	echo "bench: warning: could not build bench/connrate.c; measure/packet.py will fail" >&2
fi
# commit1: the kernel's own time for a one-element commit, with no tool around it (measure/scale.py)
if command -v cc >/dev/null && cc -O2 -Wall -o "$work/commit1" "$bench/commit1.c" \
	$(pkg-config --cflags --libs libnftnl libmnl 2>/dev/null); then
	export BENCH_COMMIT1="$work/commit1"
else
	echo "bench: warning: could not build bench/commit1.c; scale.md will lack the kernel's one-element commits" >&2
fi

if [ $# -eq 0 ]; then
	for m in "$bench"/measure/*.py; do set -- "$@" "$(basename "$m" .py)"; done
fi

export PYTHONDONTWRITEBYTECODE=1
fails=0
slower=0
for name in "$@"; do
	script=$bench/measure/$name.py
	[ -f "$script" ] || script=$bench/diag/$name.py
	[ -f "$script" ] || { echo "bench: no measurement $name in measure/ or diag/" >&2; fails=$((fails + 1)); continue; }
	echo "== $name" >&2
	# unshare --net: the measurement never starts in this machine's namespace; timeout signals its whole
	# process group, so no command it started outlives it, and its namespaces vanish with it.
	errlog=$(mktemp)
	timeout --kill-after=10 "$limit" unshare --net -- python3 "$script" --tlswall "$bin" --results "$results" \
		--runs "$runs" --sizes "$sizes" --repo "$bench/.." 2>"$errlog"
	rc=$?
	cat "$errlog" >&2
	grep -q 'SLOWER than' "$errlog" && slower=$((slower + 1))
	rm -f "$errlog"
	case $rc in
	0) ;;
	124 | 137) echo "bench: $name timed out after ${limit}s" >&2; fails=$((fails + 1)) ;;
	*) echo "bench: $name failed (exit $rc)" >&2; fails=$((fails + 1)) ;;
	esac
done
python3 "$bench/lib/summary.py" "$results" >/dev/null || { echo "bench: summary failed" >&2; fails=$((fails + 1)); }
echo "bench: $(($(date +%s) - started)) s in all; targets in $results/summary.md" >&2
[ $fails -eq 0 ] || { echo "bench: $fails measurement(s) failed" >&2; exit 1; }
if [ $slower -ne 0 ] && [ "${BENCH_STRICT:-0}" = 1 ]; then
	echo "bench: tlswall is slower than nft -f in $slower measurement(s)" >&2
	exit 3
fi
exit 0
