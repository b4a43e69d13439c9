#include <stdlib.h>
#include <string.h>

#include "tlswall/diag.h"
#include "tlswall/policy.h"
#include "tlswall/util.h"
#include "tlswall/validate.h"

/* The kernel keeps comments (where exemption reasons go) up to 128 bytes with the NUL. */
#define REASON_MAX 127
#define LOG_PREFIX_MAX 127
#define NAME_MAX_LEN 32
#define IFNAME_MAX 15

#define ERR(d, l, ...) diag_error(d, (l).file, (l).line, __VA_ARGS__)
#define WARN(d, l, ...) diag_warning(d, (l).file, (l).line, __VA_ARGS__)

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Names become parts of nftables object names: letters, digits, '_' and '-', starting with a letter or digit. */
static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAME_MAX_LEN || !is_alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

static void check_table(struct policy *p, struct diag_list *d)
{
	if (!valid_name(p->table) || !((p->table[0] >= 'a' && p->table[0] <= 'z') ||
				       (p->table[0] >= 'A' && p->table[0] <= 'Z')))
		ERR(d, p->table_loc,
		    "table name \"%s\" must start with a letter and hold at most %d letters, digits, '_' or '-'",
		    p->table, NAME_MAX_LEN);
}

static void check_sets(struct policy *p, struct diag_list *d)
{
	for (size_t i = 0; i < p->nsets; i++) {
		const struct named_set *s = &p->sets[i];

		if (!valid_name(s->name))
			ERR(d, s->loc, "set name \"%s\" must hold at most %d letters, digits, '_' or '-'", s->name,
			    NAME_MAX_LEN);
	}
}

static const char *closest_set(const struct policy *p, const char *name)
{
	const char *best = NULL;
	size_t best_dist = 3;

	for (size_t i = 0; i < p->nsets; i++) {
		size_t dist = levenshtein(name, p->sets[i].name);

		if (dist < best_dist) {
			best_dist = dist;
			best = p->sets[i].name;
		}
	}
	return best;
}

static void resolve_refs(struct policy *p, struct source_list *l, struct diag_list *d)
{
	for (size_t i = 0; i < l->nrefs; i++) {
		struct set_ref *ref = &l->refs[i];
		const char *best;

		for (size_t j = 0; j < i; j++)
			if (strcmp(l->refs[j].name, ref->name) == 0)
				WARN(d, ref->loc, "\"@%s\" is listed twice", ref->name);
		ref->index = policy_find_set(p, ref->name);
		if (ref->index != (size_t)-1) {
			p->sets[ref->index].used = true;
			continue;
		}
		best = closest_set(p, ref->name);
		if (best)
			ERR(d, ref->loc, "undefined set \"@%s\"; did you mean \"@%s\"?", ref->name, best);
		else if (p->nsets)
			ERR(d, ref->loc, "undefined set \"@%s\"; define it under \"sets\"", ref->name);
		else
			ERR(d, ref->loc, "undefined set \"@%s\"; the policy has no \"sets\" section", ref->name);
	}
}

static bool valid_ifname(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > IFNAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		/* what the kernel forbids in a name, plus what nft strings cannot hold; '*' only as a final wildcard */
		if (c <= ' ' || c > '~' || c == '/' || c == ':' || c == '"' || c == '\\' || (c == '*' && i != n - 1))
			return false;
	}
	return true;
}

