#!/bin/sh
# Reachability with real servers and clients: a "host" namespace runs openssl s_server on the six TLS ports of the
# seed table and banner servers on their six plaintext twins, a "client" namespace joined to it by a veth pair
# connects over IPv4 and IPv6. With policies/default.conf applied every TLS handshake completes and every plaintext
# port stays silent; `starttls` opens exactly 143; policy "reject" turns silence into a fast RST; IPv6 neighbour
# discovery survives the drop policy; `show` counts the traffic.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/servers_lib.sh"
tw_require_root
tw_need openssl curl python3 ss timeout
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)

TLS_PORTS="443 993 995 990 636 563"
PLAIN_PORTS="80 21 110 143 389 119"
H4=10.99.0.1
C4=10.99.0.2
H6=fd00:99::1
C6=fd00:99::2
export TLSWALL_STATE_DIR="$TW_TMP/state"
tw_pair host client $H4 $C4 $H6 $C6

cd "$TW_TMP" || exit 1
tw_cert "$TW_TMP/server" tlswall-test
# -www answers curl with a page
for p in $TLS_PORTS; do tw_s_server "$H" "$p" "$TW_TMP/server" -www; done
# shellcheck disable=SC2086
tw_serve "$H" python3 "$root/scripts/banner-server.py" "BANNER tlswall-test" $PLAIN_PORTS </dev/null >banner.log 2>&1
# shellcheck disable=SC2086
tw_await "$H" t $TLS_PORTS $PLAIN_PORTS || { tw_fail "logs: $(cat s_server-*.log banner.log | tail -n 3)"; tw_done; }

# tls_ok WHEN ADDR PORT: a full TLS handshake from the client completes.
tls_ok() {
	out=$(ip netns exec "$C" timeout 5 openssl s_client -brief -connect "$(hostport "$2" "$3")" </dev/null 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && printf '%s\n' "$out" | grep -q '^CONNECTION ESTABLISHED' &&
		printf '%s\n' "$out" | grep -q '^Protocol version: TLSv1'; then
		tw_ok "$1: TLS handshake with $2 port $3"
	else
		tw_fail "$1: no TLS handshake with $2 port $3 (s_client exit $rc: $(printf '%s\n' "$out" | tail -n 1))"
	fi
}

tls_all() {
	for a in $H4 $H6; do
		for p in $TLS_PORTS; do tls_ok "$1" "$a" "$p"; done
	done
}

# curl_ok WHEN ADDR: curl fetches the s_server -www status page on 443.
curl_ok() {
	if ip netns exec "$C" curl -sSkg --connect-timeout 2 -m 5 "https://$(hostport "$2" 443)/" 2>&1 |
		grep -q 's_server'; then
		tw_ok "$1: curl https://$2/"
	else
		tw_fail "$1: curl -k https://$2/ did not get the s_server page"
	fi
}

# plain_check WHEN CLOSED OPEN...: probe every plaintext port over both families. Ports in OPEN must send their
# banner; every other port must fail as CLOSED says (timeout: silence for the whole 2 s, no bytes; refused: an RST
# well under a second).
plain_check() {
	when=$1
	closed=$2
	shift 2
	open=" $* "
	targets=""
	for a in $H4 $H6; do
		for p in $PLAIN_PORTS; do targets="$targets $a,$p"; done
	done
	# shellcheck disable=SC2086
	tw_probe "$C" "$when" $targets
	n=0
	while read -r addr port res secs banner; do
		n=$((n + 1))
		case $open in
		*" $port "*)
			if [ "$res" = banner ] && [ "$banner" = "BANNER_tlswall-test_port_$port" ]; then
				tw_ok "$when: $addr port $port banner"
			else
				tw_fail "$when: $addr port $port should be open, got $res after ${secs}s (banner $banner)"
			fi
			;;
		*)
			if [ "$res" != "$closed" ] || [ "$banner" != - ]; then
				tw_fail "$when: $addr port $port should be closed ($closed), got $res after ${secs}s (banner $banner)"
			elif [ "$closed" = refused ] && ! awk -v s="$secs" 'BEGIN { exit !(s < 0.5) }'; then
				tw_fail "$when: $addr port $port refused, but only after ${secs}s"
			else
				tw_ok "$when: $addr port $port $res in ${secs}s"
			fi
			;;
		esac
	done <"$TW_TMP/probe.out"
	[ $n -eq 12 ] || tw_fail "$when: expected 12 probe results, got $n"
}

