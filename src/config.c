#include <errno.h>
#include <libconfig.h>
#include <stdlib.h>
#include <string.h>

#include "tlswall/config.h"
#include "tlswall/diag.h"
#include "tlswall/policy.h"
#include "tlswall/policy_text.h"
#include "tlswall/util.h"

struct reader {
	struct policy *p;
	struct diag_list *d;
	const struct policy_text *text;
};

/* libconfig reads one text with every include expanded: its lines are mapped back to each file's own. */
static struct loc loc_of(struct reader *r, const config_setting_t *s)
{
	const char *file;
	unsigned line;

	policy_text_locate(r->text, (unsigned)config_setting_source_line(s), &file, &line);
	return policy_loc(r->p, file, line);
}

#define ERR(r, s, ...)                                                                          \
	do {                                                                                    \
		struct loc l_ = loc_of(r, s);                                                   \
		diag_error((r)->d, l_.file, l_.line, __VA_ARGS__);                              \
	} while (0)

#define WARN(r, s, ...)                                                                         \
	do {                                                                                    \
		struct loc l_ = loc_of(r, s);                                                   \
		diag_warning((r)->d, l_.file, l_.line, __VA_ARGS__);                            \
	} while (0)

static const char *name_of(const config_setting_t *s)
{
	const char *n = config_setting_name(s);

	return n ? n : "element";
}

/* Every group is checked against the keys it may hold, so a typo never silently drops a restriction. */
static void check_keys(struct reader *r, const config_setting_t *group, const char *const *allowed, const char *where)
{
	for (int i = 0; i < config_setting_length(group); i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		const char *best = NULL;
		size_t best_dist = 3;
		bool known = false;

		for (const char *const *a = allowed; *a; a++) {
			size_t dist;

			if (strcmp(*a, name) == 0) {
				known = true;
				break;
			}
			dist = levenshtein(name, *a);
			if (dist < best_dist) {
				best_dist = dist;
				best = *a;
			}
		}
		if (known)
			continue;
		if (best)
			ERR(r, s, "unknown setting \"%s\" %s; did you mean \"%s\"?", name, where, best);
		else
			ERR(r, s, "unknown setting \"%s\" %s", name, where);
	}
}

static bool get_string(struct reader *r, const config_setting_t *s, const char **out)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		ERR(r, s, "\"%s\" must be a string in double quotes", name_of(s));
		return false;
	}
	*out = config_setting_get_string(s);
	return true;
}

static bool get_bool(struct reader *r, const config_setting_t *s, bool *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		ERR(r, s, "\"%s\" must be true or false", name_of(s));
		return false;
	}
	*out = config_setting_get_bool(s);
	return true;
}

/* Every integer setting is read as 64 bits and range-checked before it is narrowed; policy_text.c makes libconfig
 * keep the 64 bits of an integer that needs them. */
static bool get_integer(const config_setting_t *s, long long *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64)
		return false;
	*out = config_setting_get_int64(s);
	return true;
}

/* Printable ASCII without the characters nft cannot read in a log prefix: it ends a string at '"', and nft 1.0.6
 * expands "$name" in a prefix as a variable (there is no escape for it), so "a$b" would not load with nft -f. */
static bool plain_text(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\' || *s == '$')
			return false;
	return true;
}

static bool parse_port_number(const char *s, size_t len, uint16_t *out)
{
	unsigned long v = 0;

	if (len == 0 || len > 5)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

/* A port is an integer 1-65535 or a string "FIRST-LAST"; passive_ports may also be "none" (handled by the caller). */
static bool get_port_range(struct reader *r, const config_setting_t *s, struct port_range *out)
{
	const char *what = strcmp(name_of(s), "passive_ports") == 0 ?
				   "a range \"FIRST-LAST\", a port number, or \"none\"" :
				   "a port number (1-65535) or a range \"FIRST-LAST\"";
	long long v;

	if (get_integer(s, &v)) {
		if (v < 1 || v > 65535) {
			ERR(r, s, "port %lld is out of range (1-65535)", v);
			return false;
		}
		out->first = out->last = (uint16_t)v;
		return true;
	}
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		const char *text = config_setting_get_string(s);
		const char *dash = strchr(text, '-');
		uint16_t one;

		if (!dash && parse_port_number(text, strlen(text), &one)) {
			ERR(r, s,
			    "\"%s\" is the string \"%s\"; write a single port as a number without quotes, like %s = %s, "
			    "or a range as \"FIRST-LAST\"",
			    name_of(s), text, name_of(s), text);
			return false;
		}
		if (dash) {
			bool first_ok = parse_port_number(text, (size_t)(dash - text), &out->first);
			bool last_ok = parse_port_number(dash + 1, strlen(dash + 1), &out->last);
			const char *digits = "0123456789";

			if (first_ok && last_ok) {
				if (out->first > out->last) {
					ERR(r, s, "port range \"%s\" ends before it starts", text);
					return false;
				}
				return true;
			}
			/* both ends are numbers, one is out of range: say which */
			if (dash > text && strspn(text, digits) == (size_t)(dash - text) && dash[1] &&
			    strspn(dash + 1, digits) == strlen(dash + 1)) {
				ERR(r, s, "port range \"%s\": %.*s is out of range (1-65535)", text,
				    first_ok ? (int)strlen(dash + 1) : (int)(dash - text), first_ok ? dash + 1 : text);
				return false;
			}
		}
		ERR(r, s, "\"%s\" must be %s, not \"%s\"", name_of(s), what, text);
		return false;
	}
	ERR(r, s, "\"%s\" must be %s", name_of(s), what);
	return false;
}

