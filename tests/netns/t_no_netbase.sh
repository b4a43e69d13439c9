#!/bin/sh
# Every script `generate` writes loads on a minimal system without netbase (no /etc/protocols, no /etc/services),
# as a debootstrap minbase or the official Debian container image is: nft looks up there any protocol name it has no
# keyword for ("ipv6-icmp"), and the whole script fails to load. The files are hidden in a mount namespace of this
# test's own, with a network namespace of its own; the machine's files are not touched.
. "$(dirname "$0")/lib.sh"
tw_require_root
bin=$1
root=$(cd "$(dirname "$0")/../.." && pwd)

mkdir -p "$TW_TMP/scripts"
n=0
for conf in "$root"/tests/golden/[0-9]*.conf "$root"/policies/*.conf; do
	[ -e "${conf%.conf}.err" ] && continue
	name=$(basename "${conf%.conf}")
	if ! "$bin" -q -f "$conf" generate >"$TW_TMP/scripts/$name.nft"; then
		tw_fail "$name: generate failed"
		continue
	fi
	n=$((n + 1))
done
[ $n -ge 40 ] || tw_fail "only $n valid policies found"

unshare -m -n sh -c '
	for f in /etc/protocols /etc/services; do
		[ -e "$f" ] && { mount --bind /dev/null "$f" || exit 3; }
	done
	# the test means nothing if the names still resolve
	if getent protocols ipv6-icmp >/dev/null 2>&1; then echo "ipv6-icmp still resolves" >&2; exit 3; fi
	for s in "$1"/*.nft; do
		if ! out=$(nft -c -f "$s" 2>&1); then echo "$(basename "$s"): nft -c: $out"; continue; fi
		if ! out=$(nft -f "$s" 2>&1); then echo "$(basename "$s"): nft -f: $out"; continue; fi
		nft list ruleset | grep -q "^table inet " || echo "$(basename "$s"): no table after loading"
		nft flush ruleset
	done
' _ "$TW_TMP/scripts" >"$TW_TMP/out" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	tw_fail "could not hide /etc/protocols and /etc/services (exit $rc): $(cat "$TW_TMP/out")"
else
	while IFS= read -r line; do tw_fail "without netbase: $line"; done <"$TW_TMP/out"
fi
echo "no_netbase: $n scripts"
tw_done