static bool wildcard_covers(const char *pattern, const char *name)
{
	size_t n = strlen(pattern);

	return n && pattern[n - 1] == '*' && strcmp(pattern, name) != 0 && strncmp(pattern, name, n - 1) == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted, without duplicates, and without names a wildcard already matches: what the kernel's set will hold. */
static void normalize_ifaces(struct service *s, struct diag_list *d)
{
	bool *drop;
	size_t out = 0;

	for (size_t i = 0; i < s->nifaces; i++) {
		struct loc at = { s->ifaces_loc.file, s->iface_lines ? s->iface_lines[i] : s->ifaces_loc.line };

		if (strcmp(s->ifaces[i], "*") == 0)
			ERR(d, at, "interface \"*\" matches every interface; remove \"interfaces\" instead");
		else if (!valid_ifname(s->ifaces[i]))
			ERR(d, at,
			    "interface name \"%s\" is not valid: 1-%d characters, no '/', ':', quotes or spaces, '*' only "
			    "at the end",
			    s->ifaces[i], IFNAME_MAX);
	}
	/* sorted as the kernel lists them; the lines were only needed for the messages above */
	free(s->iface_lines);
	s->iface_lines = NULL;
	qsort(s->ifaces, s->nifaces, sizeof(*s->ifaces), cmp_str);
	/* decide first, free after: a dropped name may still be compared against */
	drop = x_calloc(s->nifaces, sizeof(*drop));
	for (size_t i = 0; i < s->nifaces; i++) {
		drop[i] = i > 0 && strcmp(s->ifaces[i - 1], s->ifaces[i]) == 0;
		for (size_t j = 0; j < s->nifaces && !drop[i]; j++)
			if (wildcard_covers(s->ifaces[j], s->ifaces[i])) {
				WARN(d, s->ifaces_loc, "interface \"%s\" is already matched by \"%s\"", s->ifaces[i],
				     s->ifaces[j]);
				drop[i] = true;
			}
	}
	for (size_t i = 0; i < s->nifaces; i++) {
		if (drop[i])
			free(s->ifaces[i]);
		else
			s->ifaces[out++] = s->ifaces[i];
	}
	free(drop);
	s->nifaces = out;
}

static void add_port(struct service *s, struct port_range r)
{
	if (s->nports < SERVICE_MAX_PORTS)
		s->ports[s->nports++] = r;
}

static void describe_ports(const struct catalog_entry *c, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < c->nports && used < len; i++) {
		char one[32];

		port_range_format(&c->ports[i], one, sizeof(one));
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", one);
	}
}

static void check_catalog_service(struct service *s, struct diag_list *d)
{
	const struct catalog_entry *c = catalog_find(s->service);
	char ports[64];

	if (!c) {
		const struct catalog_entry *best = catalog_suggest(s->service);

		if (best)
			ERR(d, s->service_loc, "unknown service \"%s\"; did you mean \"%s\"?", s->service, best->name);
		else
			ERR(d, s->service_loc,
			    "unknown service \"%s\"; see \"tlswall services\", or give a custom port with name, port "
			    "and tls = true",
			    s->service);
		return;
	}
	s->cat = c;
	describe_ports(c, ports, sizeof(ports));
	if (s->has_port)
		ERR(d, s->port_loc, "give either \"service\" or \"port\", not both (%s uses %s)", c->name, ports);
	if (s->has_proto)
		ERR(d, s->proto_loc, "\"proto\" is only for custom ports (%s uses %s)", c->name, ports);
	if (!s->exemption && s->has_tls)
		ERR(d, s->tls_loc, "\"tls\" is only for custom ports; the catalogue knows that %s is %s", c->name,
		    c->kind == TLS_IMPLICIT ? "TLS" : "not TLS");

	if (s->exemption) {
		if (c->kind == TLS_IMPLICIT)
			WARN(d, s->service_loc, "\"%s\" is TLS; list it under services, it needs no exemption", c->name);
	} else if (c->kind == TLS_IMPLICIT) {
		if (s->starttls)
			WARN(d, s->starttls_loc, "starttls has no effect: \"%s\" is TLS from the first byte", c->name);
	} else if (c->kind == TLS_UPGRADABLE) {
		/* skipped only when starttls had a value of the wrong type, already reported; starttls = false is
		 * exactly the case this error is for */
		bool bad_type = s->starttls_given && s->starttls_loc.line == 0;

		if (!s->starttls && !bad_type) {
			if (c->twin)
				ERR(d, s->service_loc,
				    "service \"%s\" (%s) is plaintext until it upgrades with %s; add starttls = true "
				    "to allow it, or use \"%s\"",
				    c->name, ports, c->upgrade, c->twin);
			else
				ERR(d, s->service_loc,
				    "service \"%s\" (%s) is plaintext until it upgrades with %s; add starttls = true "
				    "to allow it",
				    c->name, ports, c->upgrade);
		}
	} else if (s->starttls) {
		if (c->twin)
			ERR(d, s->starttls_loc,
			    "service \"%s\" cannot upgrade to TLS in-protocol, so starttls = true does not apply; use "
			    "\"%s\", or add an exemption with a reason",
			    c->name, c->twin);
		else
			ERR(d, s->starttls_loc,
			    "service \"%s\" cannot upgrade to TLS in-protocol, so starttls = true does not apply; add "
			    "an exemption with a reason",
			    c->name);
	} else if (c->twin) {
		ERR(d, s->service_loc,
		    "service \"%s\" (%s) is plaintext and cannot upgrade to TLS; use \"%s\", or add an exemption "
		    "with a reason",
		    c->name, ports, c->twin);
	} else {
		ERR(d, s->service_loc,
		    "service \"%s\" (%s) is %s; open it with an exemption and a reason", c->name, ports,
		    c->note ? c->note : "plaintext and cannot upgrade to TLS");
	}
	for (size_t i = 0; i < c->nports; i++)
		add_port(s, c->ports[i]);
}