static bool is_list(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_ARRAY || config_setting_type(s) == CONFIG_TYPE_LIST;
}

static void read_address(struct reader *r, const config_setting_t *s, const char *text, struct addr_list *out)
{
	struct addr_entry e;
	const char *why;

	if (!addr_parse(text, strlen(text), &e, &why)) {
		ERR(r, s, "\"%s\": %s", text, why);
		return;
	}
	if (e.host_bits) {
		char norm[ADDR_TEXT_MAX];

		addr_entry_format(&e, norm);
		WARN(r, s, "\"%s\" has host bits set; it means %s", text, norm);
	}
	addr_list_add(out, &e);
}

/* A `from` or `deny` list: addresses, CIDRs, ranges and "@set" references. */
static void read_source_list(struct reader *r, const config_setting_t *s, struct source_list *out)
{
	out->present = true;
	out->loc = loc_of(r, s);
	out->nitems = is_list(s) ? (size_t)config_setting_length(s) : 1;
	if (!is_list(s)) {
		ERR(r, s, "\"%s\" must be a list of addresses, CIDRs or \"@set\" names, like [ \"192.0.2.0/24\", \"@office\" ]",
		    name_of(s));
		return;
	}
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *text;

		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			ERR(r, e, "\"%s\" entries must be strings (addresses, CIDRs or \"@set\" names)", name_of(s));
			continue;
		}
		text = config_setting_get_string(e);
		if (text[0] == '@')
			source_list_add_ref(out, text + 1, loc_of(r, e));
		else
			read_address(r, e, text, &out->literals);
	}
	addr_list_normalize(&out->literals);
}

static void read_interfaces(struct reader *r, const config_setting_t *s, struct service *svc)
{
	svc->ifaces_loc = loc_of(r, s);
	if (!is_list(s)) {
		ERR(r, s, "\"interfaces\" must be a list of interface names, like [ \"eth0\" ]");
		return;
	}
	if (config_setting_length(s) == 0)
		ERR(r, s, "\"interfaces\" is empty and would match nothing; remove it to allow every interface");
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *name;

		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			ERR(r, e, "\"interfaces\" entries must be strings");
			continue;
		}
		name = config_setting_get_string(e);
		svc->ifaces = x_reallocarray(svc->ifaces, svc->nifaces + 1, sizeof(*svc->ifaces));
		svc->iface_lines = x_reallocarray(svc->iface_lines, svc->nifaces + 1, sizeof(*svc->iface_lines));
		svc->iface_lines[svc->nifaces] = loc_of(r, e).line;
		svc->ifaces[svc->nifaces++] = x_strdup(name);
	}
}

