#!/bin/sh
# tlswall benchmarks. Usage: bench/run.sh TLSWALL [MEASUREMENT...]
#
# Runs each measurement bench/measure/NAME.py (all of them when none is named; diagnostics in bench/diag/ only when
# named), each inside its own network
# namespace (unshare --net; the measurement makes a fresh one again for every timed load) and under a time limit,
# prints its Markdown tables and writes them to bench/results/NAME.md. Needs root: nothing here touches this
# machine's own firewall or network, but creating namespaces and loading rulesets into them does.
#
# Environment: BENCH_RUNS (rounds per figure, default 15, at least 5), BENCH_SIZES (default "10 1000"),
# BENCH_TIMEOUT (seconds per measurement, default 1800), BENCH_RESULTS (default bench/results),
# BENCH_STRICT=1 (exit 3 when tlswall is slower than nft -f anywhere).
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
runs=${BENCH_RUNS:-15}
sizes=${BENCH_SIZES:-10 1000}
limit=${BENCH_TIMEOUT:-1800}

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
[ $fails -eq 0 ] || { echo "bench: $fails measurement(s) failed" >&2; exit 1; }
if [ $slower -ne 0 ] && [ "${BENCH_STRICT:-0}" = 1 ]; then
	echo "bench: tlswall is slower than nft -f in $slower measurement(s)" >&2
	exit 3
fi
exit 0
