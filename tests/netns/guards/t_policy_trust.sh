#!/bin/sh
# policy trust: a group-writable policy is refused (exit 1, saying why), and nothing is created.
. "$(dirname "$0")/../guards_lib.sh"
tw_netns trust; N=$TW_NS
cp "$T/plain.conf" "$T/loose.conf"
chmod 664 "$T/loose.conf"
tl "$N" -f "$T/loose.conf" apply >"$T/out" 2>&1
expect_rc 1 $? "apply of a group-writable policy" "$T/out"
has "$T/out" "file is writable by its group (mode 0664); refusing to apply it" "refusal"
[ -z "$(ip netns exec "$N" nft list tables)" ] || tw_fail "a refused policy created a table"
tw_done