static void read_service(struct reader *r, const config_setting_t *g, bool exemption)
{
	static const char *const service_keys[] = { "service", "name", "port", "proto", "tls", "starttls", "from",
						    "interfaces", "passive_ports", "require_tls", "guard_credentials", NULL };
	/* require_tls and guard_credentials are read here to be refused with a reason, not as unknown keys */
	static const char *const exemption_keys[] = { "service", "name", "port", "proto", "from", "interfaces",
						      "reason", "require_tls", "guard_credentials", NULL };
	struct service *svc;
	const config_setting_t *s;
	const char *str;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		ERR(r, g, "each %s entry must be a group in braces, like { service = \"https\"; }",
		    exemption ? "exemptions" : "services");
		return;
	}
	svc = policy_add_service(r->p);
	svc->exemption = exemption;
	svc->loc = loc_of(r, g);
	check_keys(r, g, exemption ? exemption_keys : service_keys,
		   exemption ? "in an exemptions entry" : "in a services entry");

	svc->service_given = config_setting_get_member(g, "service") != NULL;
	svc->name_given = config_setting_get_member(g, "name") != NULL;
	svc->tls_given = config_setting_get_member(g, "tls") != NULL;
	svc->starttls_given = config_setting_get_member(g, "starttls") != NULL;
	svc->passive_given = config_setting_get_member(g, "passive_ports") != NULL;
	svc->reason_given = config_setting_get_member(g, "reason") != NULL;
	if ((s = config_setting_get_member(g, "service")) && get_string(r, s, &str)) {
		svc->service = x_strdup(str);
		svc->service_loc = loc_of(r, s);
	}
	if ((s = config_setting_get_member(g, "name")) && get_string(r, s, &str)) {
		svc->name = x_strdup(str);
		svc->name_loc = loc_of(r, s);
	}
	if ((s = config_setting_get_member(g, "port"))) {
		svc->port_loc = loc_of(r, s);
		svc->has_port = get_port_range(r, s, &svc->port);
	}
	svc->port.proto = L4_TCP;
	if ((s = config_setting_get_member(g, "proto")) && get_string(r, s, &str)) {
		svc->has_proto = true;
		svc->proto_loc = loc_of(r, s);
		if (strcmp(str, "tcp") == 0)
			svc->port.proto = L4_TCP;
		else if (strcmp(str, "udp") == 0)
			svc->port.proto = L4_UDP;
		else
			ERR(r, s, "\"proto\" must be \"tcp\" or \"udp\", not \"%s\"", str);
	}
	if ((s = config_setting_get_member(g, "tls")) && get_bool(r, s, &svc->tls)) {
		svc->has_tls = true;
		svc->tls_loc = loc_of(r, s);
	}
	if ((s = config_setting_get_member(g, "starttls")) && get_bool(r, s, &svc->starttls))
		svc->starttls_loc = loc_of(r, s);
	if ((s = config_setting_get_member(g, "require_tls")) && get_bool(r, s, &svc->require_tls)) {
		svc->has_require_tls = true;
		svc->require_tls_loc = loc_of(r, s);
	}
	if ((s = config_setting_get_member(g, "guard_credentials")) && get_bool(r, s, &svc->guard_credentials))
		svc->guard_credentials_loc = loc_of(r, s);
	if ((s = config_setting_get_member(g, "passive_ports"))) {
		svc->passive_loc = loc_of(r, s);
		/* "none" says on purpose that only the control channel is open (active mode, or no data channel) */
		if (config_setting_type(s) == CONFIG_TYPE_STRING && strcmp(config_setting_get_string(s), "none") == 0)
			svc->passive_none = true;
		else
			svc->has_passive = get_port_range(r, s, &svc->passive);
		svc->passive.proto = L4_TCP;
	}
	if ((s = config_setting_get_member(g, "reason"))) {
		svc->reason_loc = loc_of(r, s);
		if (get_string(r, s, &str))
			svc->reason = x_strdup(str);
	}
	if ((s = config_setting_get_member(g, "from")))
		read_source_list(r, s, &svc->from);
	if ((s = config_setting_get_member(g, "interfaces")))
		read_interfaces(r, s, svc);
}

static void read_services(struct reader *r, const config_setting_t *s, bool exemption)
{
	r->p->services_given = true;
	if (config_setting_type(s) != CONFIG_TYPE_LIST) {
		ERR(r, s, "\"%s\" must be a list in parentheses of groups, like ( %s )", name_of(s),
		    exemption ? "{ service = \"http\"; reason = \"...\"; }" : "{ service = \"https\"; }");
		return;
	}
	for (int i = 0; i < config_setting_length(s); i++)
		read_service(r, config_setting_get_elem(s, (unsigned)i), exemption);
}

