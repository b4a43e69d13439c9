#!/bin/sh
# guard_credentials against dovecot (IMAP on 143, POP3 on 110, ManageSieve on 4190, each with STARTTLS), configured
# the way the guard exists for: it would accept a plaintext login (disable_plaintext_auth = no), and it logs every
# login and every failed password (auth_verbose). Without the guard a plaintext "a1 LOGIN" and "USER"/"PASS" log in;
# with it, over IPv4 and IPv6:
#  - commands without credentials (CAPABILITY, CAPA, NOOP) are answered;
#  - "a1 LOGIN", "a1 login", "a1 AUTHENTICATE", a 16-character tag, POP3 USER/user/PASS/APOP/AUTH and ManageSieve
#    AUTHENTICATE get no reply and never reach dovecot: its log has no login and no password check;
#  - a 17-character IMAP tag is not caught: the documented limit, asserted so that the manual stays true;
#  - STARTTLS/STLS, the handshake, then the login inside TLS works: openssl s_client -starttls imap|pop3|sieve, and
#    curl --ssl-reqd imap:// and pop3://;
#  - loopback is not checked: a plaintext login from the host itself (a webmail) still reaches dovecot.
# Each refused segment counts once for every time TCP sent it: exactly 1 + the retransmissions the client's TCP
# made of it (the client closes with an RST, so nothing else follows).
. "$(dirname "$0")/../payload_lib.sh"
tw_need dovecot curl

policy starttls <<'P'
version = 1;
services = (
  { service = "imap"; starttls = true; },
  { service = "pop3"; starttls = true; },
  { service = "sieve"; starttls = true; }
);
P
policy guarded <<'P'
version = 1;
services = (
  { service = "imap"; starttls = true; guard_credentials = true; },
  { service = "pop3"; starttls = true; guard_credentials = true; },
  { service = "sieve"; starttls = true; guard_credentials = true; }
);
P

# STARTTLS offered, plaintext logins accepted: the guard is what keeps them out
D=$T/dovecot
tw_dovecot "$H" "$D" "$ID" yes yes
listening t 143 110 4190

# logins: the logins dovecot logged; mismatches: the wrong passwords it saw; idle: the connections it closed saying
# that they made no attempt to log in
logins() { grep -c 'Login: user=<bob>' "$D/log"; }
mismatches() { grep -c 'passwd-file(bob,.*Password mismatch' "$D/log"; }
idle() { grep -c '(no auth attempts in' "$D/log"; }
# for wait_for: dovecot writes a line when the login, the failure or the disconnection happens
logins_are() { [ "$(logins)" = "$1" ]; }
mismatches_are() { [ "$(mismatches)" = "$1" ]; }
idle_is() { [ "$(idle)" = "$1" ]; }
# imap ADDR LINE [REPLY]: one command after the greeting, silence after 1 s; imap_answered: one that must be
# answered, waited for as long as dovecot may take (after a failed login it delays the next one from the same
# address by up to 15 s: its auth penalty)
imap() { wire dialog "$1" 143 1 '^\* OK' "$2" "${3:-^a1 }" >w.out 2>&1; }
imap_answered() { wire dialog "$1" 143 20 '^\* OK' "$2" "${3:-^a1 }" >w.out 2>&1; }

# ---- control: without the guard, dovecot takes a plaintext login
apply starttls
imap_answered $H4 "a1 LOGIN bob secret"
grep -q '^reply a1 OK .*Logged in' w.out || tw_fail "plaintext IMAP login without the guard: $(cat w.out)"
imap_answered $H4 "a1 LOGIN bob wrong"
grep -q '^reply a1 NO ' w.out || tw_fail "plaintext IMAP login with a wrong password without the guard: $(cat w.out)"
wire dialog $H6 110 20 '^\+OK' "USER bob" '^[+-]' "PASS secret" '^[+-]' >w.out 2>&1
line_is w.out 3 "reply +OK Logged in." "plaintext POP3 login without the guard"
[ "$(logins)" = 2 ] || tw_fail "dovecot should have logged two plaintext logins: $(cat "$D/log")"
wait_for 5 mismatches_are 1 || tw_fail "dovecot should have logged one wrong password: $(cat "$D/log")"

# ---- the guard
apply guarded
idle_before=$(idle)
n_imap=0
n_pop3=0
n_sieve=0
# refused SERVICE WHAT: w.out's last step was silent; the service's counter moves by 1 + the retransmissions
refused() {
	grep -q '^silent$' w.out || tw_fail "$2: expected no reply, got: $(cat w.out)"
	_r=$(retrans w.out)
	eval "n_$1=\$((n_$1 + 1 + _r))"
	eval "_n=\$n_$1"
	expect_dropped "$1" "$_n" "$2 ($_r retransmissions)"
	tw_ok "$2: no reply, $1 dropped $_n"
}
for a in $H4 $H6; do
	wire dialog "$a" 143 1 '^\* OK' "a1 CAPABILITY" '^a1 ' "a1 LOGIN bob secret" '^a1 ' >w.out 2>&1
	grep -q '^reply .*a1 OK' w.out || tw_fail "IMAP CAPABILITY before the upgrade to $a: $(cat w.out)"
	refused imap "IMAP a1 LOGIN to $a"