apply() {
	if ! out=$(ip netns exec "$H" timeout 10 "$bin" -f "$2" apply 2>&1); then
		tw_fail "$1: apply failed: $out"
		tw_done
	fi
}

# counter NAME: packets of a `show` summary line ("# svc.https  12  1.2 KiB").
counter() { printf '%s\n' "$show" | awk -v n="$1" '$1 == "#" && $2 == n { print $3; exit }'; }

# 0. Control, no firewall yet: everything answers, so the silence below is the policy's doing.
tls_ok "no policy" $H4 443
tls_ok "no policy" $H6 443
# shellcheck disable=SC2086
plain_check "no policy" none $PLAIN_PORTS

# 1. The default policy: TLS through, plaintext dropped.
policies=$(tw_copy_trusted "$root/policies") || exit 1
default=$policies/default.conf
apply default "$default"
tls_all default
curl_ok default $H4
curl_ok default $H6
plain_check default timeout
if show=$(ip netns exec "$H" timeout 10 "$bin" -f "$default" show 2>&1); then
	https=$(counter svc.https)
	dropped=$(counter dropped)
	case $https in '' | *[!0-9]* | 0) tw_fail "show: svc.https packets is '$https' after TLS traffic" ;; esac
	case $dropped in '' | *[!0-9]* | 0) tw_fail "show: dropped packets is '$dropped' after plaintext attempts" ;; esac
	tw_ok "show: svc.https $https packets, dropped $dropped packets"
else
	tw_fail "show failed: $show"
fi

# 2. imap with starttls: 143 opens, nothing else changes.
starttls=$TW_TMP/starttls.conf
awk '{ print } /^services[ \t]*=/ { print "  { service = \"imap\"; starttls = true; }," }' "$default" >"$starttls"
chmod 600 "$starttls"
grep -q 'service = "imap"' "$starttls" || tw_fail "could not add imap to a copy of $default"
apply starttls "$starttls"
plain_check starttls timeout 143
tls_ok starttls $H4 993
tls_ok starttls $H6 993

# 3. policy "reject": closed TCP ports answer with an RST at once instead of leaving the client to time out.
reject=$TW_TMP/reject.conf
sed 's/^policy[[:blank:]]*=[[:blank:]]*"drop"/policy = "reject"/' "$starttls" >"$reject"
chmod 600 "$reject"
grep -q '^policy = "reject"' "$reject" || tw_fail "could not switch a copy of $default to reject"
apply reject "$reject"
plain_check reject refused 143
tls_ok reject $H4 443
tls_ok reject $H6 443

# 4. Neighbour discovery under the drop policy: with both caches empty, the host must let the client's
# solicitation in and its advertisement back, or IPv6 dies while IPv4 (ARP is not inet) still works.
apply "default again" "$default"
ip -n "$H" neigh flush all
ip -n "$C" neigh flush all
if ip -n "$C" -6 neigh show $H6 | grep -q lladdr; then tw_fail "neighbour flush left $H6 resolved in the client"; fi
tls_ok "after neigh flush" $H6 443
curl_ok "after neigh flush" $H6
neigh=$(ip -n "$C" -6 neigh show $H6 dev tw-c)
case $neigh in
*lladdr*)
	case $neigh in
	*FAILED* | *INCOMPLETE*) tw_fail "client neighbour entry for $H6: $neigh" ;;
	*) tw_ok "client resolved $H6: $neigh" ;;
	esac
	;;
*) tw_fail "client never resolved $H6 (neighbour entry: '$neigh')" ;;
esac

tw_done