static void read_set(struct reader *r, const config_setting_t *s)
{
	struct named_set *set = policy_add_set(r->p);

	set->name = x_strdup(config_setting_name(s));
	set->loc = loc_of(r, s);
	if (is_list(s)) {
		for (int i = 0; i < config_setting_length(s); i++) {
			const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

			if (config_setting_type(e) != CONFIG_TYPE_STRING) {
				ERR(r, e, "set \"%s\": entries must be address strings", set->name);
				continue;
			}
			if (config_setting_get_string(e)[0] == '@') {
				ERR(r, e, "set \"%s\": a set cannot refer to another set (\"%s\"); list the addresses, or "
					  "name both sets where the set is used",
				    set->name, config_setting_get_string(e));
				continue;
			}
			read_address(r, e, config_setting_get_string(e), &set->addrs);
		}
		addr_list_normalize(&set->addrs);
		return;
	}
	if (config_setting_type(s) == CONFIG_TYPE_GROUP) {
		static const char *const keys[] = { "file", NULL };
		const config_setting_t *f = config_setting_get_member(s, "file");
		const char *str;

		check_keys(r, s, keys, "in a set");
		if (!f) {
			ERR(r, s, "set \"%s\" must be a list of addresses or { file = \"PATH\"; }", set->name);
			set->malformed = true;
			return;
		}
		if (!get_string(r, f, &str)) {
			set->malformed = true;
			return;
		}
		set->file_loc = loc_of(r, f);
		if (!*str) {
			ERR(r, f, "set \"%s\": \"file\" is empty", set->name);
			return;
		}
		if (!printable_text(str)) {
			ERR(r, f, "set \"%s\": the list file's name \"%s\" holds control characters or bytes that are not "
				  "UTF-8",
			    set->name, str);
			set->malformed = true;
			return;
		}
		set->file = x_strdup(str);
		set->path = str[0] == '/' ? x_strdup(str) : x_asprintf("%s%s", r->p->dir, str);
		return;
	}
	ERR(r, s, "set \"%s\" must be a list of addresses, like [ \"192.0.2.0/24\" ], or { file = \"PATH\"; }", set->name);
	set->malformed = true;
}

static void read_log(struct reader *r, const config_setting_t *s)
{
	static const char *const keys[] = { "rate", "prefix", NULL };
	struct log_config *log = &r->p->log;
	const config_setting_t *m;
	const char *str;

	log->loc = loc_of(r, s);
	if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
		ERR(r, s, "\"log\" must be a group, like { rate = \"5/minute\"; prefix = \"tlswall: \"; }");
		return;
	}
	check_keys(r, s, keys, "in log");
	log->enabled = true;
	log->rate = 5;
	log->unit = RATE_MINUTE;
	log->prefix = x_strdup("tlswall: ");
	if ((m = config_setting_get_member(s, "rate")) && get_string(r, m, &str)) {
		static const char *const units[] = { "second", "minute", "hour", "day" };
		const char *slash = strchr(str, '/');
		char *end;
		unsigned long v;
		bool ok = false;

		errno = 0;
		v = strtoul(str, &end, 10);
		if (slash && end == slash && str[0] >= '0' && str[0] <= '9' && errno == 0 && v >= 1 && v <= 1000000) {
			for (size_t i = 0; i < ARRAY_SIZE(units); i++)
				if (strcmp(slash + 1, units[i]) == 0) {
					log->unit = (enum rate_unit)i;
					ok = true;
				}
		}
		if (ok)
			log->rate = (unsigned)v;
		else
			ERR(r, m, "log rate \"%s\" must look like \"5/minute\" (1-1000000 per second, minute, hour or day)",
			    str);
	}
	if ((m = config_setting_get_member(s, "prefix")) && get_string(r, m, &str)) {
		if (strlen(str) > 127)
			ERR(r, m, "log prefix is %zu characters; the kernel keeps at most 127", strlen(str));
		else if (!plain_text(str))
			ERR(r, m, "log prefix must be printable ASCII without '\"', '\\' or '$'");
		free(log->prefix);
		log->prefix = x_strdup(str);
	}
}

/* A bit of the connection mark that tlswall may use. */
static void read_mark_bit(struct reader *r, const config_setting_t *s, unsigned *bit, struct loc *loc)
{
	*loc = loc_of(r, s);
	if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64)
		ERR(r, s, "\"%s\" must be an integer, 0-31", name_of(s));
	else if (config_setting_get_int64(s) < 0 || config_setting_get_int64(s) > 31)
		ERR(r, s, "%s %lld is out of range: ct mark has bits 0-31", name_of(s),
		    (long long)config_setting_get_int64(s));
	else
		*bit = (unsigned)config_setting_get_int64(s);
}

