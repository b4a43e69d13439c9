#!/bin/sh
# a state directory that is a symbolic link is refused, also when named with a trailing slash (which makes the path
# resolve through the link): nothing applied, nothing written into the directory it points to.
. "$(dirname "$0")/../deploy_lib.sh"
tw_netns s7b; N=$TW_NS
tl "$N" "$T/state" -q -f "$A" apply || tw_fail "apply A failed"
ip netns exec "$N" nft list ruleset >"$T/before.txt"
mkdir -m 700 "$T/real"
ln -s "$T/real" "$T/link"
out=$(tl "$N" "$T/link" -f "$B" apply 2>&1) && tw_fail "apply with a symlinked state directory succeeded"
case $out in *"it is a symbolic link"*) ;; *) tw_fail "no clear message: $out" ;; esac
out=$(tl "$N" "$T/link" status 2>&1) && tw_fail "status with a symlinked state directory succeeded"
[ -z "$(ls -A "$T/real")" ] || tw_fail "files were written through the symlink: $(ls -A "$T/real")"
ip netns exec "$N" nft list ruleset | cmp -s - "$T/before.txt" || tw_fail "the ruleset changed"
# TLSWALL_STATE_DIR=/var/lib/tlswall/ is a natural way to write it
out=$(tl "$N" "$T/link/" -f "$B" apply 2>&1)
rc=$?
if [ $rc -eq 0 ] || [ -n "$(ls -A "$T/real")" ]; then
	tw_fail "the symlinked state directory named with a trailing slash ($T/link/) was followed: apply" \
		"exited $rc, and wrote $(ls -A "$T/real" | tr '\n' ' ')into the directory it points to"
fi
case $out in *"it is a symbolic link"*) ;; *) tw_fail "trailing slash: no clear message: $out" ;; esac
ip netns exec "$N" nft list ruleset | cmp -s - "$T/before.txt" || tw_fail "the ruleset changed (trailing slash)"
tw_done
