# Real servers for the namespace tests: openssl s_server, dovecot, postfix, vsftpd and caddy, the way the tests run
# them. Source it after lib.sh. Every server runs inside the test namespace it is given, with throwaway
# configuration and state in a directory under the test's temporary directory, in the foreground (nothing
# daemonizes), and is ended by PID at exit (tw_serve). The caller waits for it with tw_await.
#
# A server's TLS identity is a PREFIX: PREFIX.pem is the certificate, PREFIX.key its key (tw_cert makes one). The
# unprivileged processes of dovecot and postfix read their configuration under the directory they are given: the
# directories above it must be open to them (chmod 0755 "$TW_TMP").

# tw_cert PREFIX CN [DNS-NAME]: PREFIX.pem, a self-signed certificate for CN (with DNS-NAME as its subjectAltName)
# valid for 30 days, and PREFIX.key, its EC P-256 key (made at once, where an RSA key takes a while), readable by
# root only; the test fails and stops if openssl cannot make them
tw_cert() {
	_id=$1 _cn=$2
	if [ -n "${3:-}" ]; then set -- -addext "subjectAltName=DNS:$3"; else set --; fi
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj "/CN=$_cn" "$@" \
		-keyout "$_id.key" -out "$_id.pem" >"$_id.req.log" 2>&1 && chmod 600 "$_id.key" ||
		{ tw_fail "openssl could not make a certificate for $_cn: $(tail -n 1 "$_id.req.log")"; tw_done; }
}

# tw_s_server NS PORT ID [ARG...]: openssl s_server in NS on PORT (one dual-stack socket), with the identity ID and
# the s_server options ARG (-www: answers an HTTP GET with a status page); its output in $TW_TMP/s_server-PORT.log
tw_s_server() {
	_ns=$1 _port=$2 _id=$3
	shift 3
	tw_serve "$_ns" openssl s_server -quiet -accept "$_port" -cert "$_id.pem" -key "$_id.key" "$@" </dev/null \
		>"$TW_TMP/s_server-$_port.log" 2>&1
}

# _yes WORD YES NO: YES when WORD is "yes", else NO
_yes() { if [ "$1" = yes ]; then echo "$2"; else echo "$3"; fi; }

# tw_dovecot NS DIR ID TLS PLAINTEXT: dovecot in NS for IMAP on 143, POP3 on 110 and ManageSieve on 4190, on every
# address; STARTTLS (STLS) with the identity ID when TLS is yes; a plaintext login before it accepted when PLAINTEXT
# is yes. One user, bob, password "secret"; every login and every wrong password is logged (auth_verbose) to
# DIR/log.
tw_dovecot() {
	_ns=$1 _d=$2
	mkdir -p "$_d/run" "$_d/state" "$_d/home/bob" || exit 1
	chown nobody:nogroup "$_d/home/bob"
	echo 'bob:{PLAIN}secret::::::' >"$_d/users"
	cat >"$_d/dovecot.conf" <<DC
base_dir = $_d/run
state_dir = $_d/state
log_path = $_d/log
instance_name = tlswall-test-$(basename "$_d")-$$
protocols = imap pop3 sieve
listen = *, ::
ssl = $4
ssl_cert = <$3.pem
ssl_key = <$3.key
disable_plaintext_auth = $(_yes "$5" no yes)
auth_mechanisms = plain
auth_verbose = yes
auth_failure_delay = 0
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN $_d/users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$_d/home/%u
}
service imap-login {
  inet_listener imap {
    port = 143
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 110
  }
  inet_listener pop3s {
    port = 0
  }
}
service managesieve-login {
  inet_listener sieve {
    port = 4190
  }
}
DC
	tw_serve "$_ns" dovecot -F -c "$_d/dovecot.conf"
}

# tw_postfix NS DIR ID TLS SERVICE...: postfix in NS (its master in the foreground) for every SERVICE, smtp (25) or
# submission (587), on every address, with no SASL; STARTTLS (TLS 1.2 or later) with the identity ID offered when
# TLS is yes. Queue and data under DIR, its log in DIR/log.
tw_postfix() {
	_ns=$1 _d=$2 _id=$3 _tls=$4
	shift 4
	mkdir -p "$_d/spool" "$_d/data" || exit 1
	chown postfix "$_d/data"
	cat >"$_d/main.cf" <<PF
compatibility_level = 3.6
queue_directory = $_d/spool
data_directory = $_d/data
maillog_file = $_d/log
maillog_file_prefixes = $_d
mail_owner = postfix
setgid_group = postdrop
myhostname = host.test
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = all
inet_protocols = all
smtpd_tls_cert_file = $_id.pem
smtpd_tls_key_file = $_id.key
smtpd_tls_security_level = $(_yes "$_tls" may none)
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
PF
	: >"$_d/master.cf"
	for _s in "$@"; do printf '%-10s inet  n  -  n  -  -  smtpd\n' "$_s" >>"$_d/master.cf"; done
	cat >>"$_d/master.cf" <<'PF'
postlog    unix-dgram n - n - 1 postlogd
tlsmgr     unix  -  -  n  1000? 1 tlsmgr
anvil      unix  -  -  n  -  1  anvil
PF
	# creates the queue directories with the owners postfix wants
	ip netns exec "$_ns" postfix -c "$_d" check >/dev/null 2>&1
	tw_serve "$_ns" /usr/lib/postfix/sbin/master -c "$_d" -d
}

# tw_vsftpd NS DIR ID TLS PLAINTEXT LISTEN: vsftpd in NS (in the foreground) on port 21 of LISTEN (0.0.0.0: IPv4
# only; "::": both families on one socket), for local users; AUTH TLS with the identity ID when TLS is yes; USER and
# PASS before it accepted when PLAINTEXT is yes
tw_vsftpd() {
	if [ "$6" = :: ]; then _v4=NO _v6=YES; else _v4=YES _v6=NO; fi
	mkdir -p "$2/empty" || exit 1
	cat >"$2/vsftpd.conf" <<FTP
listen=$_v4
listen_ipv6=$_v6
listen_port=21
background=NO
anonymous_enable=NO
local_enable=YES
ssl_enable=$(_yes "$4" YES NO)
ssl_tlsv1=YES
ssl_sslv2=NO
ssl_sslv3=NO
rsa_cert_file=$3.pem
rsa_private_key_file=$3.key
force_local_logins_ssl=$(_yes "$5" NO YES)
force_local_data_ssl=$(_yes "$5" NO YES)
secure_chroot_dir=$2/empty
seccomp_sandbox=NO
xferlog_enable=NO
pam_service_name=vsftpd
FTP
	tw_serve "$1" vsftpd "$2/vsftpd.conf"
}

# tw_caddy NS DIR ID: caddy in NS for HTTPS on 443, over TCP (HTTP/1.1 and 2) and QUIC (HTTP/3, 443/udp), with the
# identity ID, answering every request with "ok from caddy"; its home, storage and log (DIR/log) under DIR. Its PID
# is $! (to stop it before the end).
tw_caddy() {
	mkdir -p "$2" || exit 1
	cat >"$2/Caddyfile" <<CADDY
{
	admin off
	auto_https off
	storage file_system $2/data
	servers {
		protocols h1 h2 h3
	}
}
https://:443 {
	tls $3.pem $3.key
	respond "ok from caddy"
}
CADDY
	tw_serve "$1" env HOME="$2" XDG_DATA_HOME="$2" XDG_CONFIG_HOME="$2" caddy run --config "$2/Caddyfile" \
		--adapter caddyfile >"$2/log" 2>&1
}
