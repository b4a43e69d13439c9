#!/bin/sh
# tlswall audit against real servers from Debian packages, each group of servers in a network namespace of its own,
# with throwaway configurations and state under the test's temporary directory, stopped by PID at the end:
#  tls     openssl s_server with a valid certificate, one expiring in 5 days, an expired one, one for another name,
#          one server still accepting TLS 1.0; a blocked listener, a loopback-only one, an exemption, an idle service
#  web     caddy on 443/tcp and 443/udp: a real QUIC server answers the QUIC probe
#  plain   plaintext HTTP on 443, a silent UDP socket on 443, a listener that never answers, one that answers a byte
#          a second: flagged, and the audit stays within its documented time bound
#  mail    every upgradable service offering STARTTLS: dovecot (IMAP, POP3, ManageSieve, LOGINDISABLED), postfix
#          (SMTP, submission), vsftpd (AUTH TLS, 530 before it), slapd (StartTLS), scripted NNTP, XMPP, PostgreSQL
#  mailbad dovecot without STARTTLS and with plaintext logins, vsftpd without AUTH TLS, postfix without STARTTLS,
#          NNTP with AUTHINFO USER and no STARTTLS: every one flagged
#  many    40 listeners, 20 of them probed, one never answering: within the bound, side by side
# The text output is compared with tests/netns/audit/*.txt (PIDs, dates and column padding normalised), the JSON
# is checked field by field, and the ruleset generation is the same before and after every audit.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/servers_lib.sh"
tw_require_root
tw_need openssl python3 ss timeout strace dovecot postfix vsftpd slapd caddy
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
T=$TW_TMP
export TLSWALL_STATE_DIR="$T/state"
# tw_cleanup ends every server by PID; postfix's master is started the same way, so nothing here daemonizes
cd "$T" || exit 1
# the servers' unprivileged processes (postfix, dovenull, ...) must reach their configuration and spool in here
chmod 0755 "$T"
# the expected files are written by UPDATE=1 (review them before committing)
UPDATE=${UPDATE:-}

