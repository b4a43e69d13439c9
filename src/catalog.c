#include <stdio.h>
#include <string.h>

#include "tlswall/catalog.h"
#include "tlswall/util.h"

#define TCP(p) { L4_TCP, p, p }
#define UDP(p) { L4_UDP, p, p }

static const char *const pop3_commands[] = { "USER", "PASS", "APOP", "AUTH", NULL };
static const char *const ftp_commands[] = { "USER", "PASS", NULL };
static const char *const smtp_commands[] = { "AUTH", NULL };
static const char *const nntp_commands[] = { "AUTHINFO", NULL };
static const char *const imap_commands[] = { "LOGIN", "AUTHENTICATE", NULL };
static const char *const sieve_commands[] = { "AUTHENTICATE", NULL };

static const struct login_commands pop3_logins = { false, pop3_commands };
static const struct login_commands ftp_logins = { false, ftp_commands };
static const struct login_commands smtp_logins = { false, smtp_commands };
static const struct login_commands nntp_logins = { false, nntp_commands };
static const struct login_commands imap_logins = { true, imap_commands };
static const struct login_commands sieve_logins = { false, sieve_commands };

/* The catalogue (tlswall.conf(5) lists it, `tlswall services` prints it). ftps lists only 990: active-mode data
 * leaves from 989 as an outbound connection (conntrack lets its replies in), and passive data uses the range the
 * policy names. */
