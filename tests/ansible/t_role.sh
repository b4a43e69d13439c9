#!/bin/sh
# The Ansible role (contrib/ansible), run for real with ansible-playbook and the shipped example playbook against
# three hosts that are network namespaces of this machine. The controller runs in a namespace of its own, joined to
# each host by a veth pair, so nothing of this machine's own network changes. The role reaches a host through
# tlswall_netns (every tlswall command runs under "ip netns exec"), with a local connection, a policy and a state
# directory of its own; it verifies hosts B and C by reading the banner of a listener on port 22 in the host, from the
# controller (tlswall_verify_command), and host A by the role's default, a new connection (a local one here). Asserted from the kernel (nft list ruleset in each namespace):
# Runs that change nothing take all hosts in one batch (tlswall_serial=3), for speed.
#  1. --check --diff shows each host's difference and changes nothing: every dump byte-identical, no policy file
#  2. apply, serial 1, with host B's policy cutting port 22: A is applied and matches its policy; B fails
#     verification, is rolled back (no table, no policy file, no timer left) and the play says so; C is untouched
#  3. B fixed: every table matches its policy; 4. a second run reports changed=0 for every host
#  5. --check --diff of a changed policy against live tables: the difference shown, every dump byte-identical
# Usage: tests/ansible/t_role.sh TLSWALL
. "$(dirname "$0")/../netns/lib.sh"
tw_require_root
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
for tool in ansible-playbook python3 nft; do
	command -v "$tool" >/dev/null 2>&1 && continue
	if [ -n "${CI:-}" ]; then echo "FAIL: $tool is not installed (scripts/deps.sh)" >&2; exit 1; fi
	echo "SKIP: $tool is not installed (scripts/deps.sh)" >&2
	exit 77