done
imap $H4 "a1 login bob wrong"
refused imap "IMAP lower case login"
imap $H6 "a1 AUTHENTICATE PLAIN AGJvYgBzZWNyZXQ="
refused imap "IMAP AUTHENTICATE"
imap $H4 "abcdefghijklmnop LOGIN bob secret" '^abcdefghijklmnop '
refused imap "IMAP 16-character tag"
for cmd in "USER bob" "user bob" "PASS wrong" "APOP bob 8b0dc0c5fa5a6c5bc3a4e6d2b3c1a2f0" "AUTH PLAIN"; do
	wire dialog $H4 110 1 '^\+OK' "CAPA" '^\.$' "$cmd" '^[+-]' >w.out 2>&1
	grep -q '^reply +OK' w.out || tw_fail "POP3 CAPA before the upgrade: $(cat w.out)"
	refused pop3 "POP3 $cmd"
done
wire dialog $H6 4190 1 '^OK' 'AUTHENTICATE "PLAIN" "AGJvYgBzZWNyZXQ="' '^(OK|NO|BYE)' >w.out 2>&1
refused sieve "ManageSieve AUTHENTICATE"
[ "$(logins)" = 2 ] || tw_fail "a refused login reached dovecot: $(grep 'Login:' "$D/log")"
[ "$(mismatches)" = 1 ] ||
	tw_fail "dovecot checked a password the guard should have kept away: $(grep 'passwd-file(' "$D/log")"
# dovecot's own word: each of the 11 refused connections closed without an attempt to log in
wait_for 5 idle_is $((idle_before + 11)) ||
	tw_fail "dovecot should have logged 11 more connections with no auth attempts, not $(($(idle) - idle_before))"
# NOOP carries no credentials: the guard lets it through and dovecot answers
wire dialog $H6 143 1 '^\* OK' "a1 NOOP" '^a1 ' >w.out 2>&1
grep -q '^reply a1 OK' w.out || tw_fail "IMAP NOOP under the guard: $(cat w.out)"

# the documented limit: a tag of 17 characters is not looked at
imap_answered $H4 "abcdefghijklmnopq LOGIN bob secret" '^abcdefghijklmnopq '
grep -q '^reply abcdefghijklmnopq OK .*Logged in' w.out ||
	tw_fail "a 17-character tag is documented as not caught, but the login did not get through: $(cat w.out)"
wait_for 5 logins_are 3 || tw_fail "dovecot should have logged the 17-character tag's login: $(grep 'Login:' "$D/log")"

# loopback: the host's own plaintext login reaches dovecot
at_host timeout 30 python3 "$here/wire.py" dialog $H4 143 3 '^\* OK' "a1 LOGIN bob secret" '^a1 ' >w.out 2>&1
grep -q '^reply a1 OK .*Logged in' w.out || tw_fail "a plaintext login over loopback: $(cat w.out)"
wait_for 5 logins_are 4 || tw_fail "dovecot should have logged the loopback login: $(grep 'Login:' "$D/log")"

# after the upgrade, logins work: openssl s_client does STARTTLS/STLS and the handshake, then logs in inside TLS
at_client timeout 15 openssl s_client -quiet -crlf -ign_eof -starttls imap -connect "$(hostport $H4 143)" >s.out 2>&1 <<'IMAP'
a1 LOGIN bob secret
a2 LOGOUT
IMAP
grep -q '^a1 OK .*Logged in' s.out || tw_fail "IMAP login after STARTTLS: $(cat s.out)"
at_client timeout 15 openssl s_client -quiet -crlf -ign_eof -starttls pop3 -connect "$(hostport $H6 110)" >s.out 2>&1 <<'POP3'
USER bob
PASS secret
QUIT
POP3
grep -q '^+OK Logged in' s.out || tw_fail "POP3 login after STLS: $(cat s.out)"
at_client timeout 15 openssl s_client -quiet -crlf -ign_eof -starttls sieve -connect "$(hostport $H4 4190)" \
	>s.out 2>&1 <<'SIEVE'
AUTHENTICATE "PLAIN" "AGJvYgBzZWNyZXQ="
LOGOUT
SIEVE
grep -q '^OK "Logged in."' s.out || tw_fail "ManageSieve login after STARTTLS: $(cat s.out)"
# curl: STARTTLS required, then LIST (IMAP) and LIST (POP3)
at_client curl -sS -g -k --ssl-reqd --connect-timeout 3 -m 10 -u bob:secret "imap://$(hostport $H6 143)/" >c.out 2>&1
grep -q 'INBOX' c.out || tw_fail "curl --ssl-reqd imap://: $(cat c.out)"
at_client curl -sS -g -k --ssl-reqd --connect-timeout 3 -m 10 -u bob:secret "pop3://$(hostport $H4 110)/" >c.out 2>&1
rc=$?
[ $rc -eq 0 ] || tw_fail "curl --ssl-reqd pop3://: exit $rc: $(cat c.out)"
wait_for 5 logins_are 9 ||
	tw_fail "dovecot should have logged 9 logins, 5 of them inside TLS: $(grep 'Login:' "$D/log")"
[ "$(grep 'Login: user=<bob>' "$D/log" | grep -c ', TLS')" = 5 ] ||
	tw_fail "dovecot should have logged 5 logins inside TLS: $(grep 'Login:' "$D/log")"
expect_dropped imap "$n_imap" "nothing more refused on 143"
expect_dropped pop3 "$n_pop3" "nothing more refused on 110"
expect_dropped sieve "$n_sieve" "nothing more refused on 4190"
tw_done
