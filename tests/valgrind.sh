#!/bin/sh
# No leaks and no invalid accesses under valgrind, on the paths a user runs most: check, generate (valid and broken
# policies, list files) and, inside a throwaway namespace, apply / diff / show / status / metrics / remove.
set -u
bin=$1
root=$(cd "$(dirname "$0")/.." && pwd)
vg="valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible"
fails=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

check() {
	desc=$1; shift
	$vg "$@" >/dev/null 2>"$tmp/vg"
	if [ $? -eq 99 ]; then
		echo "FAIL valgrind: $desc"; cat "$tmp/vg"; fails=$((fails + 1))
	fi
}

for p in "$root"/policies/*.conf; do
	check "check $p" "$bin" -f "$p" check
	check "generate $p" "$bin" -f "$p" generate
done
for p in "$root"/tests/golden/1[0-9][0-9]-*.conf "$root"/tests/golden/2[0-9][0-9]-*.conf; do
	[ -e "$p" ] || continue
	(cd "$root/tests/golden" && check "check $(basename "$p")" "$bin" -f "$(basename "$p")" check)
done
check "services" "$bin" services
check "help" "$bin" help

if [ "$(id -u)" -eq 0 ]; then
	export TLSWALL_STATE_DIR="$tmp/state"
	ns="twvg$$"
	ip netns add "$ns" && trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
	cp "$root/policies/blocklist.conf" "$root/policies/blocklist.txt" "$tmp/" && chmod 600 "$tmp"/*
	for verb in "apply" "apply" "diff" "diff --json" "show" "show --json" "check --live" "status" "status --json" \
		"metrics" "metrics --output $tmp/tlswall.prom" "rollback" "apply" "remove" "metrics" "apply --boot"; do
		# shellcheck disable=SC2086
		check "$verb in a namespace" ip netns exec "$ns" $vg "$bin" -f "$tmp/blocklist.conf" $verb
	done
	# audit: listing, and probing a real TLS server (OpenSSL's state included) and a port nothing answers on
	ip -n "$ns" link set lo up
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=vg.test \
		-keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1
	ip netns exec "$ns" openssl s_server -quiet -accept 443 -cert "$tmp/cert.pem" -key "$tmp/key.pem" \
		</dev/null >/dev/null 2>&1 &
	server=$!
	printf 'version = 1;\nservices = ( { service = "https"; }, { service = "imap"; starttls = true; } );\n' \
		>"$tmp/audit.conf"
	i=0
	until ip netns exec "$ns" ss -ltnH | grep -q ':443 ' || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
	for verb in "audit --no-probe" "audit --json --no-probe" "audit --timeout 1" "audit --json --timeout 1"; do
		# shellcheck disable=SC2086
		check "$verb in a namespace" ip netns exec "$ns" $vg "$bin" -f "$tmp/audit.conf" $verb
	done
	kill "$server"
	wait "$server" 2>/dev/null
fi
[ $fails -eq 0 ] && echo "valgrind: clean" || { echo "valgrind: $fails failure(s)"; exit 1; }