done
# a controller reached over SSH must not make tlswall guard that session inside the test hosts
unset SSH_CONNECTION TLSWALL_STATE_DIR
T=$TW_TMP
chmod 755 "$T"
kill_timers() {
	for pid in $(pgrep -f -- "--state-dir $T/[^ ]* rollback-timer" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
}
trap 'kill_timers; tw_cleanup' EXIT
START=$(date +%s)
step() { [ -n "${VERBOSE:-}" ] && echo "-- $(($(date +%s) - START))s: $*"; return 0; }

# ---- the controller and three hosts
tw_netns ctl; CTL=$TW_NS
i=0
for h in A B C; do
	i=$((i + 1))
	tw_netns "host$h"
	eval "NS_$h=$TW_NS"
	ip link add "twa$$$h" netns "$CTL" type veth peer name eth0 netns "$TW_NS" || exit 1
	ip -n "$CTL" addr add "10.231.$i.1/24" dev "twa$$$h" && ip -n "$CTL" link set "twa$$$h" up
	ip -n "$TW_NS" addr add "10.231.$i.2/24" dev eth0 && ip -n "$TW_NS" link set eth0 up
	tw_bg timeout 600 ip netns exec "$TW_NS" python3 "$root/scripts/banner-server.py" "SSH-2.0-test host$h" 22 \
		</dev/null >"$T/banner-$h.log" 2>&1
done
# the listeners are up when a connection from the controller reads a banner
for i in 1 2 3; do
	n=0
	until ip netns exec "$CTL" timeout 2 bash -c "read -r l </dev/tcp/10.231.$i.2/22 && [ -n \"\$l\" ]" 2>/dev/null; do
		n=$((n + 1))
		[ $n -lt 100 ] || { echo "FAIL: the listener of host $i never answered" >&2; exit 1; }
		sleep 0.1
	done
done

printf "[defaults]\n" >"$T/ansible.cfg"
# inventory bad|good [MORE]: "bad" gives host B a policy without the SSH exemption; MORE is added to the services
inventory() {
	cat <<EOF
tlswall:
  vars:
    ansible_connection: local
    ansible_python_interpreter: /usr/bin/python3
    ansible_become: false
    tlswall_binary: $bin
    tlswall_policy: "$T/{{ inventory_hostname }}/tlswall.conf"
    tlswall_state_dir: "$T/{{ inventory_hostname }}/state"
    tlswall_confirm_timeout: 60
    tlswall_verify_command: "timeout 3 bash -c 'read -r line </dev/tcp/{{ tlswall_addr }}/22 && [ -n \"\$line\" ]'"
    tlswall_verify_retries: 2
    tlswall_verify_delay: 1
    tlswall_sets:
      controller: [ "10.231.0.0/16" ]
    tlswall_services: [ { service: https }, { service: imaps }${2:-} ]
    tlswall_exemptions:
      - { name: ssh, port: 22, proto: tcp, from: [ "@controller" ], reason: "the controller's way in" }
  hosts:
    hostA: { tlswall_netns: $NS_A, tlswall_addr: 10.231.1.2, tlswall_verify_command: "" }
    hostB: { tlswall_netns: $NS_B, tlswall_addr: 10.231.2.2$([ "$1" = bad ] && echo ", tlswall_exemptions: []") }
    hostC: { tlswall_netns: $NS_C, tlswall_addr: 10.231.3.2 }
EOF
}
# play NAME ARGS...: the shipped example playbook, from the controller's namespace; output in $T/NAME.out
play() {
	_name=$1
	shift
	ip netns exec "$CTL" env ANSIBLE_ROLES_PATH="$root/contrib/ansible/roles" ANSIBLE_HOME="$T/ansible-home" \
		ANSIBLE_LOCAL_TEMP="$T/ansible-local" ANSIBLE_REMOTE_TEMP="$T/ansible-remote" ANSIBLE_NOCOLOR=1 \
		ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_PIPELINING=1 ANSIBLE_CONFIG="$T/ansible.cfg" ANSIBLE_STDOUT_CALLBACK=default \
		timeout 300 ansible-playbook -i "$T/inventory.yml" "$root/contrib/ansible/playbook.yml" "$@" \
		>"$T/$_name.out" 2>&1
}
# dumps NAME: every host's whole ruleset, text and JSON, into $T/NAME.dump
dumps() {
	for h in A B C; do
		eval "ns=\$NS_$h"
		echo "== host$h"
		ip netns exec "$ns" nft list ruleset
		ip netns exec "$ns" nft -j list ruleset
	done >"$T/$1.dump" 2>&1
}
# recap HOST FILE: the host's PLAY RECAP line
recap() { grep -E "^$1 +:" "$2"; }
has() { grep -qF -- "$2" "$1" || tw_fail "$3: expected \"$2\" in: $(cat "$1")"; }
matches() { # matches HOST: the host's table is what its policy says (tlswall diff exits 0)
	eval "ns=\$NS_$1"
	ip netns exec "$ns" "$bin" -f "$T/host$1/tlswall.conf" --state-dir "$T/host$1/state" diff >"$T/diff-$1.out" 2>&1 ||
		tw_fail "$2: host$1's table does not match its policy: $(cat "$T/diff-$1.out")"
}
no_table() {
	eval "ns=\$NS_$1"
	ip netns exec "$ns" nft list tables | grep -q "inet tlswall" && tw_fail "$2: host$1 has a tlswall table"
	return 0
}

# ---- 1. check mode on fresh hosts
step "1. --check --diff"
inventory bad >"$T/inventory.yml"
dumps 1-before
play 1-check --check --diff -e tlswall_serial=3
rc=$?
dumps 1-after
[ $rc -eq 0 ] || tw_fail "1: ansible-playbook --check --diff exited $rc: $(tail -n 40 "$T/1-check.out")"
cmp -s "$T/1-before.dump" "$T/1-after.dump" || tw_fail "1: check mode changed the kernel: $(diff "$T/1-before.dump" "$T/1-after.dump")"
has "$T/1-check.out" "+++ planned" "1: the difference is shown"
has "$T/1-check.out" "+	chain exempt.ssh" "1: the difference names what would be added"
[ "$(grep -c '+++ planned' "$T/1-check.out")" -eq 3 ] || tw_fail "1: not one difference per host: $(cat "$T/1-check.out")"
for h in A B C; do
	[ -e "$T/host$h/tlswall.conf" ] && tw_fail "1: check mode wrote host$h's policy"
	ls -A "$T/host$h" 2>/dev/null | grep -q staged && tw_fail "1: a staged policy was left on host$h"
done

# ---- 2. apply, one host at a time; B's policy cuts the controller's way in
step "2. apply, B fails verification"
play 2-apply
rc=$?
[ $rc -ne 0 ] || tw_fail "2: the play succeeded although host B cut port 22: $(tail -n 40 "$T/2-apply.out")"
recap hostA "$T/2-apply.out" | grep -q "failed=0" || tw_fail "2: host A: $(recap hostA "$T/2-apply.out")"
recap hostA "$T/2-apply.out" | grep -q "changed=0" && tw_fail "2: host A reported no change"
recap hostB "$T/2-apply.out" | grep -q "failed=1" || tw_fail "2: host B did not fail: $(cat "$T/2-apply.out")"
has "$T/2-apply.out" "tlswall: hostB: Verify with tlswall_verify_command, run on the controller failed, so the previous ruleset was restored (by tlswall rollback), and the policy file is as it was." "2: the play says why"
sed -n '/^TASK \[tlswall : Verify with a new connection from the controller\]/,/^$/p' "$T/2-apply.out" | grep -q '^ok: \[hostA\]' ||
	tw_fail "2: host A was not verified by a new connection"
recap hostC "$T/2-apply.out" | grep -q "ok=[1-9]" && tw_fail "2: host C was touched after host B failed: $(recap hostC "$T/2-apply.out")"
matches A 2
ip netns exec "$NS_A" nft list table inet tlswall | grep -q 'chain exempt.ssh' || tw_fail "2: host A has no exempt.ssh chain"
no_table B 2
[ -e "$T/hostB/tlswall.conf" ] && tw_fail "2: host B kept the policy that failed"
grep -q "^[^ ]* applied via=apply .* confirm=60 " "$T/hostB/state/events.log" 2>/dev/null || tw_fail "2: host B's change was not armed: $(cat "$T/hostB/state/events.log" 2>&1)"
n=0
while pgrep -f -- "--state-dir $T/hostB/state rollback-timer" >/dev/null; do
	n=$((n + 1))
	[ $n -lt 50 ] || { tw_fail "2: host B's rollback timer is still running after the rollback"; break; }
	sleep 0.1
done
no_table C 2
[ -e "$T/hostC" ] && tw_fail "2: host C was touched: $(ls -la "$T/hostC")"
ip netns exec "$CTL" timeout 3 bash -c 'read -r l </dev/tcp/10.231.2.2/22' || tw_fail "2: host B does not answer after the rollback"

# ---- 3. B fixed: every host applied
step "3. apply, all hosts"
inventory good >"$T/inventory.yml"
play 3-apply
rc=$?
[ $rc -eq 0 ] || tw_fail "3: ansible-playbook exited $rc: $(tail -n 40 "$T/3-apply.out")"
for h in A B C; do matches $h 3; done
recap hostA "$T/3-apply.out" | grep -q "changed=0" || tw_fail "3: host A changed again: $(recap hostA "$T/3-apply.out")"
for h in B C; do
	recap host$h "$T/3-apply.out" | grep -q "changed=0" && tw_fail "3: host $h reported no change"
	[ "$(stat -c %a "$T/host$h/tlswall.conf")" = 600 ] || tw_fail "3: host $h's policy is not mode 0600"
done
ls -A "$T"/host? | grep -q 'staged\|~$' && tw_fail "3: staged policies or backups left: $(ls -A "$T"/host?)"
pgrep -f -- "--state-dir $T/[^ ]* rollback-timer" >/dev/null && tw_fail "3: a rollback timer still runs after confirm"

# ---- 4. idempotent
step "4. a second run"
dumps 4-before
play 4-again -e tlswall_serial=3
rc=$?
[ $rc -eq 0 ] || tw_fail "4: ansible-playbook exited $rc: $(tail -n 40 "$T/4-again.out")"
for h in A B C; do
	recap host$h "$T/4-again.out" | grep -q "changed=0 " || tw_fail "4: host $h: $(recap host$h "$T/4-again.out")"
done

# ---- 5. check mode against live tables, with a changed policy
step "5. --check --diff of a change"
inventory good ", { service: pop3s }" >"$T/inventory.yml"
sha256sum "$T"/host?/tlswall.conf >"$T/5-policies"
dumps 5-before
play 5-check --check --diff -e tlswall_serial=3
rc=$?
dumps 5-after
[ $rc -eq 0 ] || tw_fail "5: ansible-playbook --check --diff exited $rc: $(tail -n 40 "$T/5-check.out")"
cmp -s "$T/5-before.dump" "$T/5-after.dump" || tw_fail "5: check mode changed the kernel: $(diff "$T/5-before.dump" "$T/5-after.dump")"
cmp -s "$T/4-before.dump" "$T/5-after.dump" || tw_fail "5: the kernel changed since run 4"
sha256sum -c --quiet "$T/5-policies" || tw_fail "5: check mode changed a policy file"
[ "$(grep -c 'tcp . 995 : jump svc.pop3s' "$T/5-check.out")" -eq 3 ] || tw_fail "5: the difference (pop3s) is not shown for every host: $(cat "$T/5-check.out")"
has "$T/5-check.out" '+  { service = "pop3s"; }' "5: the policy file's difference"
step "done"
tw_done