static void check_custom_port(struct service *s, struct diag_list *d)
{
	const struct catalog_entry *c;
	char port[32];

	if (!s->name) {
		if (!s->name_given)
			ERR(d, s->port_loc, "a custom port needs a \"name\"");
		return;
	}
	port_range_format(&s->port, port, sizeof(port));
	if (!s->exemption) {
		if (s->starttls)
			ERR(d, s->starttls_loc,
			    "starttls is only for catalogue services; a custom port must speak TLS from its first "
			    "byte (tls = true), or be opened by an exemption with a reason");
		else if (!s->has_tls && !s->tls_given)
			ERR(d, s->port_loc,
			    "custom port %s (\"%s\") must say tls = true (it speaks TLS from its first byte), or be "
			    "opened by an exemption with a reason",
			    port, s->name);
		else if (s->has_tls && !s->tls)
			ERR(d, s->tls_loc,
			    "custom port %s (\"%s\") is not TLS; open it by an exemption with a reason instead", port,
			    s->name);
	}
	c = catalog_by_port(s->port.proto, s->port.first);
	if (c && s->port.first == s->port.last && !s->exemption) {
		if (c->kind == TLS_IMPLICIT)
			WARN(d, s->port_loc, "port %s is the catalogue's \"%s\"; { service = \"%s\"; } says so", port,
			     c->name, c->name);
		else
			WARN(d, s->port_loc,
			     "port %s is the catalogue's \"%s\", which is plaintext; make sure the server there speaks "
			     "TLS from the first byte",
			     port, c->name);
	}
	add_port(s, s->port);
}

static void check_passive(struct service *s, struct diag_list *d)
{
	bool ftp = s->cat && (strcmp(s->cat->name, "ftps") == 0 || strcmp(s->cat->name, "ftp") == 0);

	if (s->has_passive || s->passive_none) {
		if (!ftp) {
			ERR(d, s->passive_loc, "passive_ports applies only to ftps and ftp");
			return;
		}
		if (s->passive_none)
			return;
		if (s->passive.first < 1024)
			WARN(d, s->passive_loc, "passive ports below 1024 (%u) are unusual for an FTP server",
			     s->passive.first);
		add_port(s, s->passive);
	} else if (ftp && !s->exemption && !s->passive_given && (s->cat->kind == TLS_IMPLICIT || s->starttls)) {
		WARN(d, s->service_loc,
		     "%s without passive_ports: passive-mode data connections will be dropped (the kernel's FTP "
		     "helper cannot read encrypted PASV replies); name the server's range, like passive_ports = "
		     "\"50000-50100\" (or \"none\" if it has no passive mode)",
		     s->cat->name);
	}
}