static const struct catalog_entry catalog[] = {
	/* implicit TLS */
	{ "https", { TCP(443), UDP(443) }, 2, TLS_IMPLICIT, "http", NULL, "RFC 9110, RFC 9114",
	  "443/udp carries HTTP/3 (QUIC); without it browsers fall back to TCP after a delay", WIRE_QUIC, NULL },
	{ "ftps", { TCP(990) }, 1, TLS_IMPLICIT, "ftp", NULL, "RFC 4217",
	  "passive data ports are the server's range: name it with passive_ports", WIRE_NONE, NULL },
	{ "pop3s", { TCP(995) }, 1, TLS_IMPLICIT, "pop3", NULL, "RFC 8314", NULL, WIRE_NONE, NULL },
	{ "imaps", { TCP(993) }, 1, TLS_IMPLICIT, "imap", NULL, "RFC 8314", NULL, WIRE_NONE, NULL },
	{ "ldaps", { TCP(636) }, 1, TLS_IMPLICIT, "ldap", NULL, "IANA", NULL, WIRE_NONE, NULL },
	{ "nntps", { TCP(563) }, 1, TLS_IMPLICIT, "nntp", NULL, "RFC 4642", NULL, WIRE_NONE, NULL },
	{ "submissions", { TCP(465) }, 1, TLS_IMPLICIT, "submission", NULL, "RFC 8314", NULL, WIRE_NONE, NULL },
	{ "domain-s", { TCP(853), UDP(853) }, 2, TLS_IMPLICIT, "domain", NULL, "RFC 7858, RFC 9250",
	  "DNS over TLS (tcp) and DNS over QUIC (udp)", WIRE_QUIC, NULL },
	{ "ircs", { TCP(6697) }, 1, TLS_IMPLICIT, "irc", NULL, "RFC 7194", NULL, WIRE_NONE, NULL },
	{ "secure-mqtt", { TCP(8883) }, 1, TLS_IMPLICIT, "mqtt", NULL, "IANA", NULL, WIRE_NONE, NULL },
	{ "sips", { TCP(5061) }, 1, TLS_IMPLICIT, "sip", NULL, "RFC 3261", NULL, WIRE_NONE, NULL },
	{ "xmpps-client", { TCP(5223) }, 1, TLS_IMPLICIT, "xmpp-client", NULL, "XEP-0368", NULL, WIRE_NONE, NULL },
	{ "telnets", { TCP(992) }, 1, TLS_IMPLICIT, "telnet", NULL, "IANA", NULL, WIRE_NONE, NULL },
	{ "syslog-tls", { TCP(6514) }, 1, TLS_IMPLICIT, "syslog", NULL, "RFC 5425", NULL, WIRE_NONE, NULL },
	{ "amqps", { TCP(5671) }, 1, TLS_IMPLICIT, "amqp", NULL, "IANA", NULL, WIRE_NONE, NULL },
	{ "radsec", { TCP(2083) }, 1, TLS_IMPLICIT, "radius", NULL, "RFC 6614", NULL, WIRE_NONE, NULL },
	{ "coaps", { UDP(5684) }, 1, TLS_IMPLICIT, "coap", NULL, "RFC 7252", "DTLS", WIRE_DTLS, NULL },
	{ "ntske", { TCP(4460) }, 1, TLS_IMPLICIT, NULL, NULL, "RFC 8915", "NTS key establishment", WIRE_NONE, NULL },
	{ "msft-gc-ssl", { TCP(3269) }, 1, TLS_IMPLICIT, "msft-gc", NULL, "IANA", "LDAP global catalog over TLS", WIRE_NONE, NULL },

	/* plaintext that can upgrade in-protocol */
	{ "ftp", { TCP(21) }, 1, TLS_UPGRADABLE, "ftps", "AUTH TLS", "RFC 4217",
	  "with TLS on the control channel the kernel's FTP helper cannot see PASV replies: name passive_ports", WIRE_NONE,
	  &ftp_logins },
	{ "smtp", { TCP(25) }, 1, TLS_UPGRADABLE, NULL, "STARTTLS", "RFC 3207", "server-to-server mail has no implicit-TLS port",
	  WIRE_NONE, &smtp_logins },
	{ "submission", { TCP(587) }, 1, TLS_UPGRADABLE, "submissions", "STARTTLS", "RFC 6409, RFC 3207", NULL, WIRE_NONE,
	  &smtp_logins },
	{ "pop3", { TCP(110) }, 1, TLS_UPGRADABLE, "pop3s", "STLS", "RFC 2595", NULL, WIRE_NONE, &pop3_logins },
	{ "nntp", { TCP(119) }, 1, TLS_UPGRADABLE, "nntps", "STARTTLS", "RFC 4642", NULL, WIRE_NONE, &nntp_logins },
	{ "imap", { TCP(143) }, 1, TLS_UPGRADABLE, "imaps", "STARTTLS", "RFC 2595, RFC 9051", NULL, WIRE_NONE, &imap_logins },
	{ "ldap", { TCP(389) }, 1, TLS_UPGRADABLE, "ldaps", "StartTLS (1.3.6.1.4.1.1466.20037)", "RFC 4511, RFC 4513", NULL, WIRE_NONE, NULL },
	{ "sieve", { TCP(4190) }, 1, TLS_UPGRADABLE, NULL, "STARTTLS", "RFC 5804", NULL, WIRE_NONE, &sieve_logins },
	{ "xmpp-client", { TCP(5222) }, 1, TLS_UPGRADABLE, "xmpps-client", "STARTTLS", "RFC 6120", NULL, WIRE_NONE, NULL },
	{ "xmpp-server", { TCP(5269) }, 1, TLS_UPGRADABLE, NULL, "STARTTLS", "RFC 6120", NULL, WIRE_NONE, NULL },
	{ "postgresql", { TCP(5432) }, 1, TLS_UPGRADABLE, NULL, "SSLRequest", "PostgreSQL protocol", NULL, WIRE_NONE, NULL },

	/* plaintext, no upgrade: an exemption with a reason is the only way to open these */
	{ "http", { TCP(80) }, 1, TLS_PLAINTEXT, "https", NULL, "RFC 9110", NULL, WIRE_NONE, NULL },
	{ "telnet", { TCP(23) }, 1, TLS_PLAINTEXT, "telnets", NULL, "RFC 854", NULL, WIRE_NONE, NULL },
	{ "domain", { TCP(53), UDP(53) }, 2, TLS_PLAINTEXT, "domain-s", NULL, "RFC 1035", NULL, WIRE_NONE, NULL },
	{ "ntp", { UDP(123) }, 1, TLS_PLAINTEXT, NULL, NULL, "RFC 5905", "NTS protects it with keys from ntske", WIRE_NONE, NULL },
	{ "mqtt", { TCP(1883) }, 1, TLS_PLAINTEXT, "secure-mqtt", NULL, "IANA", NULL, WIRE_NONE, NULL },
	{ "irc", { TCP(6667) }, 1, TLS_PLAINTEXT, "ircs", NULL, "RFC 1459", NULL, WIRE_NONE, NULL },
	{ "snmp", { UDP(161) }, 1, TLS_PLAINTEXT, NULL, NULL, "RFC 3411", NULL, WIRE_NONE, NULL },
	{ "sip", { TCP(5060), UDP(5060) }, 2, TLS_PLAINTEXT, "sips", NULL, "RFC 3261", NULL, WIRE_NONE, NULL },
	{ "syslog", { UDP(514) }, 1, TLS_PLAINTEXT, "syslog-tls", NULL, "RFC 5424", NULL, WIRE_NONE, NULL },
	{ "amqp", { TCP(5672) }, 1, TLS_PLAINTEXT, "amqps", NULL, "IANA", NULL, WIRE_NONE, NULL },
	{ "radius", { UDP(1812) }, 1, TLS_PLAINTEXT, "radsec", NULL, "RFC 2865", NULL, WIRE_NONE, NULL },
	{ "coap", { UDP(5683) }, 1, TLS_PLAINTEXT, "coaps", NULL, "RFC 7252", NULL, WIRE_NONE, NULL },
	{ "msft-gc", { TCP(3268) }, 1, TLS_PLAINTEXT, "msft-gc-ssl", NULL, "IANA", NULL, WIRE_NONE, NULL },
	{ "ssh", { TCP(22) }, 1, TLS_PLAINTEXT, NULL, NULL, "RFC 4253", "encrypted, but not TLS", WIRE_NONE, NULL },
};