# ---- certificates: a throwaway CA and its leaves (keys never leave the temporary directory)
mkdir -p ca/new && touch ca/index.txt && echo 1000 >ca/serial
cat >ca/ca.cnf <<CNF
[ ca ]
default_ca = tw
[ tw ]
dir = $T/ca
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[ any ]
commonName = supplied
CNF
tw_cert "$T/ca/ca" "tlswall test CA"
# leaf NAME CN ARGS...: NAME.pem and NAME.key, signed by the CA, with the CN as its DNS name
leaf() {
	_n=$1 _cn=$2
	shift 2
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$_cn" \
		-addext "subjectAltName=DNS:$_cn" -keyout "$_n.key" -out "$_n.csr" >ca/log 2>&1 &&
		openssl ca -batch -config ca/ca.cnf -cert ca/ca.pem -keyfile ca/ca.key -in "$_n.csr" -out "$_n.pem" \
			-notext "$@" >ca/log 2>&1 || { cat ca/log; exit 1; }
}
# every end date an hour short of a whole number of days, so the days left read the same however long the test
# takes (or however the clock is stepped meanwhile)
enddate() { date -u -d "$1" +%Y%m%d%H%M%SZ; }
leaf valid host.test -enddate "$(enddate '+365 days -1 hour')"
leaf soon host.test -enddate "$(enddate '+5 days -1 hour')"
leaf expired host.test -startdate "$(enddate '-30 days')" -enddate "$(enddate '-3 days +1 hour')"
leaf other other.test -enddate "$(enddate '+365 days -1 hour')"
chmod 0600 ./*.key

# ---- helpers
# group NAME: a namespace with loopback and a veth pair inside it (IPv6 and IPv4 addresses that are not loopback,
# so the probes can come from an address other than the one they go to), in $NS
group() {
	tw_netns "$1"
	NS=$TW_NS
	tw_nodad "$NS"
	ip -n "$NS" link add tw0 type veth peer name tw1 || exit 1
	ip -n "$NS" addr add 10.77.0.1/24 dev tw0
	ip -n "$NS" addr add fd00:77::1/64 dev tw0 nodad
	ip -n "$NS" link set tw0 up
	ip -n "$NS" link set tw1 up
}
# serve CMD...: a server in $NS, ended by PID at exit
serve() { tw_serve "$NS" "$@"; }
# listening PROTO PORT...: waits until something listens on every port in $NS; else a failure, the servers' logs
listening() {
	tw_await "$NS" "$@" && return 0
	echo "logs: $(tail -n 5 "$T"/*/log "$T"/*.log 2>/dev/null)" >&2
	return 1
}
# s_server PORT CERT ARGS...: openssl s_server in $NS on PORT, with the certificate CERT (valid, soon, ...)
s_server() {
	_port=$1 _cert=$2
	shift 2
	tw_s_server "$NS" "$_port" "$T/$_cert" "$@"
}
generation() { ip netns exec "$NS" "$bin" -f "$1" show --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["generation"])'; }
normalize() { sed -E 's/\[[0-9]+\](\+[0-9]+)?/[PID]/g; s/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z/DATE/g; s/ +/ /g'; }
# audit NAME ARGS...: apply NAME.conf in $NS, audit it (text and JSON), check the generation did not move, compare
# the text with audit/NAME.txt; exit status in $RC, JSON in NAME.json
audit() {
	_g=$1
	shift
	ip netns exec "$NS" "$bin" -f "$_g.conf" apply >"$_g.apply" 2>&1 || tw_fail "$_g: apply: $(cat "$_g.apply")"
	_before=$(generation "$_g.conf")
	ip netns exec "$NS" timeout 30 "$bin" -f "$_g.conf" audit --name host.test "$@" >"$_g.txt" 2>"$_g.err"
	RC=$?
	ip netns exec "$NS" timeout 30 "$bin" -f "$_g.conf" audit --name host.test --json "$@" >"$_g.json" 2>"$_g.jerr"
	_jrc=$?
	_after=$(generation "$_g.conf")
	[ "$_before" = "$_after" ] || tw_fail "$_g: the ruleset generation moved from $_before to $_after during the audit"
	[ "$_jrc" -eq "$RC" ] || tw_fail "$_g: audit exits $RC, audit --json $_jrc"
	[ -s "$_g.err" ] && tw_fail "$_g: audit wrote to stderr: $(cat "$_g.err")"
	normalize <"$_g.txt" >"$_g.norm"
	if [ -n "$UPDATE" ]; then
		cp "$_g.norm" "$here/audit/$_g.txt"
	elif ! diff -u "$here/audit/$_g.txt" "$_g.norm" >"$_g.diff"; then
		tw_fail "$_g: the text output differs from audit/$_g.txt: $(cat "$_g.diff")"
	fi
	python3 "$here/audit_json.py" "$_g" "$_g.json" || tw_fail "$_g: JSON output: see above"
}

# ---- tls: certificates and versions over implicit TLS
group tls
tw_policy tls.conf <<'P'
version = 1;
services = (
  { service = "https"; },
  { service = "imaps"; },
  { service = "pop3s"; },
  { service = "submissions"; },
  { service = "ldaps"; },
  { service = "nntps"; }
);
exemptions = (
  { name = "ssh"; port = 22; proto = "tcp"; reason = "SSH is encrypted but not TLS"; }
);
P
s_server 443 valid -www
s_server 993 soon
s_server 995 expired
s_server 636 other
# TLS 1.0 (and 1.2 and 1.3, but not 1.1): OpenSSL needs security level 0 to speak it at all
s_server 465 valid -min_protocol TLSv1 -no_tls1_1 -cipher DEFAULT:@SECLEVEL=0
serve python3 "$here/audit-servers.py" valid.pem valid.key silent:22 http:8080 silent:9999:127.0.0.1 >servers-tls.log
listening t 443 993 995 636 465 22 8080 9999
audit tls --timeout 2
[ "$RC" -eq 4 ] || tw_fail "tls: exit $RC, expected 4 (findings)"
# a listener that the policy blocks is information: alone, it is not a finding
tw_policy blocked.conf <<'P'
version = 1;
services = ( { service = "https"; } );
P
ip netns exec "$NS" "$bin" -f blocked.conf audit --name host.test >blocked.out 2>&1
rc=$?
[ $rc -eq 0 ] || tw_fail "blocked listeners only: exit $rc, expected 0: $(cat blocked.out)"
grep -q '^8080/tcp .* blocked ' blocked.out || tw_fail "blocked listeners only: 8080 not reported blocked: $(cat blocked.out)"
# --no-probe lists without connecting: the servers see no connection
ip netns exec "$NS" "$bin" -f tls.conf audit --no-probe --name host.test >noprobe.out 2>&1
rc=$?
[ $rc -eq 0 ] || tw_fail "--no-probe: exit $rc, expected 0: $(cat noprobe.out)"
grep -q '^443/tcp .* TLS https  *not probed (--no-probe)$' noprobe.out || tw_fail "--no-probe: $(cat noprobe.out)"
# strictly read-only towards netfilter: every message it sends is a GET (the tables, for published ports) or a
# sock_diag dump; never a batch, never a NEW or DEL (strace decodes the netlink message types)
ip netns exec "$NS" strace -f -qq -e trace=sendto,sendmsg -o strace.out "$bin" -f tls.conf audit --no-probe >/dev/null 2>&1
grep -q 'nlmsg_type=SOCK_DIAG_BY_FAMILY' strace.out || tw_fail "strace saw no sock_diag dump: $(cat strace.out)"
grep -q 'nlmsg_type=NFNL_SUBSYS_NFTABLES<<8|NFT_MSG_GETRULE' strace.out || tw_fail "strace saw no rule dump: $(cat strace.out)"
writes=$(grep -o 'nlmsg_type=[A-Z_]*\(<<8|[A-Z_]*\)\?' strace.out | grep -v -e 'NFT_MSG_GET' -e 'SOCK_DIAG_BY_FAMILY' | sort -u)
[ -z "$writes" ] || tw_fail "audit sent netlink messages that are not reads: $writes"
# bad options and a broken policy
ip netns exec "$NS" "$bin" -f tls.conf audit --timeout 0 >bad.out 2>&1
[ $? -eq 1 ] && grep -q -- '--timeout "0": expected seconds between 0.1 and 60' bad.out || tw_fail "--timeout 0: $(cat bad.out)"
ip netns exec "$NS" "$bin" -f tls.conf audit --expiry x >bad.out 2>&1
[ $? -eq 1 ] && grep -q -- '--expiry "x": expected days between 0 and 3650' bad.out || tw_fail "--expiry x: $(cat bad.out)"
printf 'version = 1;\nservices = ( { service = "http"; } );\n' >broken.conf
ip netns exec "$NS" "$bin" -f broken.conf audit >bad.out 2>&1
[ $? -eq 1 ] && grep -q 'broken.conf: the policy has errors; nothing was audited' bad.out || tw_fail "broken policy: $(cat bad.out)"
# --expiry 0 silences the expiry warning; the expired certificate stays critical
ip netns exec "$NS" "$bin" -f tls.conf audit --name host.test --expiry 0 >expiry0.out 2>&1
if grep -q 'expires in' expiry0.out; then tw_fail "--expiry 0 still warns: $(cat expiry0.out)"; fi
grep -q 'critical: the certificate expired 3 days ago' expiry0.out || tw_fail "--expiry 0: $(cat expiry0.out)"

# ---- web: caddy, HTTP/3 on 443/udp
group web
tw_policy web.conf <<'P'
version = 1;
services = ( { service = "https"; } );
P
tw_caddy "$NS" "$T/caddy" "$T/valid"
listening t 443 && listening u 443
audit web --timeout 2
[ "$RC" -eq 0 ] || tw_fail "web: exit $RC, expected 0: $(cat web.txt)"

# ---- plain: what should be TLS is not, and servers that hold the probe up
group plain
tw_policy plain.conf <<'P'
version = 1;
services = (
  { service = "https"; },
  { service = "imaps"; },
  { service = "pop3s"; }
);
P
serve python3 "$here/audit-servers.py" valid.pem valid.key http:443 udp-silent:443 silent:993 slow:995 >servers-plain.log
listening t 443 993 995 && listening u 443
t0=$(now_ms)
audit plain --timeout 2
[ "$RC" -eq 4 ] || tw_fail "plain: exit $RC, expected 4"
# documented bound: timeout x ceil(connections / 64) + 1 s; 7 connections here, and audit ran twice
t1=$(now_ms)
took=$(python3 -c 'import json; print(json.load(open("plain.json"))["elapsed_ms"])')
[ "$took" -lt 3000 ] || tw_fail "plain: the audit took $took ms, over its bound of 3000 ms"
[ "$took" -ge 1900 ] || tw_fail "plain: the audit took $took ms: the silent listener was not given its 2 s"
[ $((t1 - t0)) -lt 9000 ] || tw_fail "plain: two audits took $((t1 - t0)) ms"

# ---- mail: every upgradable service, offering STARTTLS, with no plaintext login before it
# mail_servers NAME TLS PLAINTEXT: dovecot (IMAP, POP3, ManageSieve), postfix (SMTP, submission) and vsftpd (IPv4)
# in $NS, with the certificate "valid", state under $T/SERVER-NAME
mail_servers() {
	tw_dovecot "$NS" "$T/dovecot-$1" "$T/valid" "$2" "$3"
	tw_postfix "$NS" "$T/postfix-$1" "$T/valid" "$2" smtp submission
	tw_vsftpd "$NS" "$T/vsftpd-$1" "$T/valid" "$2" "$3" 0.0.0.0
}
group mail
tw_policy mail.conf <<'P'
version = 1;
services = (
  { service = "ftp"; starttls = true; passive_ports = "40000-40010"; },
  { service = "smtp"; starttls = true; },
  { service = "submission"; starttls = true; },
  { service = "pop3"; starttls = true; },
  { service = "imap"; starttls = true; },
  { service = "nntp"; starttls = true; },
  { service = "ldap"; starttls = true; },
  { service = "sieve"; starttls = true; },
  { service = "xmpp-client"; starttls = true; },
  { service = "xmpp-server"; starttls = true; },
  { service = "postgresql"; starttls = true; }
);
P
mail_servers good yes no
mkdir -p slapd
cat >slapd/slapd.conf <<LDAP
pidfile $T/slapd/slapd.pid
argsfile $T/slapd/slapd.args
TLSCertificateFile $T/valid.pem
TLSCertificateKeyFile $T/valid.key
TLSProtocolMin 3.3
TLSCipherSuite NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2
LDAP
serve slapd -d 0 -h "ldap:///" -f "$T/slapd/slapd.conf"
serve python3 "$here/audit-servers.py" valid.pem valid.key nntp:119 xmpp-client:5222 xmpp-server:5269 \
	postgresql:5432 >servers-mail.log
listening t 21 25 587 110 143 119 389 4190 5222 5269 5432
audit mail --timeout 2
[ "$RC" -eq 0 ] || tw_fail "mail: exit $RC, expected 0: $(cat mail.txt)"

# ---- mailbad: no STARTTLS, plaintext logins
group mailbad
tw_policy mailbad.conf <<'P'
version = 1;
services = (
  { service = "ftp"; starttls = true; passive_ports = "40000-40010"; },
  { service = "smtp"; starttls = true; },
  { service = "pop3"; starttls = true; },
  { service = "imap"; starttls = true; },
  { service = "nntp"; starttls = true; }
);
P
mail_servers bad no yes
serve python3 "$here/audit-servers.py" valid.pem valid.key nntp-plain:119 >servers-mailbad.log
listening t 21 25 110 143 119
audit mailbad --timeout 2
[ "$RC" -eq 4 ] || tw_fail "mailbad: exit $RC, expected 4"

# ---- many: 40 listeners, 20 allowed and probed (19 TLS servers and one that never answers), 20 blocked
group many
{
	echo 'version = 1;'
	echo 'services = ('
	for i in $(seq 1 20); do
		printf '  { name = "app%d"; port = %d; proto = "tcp"; tls = true; }%s\n' "$i" $((20000 + i)) \
			"$([ "$i" -lt 20 ] && echo ,)"
	done
	echo ');'
} >many.conf
specs=""
for i in $(seq 1 19); do specs="$specs tls:$((20000 + i))"; done
specs="$specs silent:20020"
for i in $(seq 1 20); do specs="$specs silent:$((21000 + i))"; done
# shellcheck disable=SC2086
serve python3 "$here/audit-servers.py" valid.pem valid.key $specs >servers-many.log
# shellcheck disable=SC2046
listening t $(seq 20001 20020) $(seq 21001 21020)
ip netns exec "$NS" "$bin" -f many.conf apply >/dev/null 2>&1
t0=$(now_ms)
ip netns exec "$NS" "$bin" -f many.conf audit --name host.test --timeout 2 --json >many.json 2>many.err
rc=$?
t1=$(now_ms)
[ $rc -eq 4 ] || tw_fail "many: exit $rc, expected 4: $(cat many.err)"
python3 - many.json $((t1 - t0)) <<'PY' || tw_fail "many: see above"
import json, sys
d = json.load(open(sys.argv[1]))
wall = int(sys.argv[2])
rows = d["listeners"]
assert len(rows) == 40, len(rows)
probed = [r for r in rows if r["probe"]]
assert len(probed) == 20, len(probed)
ok = [r for r in probed if r["probe"]["status"] == "ok"]
assert len(ok) == 19, [r["probe"] for r in probed]
silent = [r for r in probed if r["probe"]["status"] == "timeout"]
assert [r["port"] for r in silent] == [20020], silent
assert sum(r["verdict"] == "blocked" for r in rows) == 20
assert d["elapsed_ms"] < 3000 and wall < 3000, (d["elapsed_ms"], wall)
print("many: 40 listeners, 20 probed, one silent: audit %d ms (wall %d ms, bound 3000 ms)" % (d["elapsed_ms"], wall))
PY

tw_done