static void check_reason(struct service *s, struct diag_list *d)
{
	const char *r = s->reason;
	bool blank = true;

	if (!r) {
		if (s->reason_given)
			return; /* a reason of the wrong type, already reported */
		ERR(d, s->loc, "exemption \"%s\" needs a reason: say why this port is open without TLS",
		    s->name ? s->name : s->service ? s->service : "?");
		return;
	}
	for (const char *c = r; *c; c++)
		if (*c != ' ' && *c != '\t')
			blank = false;
	if (blank)
		ERR(d, s->reason_loc, "exemption \"%s\" has an empty reason: say why this port is open without TLS",
		    s->name ? s->name : "?");
	else if (strlen(r) > REASON_MAX)
		ERR(d, s->reason_loc, "reason is %zu characters; the kernel keeps at most %d as the chain's comment",
		    strlen(r), REASON_MAX);
	else if (strpbrk(r, "\"\\") || !printable_text(r))
		ERR(d, s->reason_loc, "reason must be UTF-8 text without '\"', '\\' or control characters");
}

static bool upgrades(const struct service *s)
{
	return s->cat && s->cat->kind == TLS_UPGRADABLE && s->starttls && !s->exemption;
}

static void check_guard_credentials(const struct service *s, struct diag_list *d)
{
	const char *name = s->name ? s->name : "?";

	/* an upgradable service without starttls = true has had its error already */
	if (!s->guard_credentials || (s->cat && s->cat->kind == TLS_UPGRADABLE && !s->exemption && !s->starttls))
		return;
	if (!upgrades(s))
		ERR(d, s->guard_credentials_loc,
		    "guard_credentials applies to a service that upgrades to TLS in-protocol (starttls = true); \"%s\" "
		    "%s",
		    name, !s->exemption && (s->cat ? s->cat->kind == TLS_IMPLICIT : s->tls) ?
				  "is TLS from its first byte: require_tls checks that" : "does not");
	else if (!s->cat->logins)
		ERR(d, s->guard_credentials_loc,
		    "the credential guard cannot find %s's login at a fixed place in what the client sends; it knows "
		    "ftp, smtp, submission, pop3, nntp, imap and sieve",
		    s->cat->name);
}

static void check_require_tls(const struct service *s, struct diag_list *d)
{
	char port[32];

	if (!s->has_require_tls || !s->require_tls)
		return;
	if (s->exemption) {
		ERR(d, s->require_tls_loc, "require_tls does not apply to exemption \"%s\": it opens a port without TLS",
		    s->name ? s->name : "?");
	} else if (s->cat && s->cat->kind == TLS_UPGRADABLE) {
		ERR(d, s->require_tls_loc,
		    "require_tls does not apply to \"%s\": it is plaintext until %s; guard_credentials keeps logins "
		    "out of that part",
		    s->cat->name, s->cat->upgrade);
	} else if (!s->cat && s->has_port && s->port.proto == L4_UDP) {
		port_range_format(&s->port, port, sizeof(port));
		ERR(d, s->require_tls_loc,
		    "require_tls cannot check custom port %s: tlswall cannot tell QUIC from DTLS on a UDP port it does "
		    "not know",
		    port);
	}
}

/* What the kernel checks in what clients send to s's own ports (not its passive range): require_tls (the
 * service's, else the policy's) on TLS ports, guard_credentials on a STARTTLS service. */
static void resolve_payload_checks(const struct policy *p, struct service *s, size_t own_ports)
{
	bool require = s->has_require_tls ? s->require_tls : p->require_tls;
	bool tls = !s->exemption && (s->cat ? s->cat->kind == TLS_IMPLICIT : s->tls);

	for (size_t j = 0; j < own_ports && j < s->nports; j++) {
		bool tcp = s->ports[j].proto == L4_TCP;

		s->checks[j] = CHECK_NONE;
		if (upgrades(s) && s->guard_credentials && s->cat->logins && tcp)
			s->checks[j] = CHECK_LOGINS;
		else if (tls && require && tcp)
			s->checks[j] = CHECK_TLS_RECORD;
		else if (tls && require && s->cat && s->cat->udp_wire == WIRE_QUIC)
			s->checks[j] = CHECK_QUIC;
		else if (tls && require && s->cat && s->cat->udp_wire == WIRE_DTLS)
			s->checks[j] = CHECK_DTLS_RECORD;
	}
}