size_t catalog_size(void)
{
	return ARRAY_SIZE(catalog);
}

const struct catalog_entry *catalog_at(size_t i)
{
	return i < ARRAY_SIZE(catalog) ? &catalog[i] : NULL;
}

const struct catalog_entry *catalog_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(catalog); i++)
		if (strcmp(catalog[i].name, name) == 0)
			return &catalog[i];
	return NULL;
}

const struct catalog_entry *catalog_suggest(const char *name)
{
	const struct catalog_entry *best = NULL;
	size_t best_dist = (size_t)-1;
	size_t limit = strlen(name) <= 4 ? 2 : 3;

	for (size_t i = 0; i < ARRAY_SIZE(catalog); i++) {
		size_t d = levenshtein(name, catalog[i].name);

		if (d < best_dist) {
			best_dist = d;
			best = &catalog[i];
		}
	}
	return best_dist <= limit ? best : NULL;
}

const struct catalog_entry *catalog_by_port(uint8_t proto, uint16_t port)
{
	for (size_t i = 0; i < ARRAY_SIZE(catalog); i++)
		for (size_t j = 0; j < catalog[i].nports; j++) {
			const struct port_range *p = &catalog[i].ports[j];

			if (p->proto == proto && p->first <= port && port <= p->last)
				return &catalog[i];
		}
	return NULL;
}

const char *tls_kind_name(enum tls_kind kind)
{
	switch (kind) {
	case TLS_IMPLICIT:
		return "implicit";
	case TLS_UPGRADABLE:
		return "upgradable";
	case TLS_PLAINTEXT:
		return "plaintext";
	}
	return "?";
}

const char *l4proto_name(uint8_t proto)
{
	return proto == L4_TCP ? "tcp" : proto == L4_UDP ? "udp" : "?";
}

void port_range_format(const struct port_range *p, char *buf, size_t len)
{
	if (p->first == p->last)
		snprintf(buf, len, "%u/%s", p->first, l4proto_name(p->proto));
	else
		snprintf(buf, len, "%u-%u/%s", p->first, p->last, l4proto_name(p->proto));
}
