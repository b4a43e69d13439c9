#!/bin/sh
# `sudo make demo` from a checkout that belongs to an ordinary user and was made under umask 002 (group-writable
# files), as a newcomer's clone or an unpacked release tarball is: the demo applies its policy and shows every TLS
# port open and every plaintext one blocked. The copy belongs to uid 65534 (nobody); no user is created. The demo
# runs in network namespaces of its own.
. "$(dirname "$0")/lib.sh"
tw_require_root
root=$(cd "$(dirname "$0")/../.." && pwd)
tw_need make tar openssl python3 ss timeout

copy=$TW_TMP/checkout
mkdir "$copy" || exit 1
# what a clone holds; without git (a release tarball), the tree without build products
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$root" ls-files -z | (cd "$root" && xargs -0 tar --ignore-failed-read --no-recursion -cf -) |
		tar -C "$copy" -xf - || tw_fail "could not copy the checkout"
else
	tar -C "$root" --exclude=./.git --exclude=./build -cf - . | tar -C "$copy" -xf - || tw_fail "could not copy the tree"
fi
[ -f "$copy/policies/default.conf" ] && [ -x "$copy/scripts/demo.sh" ] || tw_fail "the copy lacks the demo's files"
chown -R 65534:65534 "$copy" && chmod -R g+w "$copy" || tw_fail "could not give the copy to uid 65534"
mode=$(stat -c '%u %a' "$copy/policies/default.conf")
[ "$mode" = "65534 664" ] || tw_fail "policies/default.conf of the copy is $mode, not '65534 664'"

# the outer make's jobserver and variables are not this one's
(cd "$copy" && umask 002 && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL timeout 600 make -j2 demo) >"$TW_TMP/demo.out" 2>&1
rc=$?
[ $rc -eq 0 ] || tw_fail "make demo exited $rc: $(tail -n 15 "$TW_TMP/demo.out")"
grep -q "Summary: all 6 TLS ports completed a handshake and all 6 plaintext ports were blocked, over IPv4 and IPv6." \
	"$TW_TMP/demo.out" || tw_fail "the demo did not show every TLS port open and every plaintext one blocked: $(tail -n 25 "$TW_TMP/demo.out")"
if grep -q "refusing to apply" "$TW_TMP/demo.out"; then tw_fail "apply refused the demo's policy: $(grep refusing "$TW_TMP/demo.out")"; fi
# the checkout is left as it was: nothing in it became root's but the build
changed=$(find "$copy" -path "$copy/build" -prune -o ! -user 65534 -print | head -n 5)
[ -z "$changed" ] || tw_fail "the demo changed the owner of: $changed"
tw_done