static void check_service(struct policy *p, struct service *s, struct diag_list *d)
{
	size_t own_ports;

	if (s->name && !valid_name(s->name))
		ERR(d, s->name_loc, "name \"%s\" must hold at most %d letters, digits, '_' or '-'", s->name,
		    NAME_MAX_LEN);
	if (s->service)
		check_catalog_service(s, d);
	else if (s->has_port)
		check_custom_port(s, d);
	else if (s->port_loc.line == 0 && !s->service_given)
		ERR(d, s->loc, "%s entry needs \"service\" (a catalogue name) or \"name\", \"port\"%s",
		    s->exemption ? "an exemptions" : "a services", s->exemption ? " and \"reason\"" : " and tls = true");
	if (!s->name && s->service)
		s->name = x_strdup(s->service);
	if (s->exemption)
		check_reason(s, d);
	own_ports = s->nports;
	check_passive(s, d);
	check_guard_credentials(s, d);
	check_require_tls(s, d);
	resolve_payload_checks(p, s, own_ports);
	if (s->from.present) {
		resolve_refs(p, &s->from, d);
		if (s->from.nitems == 0)
			ERR(d, s->from.loc, "\"from\" is empty and would match nothing; remove it to allow every source");
	}
	if (s->nifaces)
		normalize_ifaces(s, d);
}

static void check_duplicates(struct policy *p, struct diag_list *d)
{
	for (size_t i = 0; i < p->nservices; i++) {
		const struct service *s = &p->services[i];

		if (!s->name)
			continue;
		for (size_t j = 0; j < i; j++) {
			const struct service *o = &p->services[j];

			if (!o->name || strcmp(o->name, s->name) != 0)
				continue;
			if (s->service && o->service && strcmp(s->service, o->service) == 0)
				ERR(d, s->loc,
				    "duplicate %s \"%s\" (first at line %u); a port belongs to one entry: merge their "
				    "\"from\" lists",
				    s->exemption ? "exemption" : "service", s->name, o->loc.line);
			else
				ERR(d, s->name_loc.line ? s->name_loc : s->loc,
				    "name \"%s\" is already used at line %u; give each entry its own name", s->name,
				    o->loc.line);
			break;
		}
	}
}

static bool same_name(const struct service *a, const struct service *b)
{
	return a->name && b->name && strcmp(a->name, b->name) == 0;
}

static bool is_passive(const struct service *s, const struct port_range *r)
{
	return s->has_passive && r->proto == s->passive.proto && r->first == s->passive.first &&
	       r->last == s->passive.last;
}

/* One port belongs to one entry: the kernel's verdict map cannot send one port to two chains. Every overlapping pair
 * is reported (a range can cover several services); there are at most a few hundred ranges. */
