#!/bin/sh
# apply --boot with a broken policy, or none at all, and nothing known good: the emergency ruleset, which is exactly
# what policies/default.conf compiles to, and what `nft -f` loads of the script `generate` prints for it.
. "$(dirname "$0")/../deploy_lib.sh"
ref default
tw_netns s6b; N=$TW_NS
tl "$N" "$T/state" -f "$BROKEN" apply --boot >"$T/s6b.out" 2>&1
rc=$?
[ $rc -ne 0 ] || tw_fail "boot with a broken policy and no state exited 0"
has "$T/s6b.out" "applying the emergency ruleset" "boot output"
tl "$N" "$T/state" -q -f "$root/policies/default.conf" diff >/dev/null 2>&1 ||
	tw_fail "the emergency ruleset differs from policies/default.conf (diff exit $?)"
live_is "$N" "$T/ref-default" ||
	tw_fail "the emergency ruleset is not what the generated default policy loads: $(live_diff "$N" "$T/ref-default")"
# the same with a policy file that does not exist at all
ip netns exec "$N" nft flush ruleset
tl "$N" "$T/state2" -f "$T/no-such.conf" apply --boot >"$T/s6b2.out" 2>&1 && tw_fail "boot with no policy exited 0"
has "$T/s6b2.out" "applying the emergency ruleset" "boot output without a policy"
live_is "$N" "$T/ref-default" || tw_fail "a missing policy did not give the emergency ruleset"
tw_done
