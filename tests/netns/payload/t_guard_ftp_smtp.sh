#!/bin/sh
# guard_credentials against vsftpd (ftp, AUTH TLS), postfix (smtp, STARTTLS) and a scripted NNTP server: each
# answers the login command when the guard is off (vsftpd "331", postfix "503" as it has no SASL, NNTP "500"), so a
# missing answer under the guard means the segment never reached it. With the guard: FEAT, EHLO and CAPABILITIES are
# answered; USER, PASS, "user", AUTH, "auth", AUTHINFO get nothing back, each counted exactly (1 + the client's
# retransmissions); AUTH TLS and STARTTLS, the handshake, then the same commands inside TLS are answered
# (openssl s_client -starttls ftp|smtp).
. "$(dirname "$0")/../payload_lib.sh"
tw_need vsftpd postfix

policy starttls <<'P'
version = 1;
services = (
  { service = "ftp"; starttls = true; passive_ports = "none"; },
  { service = "smtp"; starttls = true; },
  { service = "nntp"; starttls = true; }
);
P
policy guarded <<'P'
version = 1;
services = (
  { service = "ftp"; starttls = true; passive_ports = "none"; guard_credentials = true; },
  { service = "smtp"; starttls = true; guard_credentials = true; },
  { service = "nntp"; starttls = true; guard_credentials = true; }
);
P

# vsftpd, one dual-stack socket, plaintext logins allowed (the guard is what keeps them out)
tw_vsftpd "$H" "$T/vsftpd" "$ID" yes yes ::
# postfix: SMTP on 25 with STARTTLS offered, no SASL
tw_postfix "$H" "$T/postfix" "$ID" yes smtp
serve python3 "$here/../audit-servers.py" "$ID.pem" "$ID.key" nntp:119 >nntp.log 2>&1
listening t 21 25 119

ftp() { wire dialog "$1" 21 1 '^220 ' "FEAT" '^211 ' "$2" '^[0-9]{3} ' >w.out 2>&1; }
smtp() { wire dialog "$1" 25 1 '^220 ' "EHLO client.test" '^250 ' "$2" '^[0-9]{3} ' >w.out 2>&1; }
nntp() { wire dialog "$1" 119 1 '^200 ' "CAPABILITIES" '^\.$' "$2" '^[0-9]{3} ' >w.out 2>&1; }
# answered WHAT CODE: the last step got a reply starting with CODE
answered() { tail -n 2 w.out | grep -q "^reply $2" || tw_fail "$1: expected a $2 reply, got: $(cat w.out)"; }

apply starttls
ftp $H4 "USER bob"
answered "ftp USER without the guard" 331
smtp $H6 "AUTH PLAIN AGJvYgBzZWNyZXQ="
answered "smtp AUTH without the guard" 503
nntp $H4 "AUTHINFO USER bob"
answered "nntp AUTHINFO without the guard" 500

apply guarded
n_ftp=0
n_smtp=0
n_nntp=0
# refused SERVICE WHAT: the earlier steps were answered, the last one was not; the counter moves by 1 + retransmissions
refused() {
	[ "$(grep -c '^reply ' w.out)" = 1 ] && grep -q '^silent$' w.out ||
		tw_fail "$2: expected one reply and then silence, got: $(cat w.out)"
	_r=$(retrans w.out)
	eval "n_$1=\$((n_$1 + 1 + _r))"
	eval "_n=\$n_$1"
	expect_dropped "$1" "$_n" "$2 ($_r retransmissions)"
	tw_ok "$2: no reply, $1 dropped $_n"
}
ftp $H4 "USER bob"
refused ftp "ftp USER over IPv4"
ftp $H6 "user bob"
refused ftp "ftp user over IPv6"
ftp $H4 "PASS secret"
refused ftp "ftp PASS"
smtp $H4 "AUTH PLAIN AGJvYgBzZWNyZXQ="
refused smtp "smtp AUTH over IPv4"
smtp $H6 "auth login"
refused smtp "smtp auth over IPv6"
nntp $H6 "AUTHINFO USER bob"
refused nntp "nntp AUTHINFO"

# upgraded: the same commands inside TLS are answered
at_client timeout 15 openssl s_client -quiet -crlf -ign_eof -starttls ftp -connect "$(hostport $H4 21)" >s.out 2>&1 <<'FTP'
USER bob
QUIT
FTP
grep -q '^331 ' s.out || tw_fail "ftp USER after AUTH TLS: $(cat s.out)"
at_client timeout 15 openssl s_client -quiet -crlf -ign_eof -starttls smtp -connect "$(hostport $H6 25)" >s.out 2>&1 <<'SMTP'
EHLO client.test
AUTH PLAIN AGJvYgBzZWNyZXQ=
QUIT
SMTP
grep -q '^503 ' s.out || tw_fail "smtp AUTH after STARTTLS: $(cat s.out)"
expect_dropped ftp "$n_ftp" "nothing refused inside TLS (ftp)"
expect_dropped smtp "$n_smtp" "nothing refused inside TLS (smtp)"
expect_dropped nntp "$n_nntp" "nothing more refused (nntp)"
tw_done