static void check_port_conflicts(struct policy *p, struct diag_list *d)
{
	for (size_t i = 0; i < p->nservices; i++) {
		const struct service *a = &p->services[i];

		for (size_t ai = 0; ai < a->nports; ai++) {
			const struct port_range *ra = &a->ports[ai];
			char pa[32];

			port_range_format(ra, pa, sizeof(pa));
			/* within one entry: only its passive range can overlap its own ports */
			for (size_t bi = 0; bi < ai; bi++) {
				const struct port_range *rb = &a->ports[bi];
				char pb[32];

				if (rb->proto != ra->proto || rb->first > ra->last || ra->first > rb->last)
					continue;
				port_range_format(rb, pb, sizeof(pb));
				ERR(d, a->passive_loc.line ? a->passive_loc : a->loc,
				    "passive_ports %s overlap a port \"%s\" already uses (%s)", pa, a->name ? a->name : "?",
				    pb);
			}
			for (size_t j = 0; j < i; j++) {
				const struct service *b = &p->services[j];

				if (same_name(a, b))
					continue; /* reported as a duplicate */
				for (size_t bi = 0; bi < b->nports; bi++) {
					const struct port_range *rb = &b->ports[bi];
					char pb[32];

					if (rb->proto != ra->proto || rb->first > ra->last || ra->first > rb->last)
						continue;
					port_range_format(rb, pb, sizeof(pb));
					if (is_passive(a, ra))
						ERR(d, a->passive_loc,
						    "passive_ports %s of \"%s\" overlap %s of \"%s\" (line %u); choose a "
						    "passive range that leaves it out",
						    pa, a->name, pb, b->name ? b->name : "?", b->loc.line);
					else if (is_passive(b, rb))
						ERR(d, a->loc,
						    "%s of \"%s\" lies in the passive_ports %s of \"%s\" (line %u); choose "
						    "a passive range that leaves it out",
						    pa, a->name ? a->name : "?", pb, b->name ? b->name : "?", b->loc.line);
					else
						ERR(d, a->port_loc.line ? a->port_loc : a->loc,
						    "%s of \"%s\" overlaps %s, already opened by \"%s\" (line %u); a port "
						    "belongs to one entry: merge their \"from\" lists",
						    pa, a->name ? a->name : "?", pb, b->name ? b->name : "?", b->loc.line);
				}
			}
		}
	}
}

/* What a payload check refuses is logged with the policy's prefix and "plaintext NAME: ": it must fit too. */
static void check_plaintext_log_prefix(const struct policy *p, struct diag_list *d)
{
	for (size_t i = 0; p->log.enabled && i < p->nservices; i++) {
		char *prefix;
		size_t n;

		if (!service_checks(&p->services[i], CHECK_NONE) || !p->services[i].name)
			continue;
		prefix = policy_plaintext_log_prefix(p, &p->services[i]);
		n = strlen(prefix);
		free(prefix);
		if (n > LOG_PREFIX_MAX) {
			ERR(d, p->log.loc,
			    "log prefix with \"plaintext %s: \" added (how refused payloads are logged) is %zu characters; "
			    "the kernel keeps at most %d: shorten the prefix",
			    p->services[i].name, n, LOG_PREFIX_MAX);
			return;
		}
	}
}

void validate_policy(struct policy *p, struct diag_list *d)
{
	struct loc top = { p->path, 0 };
	size_t nservices = 0, nexemptions = 0;

	check_table(p, d);
	check_sets(p, d);
	if (p->deny.present)
		resolve_refs(p, &p->deny, d);
	for (size_t i = 0; i < p->nservices; i++) {
		check_service(p, &p->services[i], d);
		if (p->services[i].exemption)
			nexemptions++;
		else
			nservices++;
	}
	check_duplicates(p, d);
	check_port_conflicts(p, d);
	check_plaintext_log_prefix(p, d);
	if (p->published_ports && p->published_mark_bit == p->ct_mark_bit)
		ERR(d, p->published_mark_bit_loc.line ? p->published_mark_bit_loc : p->ct_mark_bit_loc,
		    "published_mark_bit and ct_mark_bit are both bit %u; they mark different things, give each a bit of "
		    "its own",
		    p->ct_mark_bit);
	for (size_t i = 0; i < p->nsets; i++) {
		const struct named_set *s = &p->sets[i];

		if (!s->used)
			WARN(d, s->loc, "set \"%s\" is defined but not used", s->name);
		else if (!s->path && !s->malformed && s->addrs.n4 == 0 && s->addrs.n6 == 0)
			WARN(d, s->loc, "set \"%s\" is empty", s->name);
	}
	/* only worth saying about a policy that is otherwise right */
	if (nservices == 0 && nexemptions == 0 && !p->services_given && diag_errors(d) == 0)
		WARN(d, top,
		     "the policy opens no ports: only loopback, established connections and essential ICMP get in");
}