static void read_root(struct reader *r, const config_setting_t *root)
{
	static const char *const keys[] = { "version", "table", "policy", "icmp", "log", "require_tls", "ct_mark_bit",
					    "published_ports", "published_mark_bit", "sets", "deny", "services",
					    "exemptions", NULL };
	struct policy *p = r->p;
	const config_setting_t *s;
	const char *str;

	check_keys(r, root, keys, "at top level");
	/* required, so that a file emptied or cut short (a crash, a full disk, a half-finished deployment) is an error
	 * and never a policy that opens nothing: one that means to open nothing says version = 1; and no services */
	if (config_setting_length(root) == 0)
		diag_error(r->d, p->path, 1,
			   "the policy is empty; an empty or truncated file is not a policy (a policy that opens nothing "
			   "says \"version = 1;\" and lists no services)");
	else if (!config_setting_get_member(root, "version"))
		diag_error(r->d, p->path, 1, "\"version\" is missing; a policy starts with \"version = 1;\"");
	if ((s = config_setting_get_member(root, "version"))) {
		long long v;

		if (!get_integer(s, &v))
			ERR(r, s, "\"version\" must be the integer 1");
		else if (v != 1)
			ERR(r, s, "policy version %lld is not supported; this tlswall reads version 1", v);
	}
	if ((s = config_setting_get_member(root, "table")) && get_string(r, s, &str)) {
		free(p->table);
		p->table = x_strdup(str);
		p->table_loc = loc_of(r, s);
	}
	if ((s = config_setting_get_member(root, "policy")) && get_string(r, s, &str)) {
		if (strcmp(str, "drop") == 0)
			p->verdict = VERDICT_DROP;
		else if (strcmp(str, "reject") == 0)
			p->verdict = VERDICT_REJECT;
		else
			ERR(r, s, "\"policy\" must be \"drop\" or \"reject\", not \"%s\"", str);
	}
	if ((s = config_setting_get_member(root, "icmp")) && get_string(r, s, &str)) {
		if (strcmp(str, "essential") == 0)
			p->icmp = ICMP_ESSENTIAL;
		else if (strcmp(str, "all") == 0)
			p->icmp = ICMP_ALL;
		else
			ERR(r, s, "\"icmp\" must be \"essential\" or \"all\", not \"%s\"", str);
	}
	if ((s = config_setting_get_member(root, "require_tls")) && get_bool(r, s, &p->require_tls))
		p->require_tls_loc = loc_of(r, s);
	if ((s = config_setting_get_member(root, "ct_mark_bit")))
		read_mark_bit(r, s, &p->ct_mark_bit, &p->ct_mark_bit_loc);
	if ((s = config_setting_get_member(root, "published_mark_bit")))
		read_mark_bit(r, s, &p->published_mark_bit, &p->published_mark_bit_loc);
	if ((s = config_setting_get_member(root, "published_ports")) && get_bool(r, s, &p->published_ports))
		p->published_ports_loc = loc_of(r, s);
	if ((s = config_setting_get_member(root, "log")))
		read_log(r, s);
	if ((s = config_setting_get_member(root, "sets"))) {
		if (config_setting_type(s) != CONFIG_TYPE_GROUP)
			ERR(r, s, "\"sets\" must be a group, like { office = [ \"192.0.2.0/24\" ]; }");
		else
			for (int i = 0; i < config_setting_length(s); i++)
				read_set(r, config_setting_get_elem(s, (unsigned)i));
	}
	if ((s = config_setting_get_member(root, "deny")))
		read_source_list(r, s, &p->deny);
	if ((s = config_setting_get_member(root, "services")))
		read_services(r, s, false);
	if ((s = config_setting_get_member(root, "exemptions")))
		read_services(r, s, true);
}

static struct policy *load(const struct policy_text *text, const char *name, struct diag_list *diags)
{
	struct reader r = { NULL, diags, text };
	config_t cf;

	config_init(&cf);
	/* policy_text.c has expanded every @include; one libconfig would still find must fail, not read a file no
	 * check has seen */
	config_set_include_dir(&cf, "/dev/null");
	if (config_read_string(&cf, policy_text_get(text)) != CONFIG_TRUE) {
		const char *file;
		unsigned line;

		policy_text_locate(text, (unsigned)config_error_line(&cf), &file, &line);
		diag_error(diags, file, line, "%s", config_error_text(&cf));
	} else {
		r.p = policy_alloc(name);
		read_root(&r, config_root_setting(&cf));
	}
	config_destroy(&cf);
	return r.p;
}

struct policy *config_load_file(const char *path, enum trust_mode trust, struct diag_list *diags)
{
	struct policy_text *text = policy_text_read_file(path, trust, diags);
	struct policy *p = text ? load(text, path, diags) : NULL;

	policy_text_free(text);
	return p;
}

struct policy *config_load_string(const char *text, const char *name, struct diag_list *diags)
{
	struct policy_text *t = policy_text_from_string(text, name, diags);
	struct policy *p = t ? load(t, name, diags) : NULL;

	policy_text_free(t);
	return p;
}
