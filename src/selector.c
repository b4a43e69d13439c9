#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_tuple_common.h>
#include <linux/netfilter/nf_tables.h>
#include <string.h>

#include "nft_abi.h"
#include "tlswall/selector.h"
#include "tlswall/util.h"

/* The table: one row per kind of match. */
static const struct selector selectors[] = {
	{ .id = RS_SEL_CT_STATE, .name = "ct state", .source = SEL_CT, .key = NFT_CT_STATE, .ct_dir = -1, .width = 4,
	  .order = ORDER_HOST, .format = FMT_CT_STATE, .sim = SIM_CT_STATE },
	{ .id = RS_SEL_IIF, .name = "iif", .source = SEL_META, .key = NFT_META_IIF, .width = 4, .order = ORDER_HOST,
	  .format = FMT_IFINDEX, .sim = SIM_IFACE },
	{ .id = RS_SEL_IIFNAME, .name = "iifname", .source = SEL_META, .key = NFT_META_IIFNAME, .width = RS_IFNAMSIZ,
	  .order = ORDER_HOST, .format = FMT_IFNAME, .datatype = TYPE_IFNAME, .sim = SIM_IFACE },
	{ .id = RS_SEL_NFPROTO, .name = "meta nfproto", .source = SEL_META, .key = NFT_META_NFPROTO, .width = 1,
	  .order = ORDER_HOST, .format = FMT_NFPROTO, .sim = SIM_NFPROTO },
	{ .id = RS_SEL_L4PROTO, .name = "meta l4proto", .source = SEL_META, .key = NFT_META_L4PROTO, .width = 1,
	  .order = ORDER_HOST, .format = FMT_L4PROTO, .datatype = TYPE_INET_PROTOCOL, .sim = SIM_L4PROTO },
	{ .id = RS_SEL_IP_SADDR, .name = "ip saddr", .source = SEL_PAYLOAD, .base = NFT_PAYLOAD_NETWORK_HEADER,
	  .offset = 12, .len = 4, .nfproto = NFPROTO_IPV4, .width = 4, .order = ORDER_BIG, .format = FMT_ADDR,
	  .sim = SIM_SADDR },
	{ .id = RS_SEL_IP6_SADDR, .name = "ip6 saddr", .source = SEL_PAYLOAD, .base = NFT_PAYLOAD_NETWORK_HEADER,
	  .offset = 8, .len = 16, .nfproto = NFPROTO_IPV6, .width = 16, .order = ORDER_BIG, .format = FMT_ADDR,
	  .sim = SIM_SADDR },
	{ .id = RS_SEL_ICMP_TYPE, .name = "icmp type", .source = SEL_PAYLOAD, .base = NFT_PAYLOAD_TRANSPORT_HEADER,
	  .offset = 0, .len = 1, .nfproto = NFPROTO_IPV4, .l4proto = IPPROTO_ICMP, .width = 1, .order = ORDER_BIG,
	  .format = FMT_ICMP, .datatype = TYPE_ICMP_TYPE, .typeof_desc = PROTO_DESC_ICMP,
	  .typeof_field = ICMP_TYPE_FIELD, .sim = SIM_ABSENT },
	{ .id = RS_SEL_ICMPV6_TYPE, .name = "icmpv6 type", .source = SEL_PAYLOAD, .base = NFT_PAYLOAD_TRANSPORT_HEADER,
	  .offset = 0, .len = 1, .nfproto = NFPROTO_IPV6, .l4proto = IPPROTO_ICMPV6, .width = 1, .order = ORDER_BIG,
	  .format = FMT_ICMPV6, .datatype = TYPE_ICMP6_TYPE, .typeof_desc = PROTO_DESC_ICMPV6,
	  .typeof_field = ICMP_TYPE_FIELD, .sim = SIM_ABSENT },
	{ .id = RS_SEL_IP6_HOPLIMIT, .name = "ip6 hoplimit", .source = SEL_PAYLOAD, .base = NFT_PAYLOAD_NETWORK_HEADER,
	  .offset = 7, .len = 1, .nfproto = NFPROTO_IPV6, .width = 1, .order = ORDER_BIG, .format = FMT_DEC,
	  .sim = SIM_ABSENT },
	{ .id = RS_SEL_TH_DPORT, .name = "th dport", .source = SEL_PAYLOAD, .base = NFT_PAYLOAD_TRANSPORT_HEADER,
	  .offset = 2, .len = 2, .width = 2, .order = ORDER_BIG, .format = FMT_DEC, .sim = SIM_DPORT },
	{ .id = RS_SEL_L4PROTO_DPORT, .name = "meta l4proto . th dport", .source = SEL_CONCAT, .width = 8,
	  .format = FMT_DEC, .sim = SIM_PROTO_PORT, .members = { RS_SEL_L4PROTO, RS_SEL_TH_DPORT } },
	{ .id = RS_SEL_CT_MARK, .name = "ct mark", .source = SEL_CT, .key = NFT_CT_MARK, .ct_dir = -1, .width = 4,
	  .order = ORDER_HOST, .format = FMT_HEX, .sim = SIM_UNKNOWN },
	/* no datatype: nft 1.0.6 stores a set of raw payload values in host order, which never matches the packet */
	{ .id = RS_SEL_IH, .name = "@ih", .source = SEL_RAW_PAYLOAD, .base = NFT_PAYLOAD_INNER_HEADER,
	  .order = ORDER_BIG, .format = FMT_HEX, .sim = SIM_PAYLOAD },
	/* nft wants the protocol matched before it (the port's type depends on it), and cannot concatenate it with the
	 * protocol: maps keyed by it are one per protocol */
	{ .id = RS_SEL_CT_ORIGINAL_DPORT, .name = "ct original proto-dst", .source = SEL_CT, .key = NFT_CT_PROTO_DST,
	  .ct_dir = IP_CT_DIR_ORIGINAL, .width = 2, .order = ORDER_BIG, .format = FMT_DEC, .sim = SIM_DPORT },
	{ .id = RS_SEL_FIB_DADDR_TYPE, .name = "fib daddr type", .source = SEL_FIB, .key = NFT_FIB_RESULT_ADDRTYPE,
	  .fib_flags = NFTA_FIB_F_DADDR, .width = 4, .order = ORDER_HOST, .format = FMT_ADDRTYPE, .sim = SIM_UNKNOWN },
};

const struct selector *selector_of(enum rs_selector id)
{
	for (size_t i = 0; i < ARRAY_SIZE(selectors); i++)
		if (selectors[i].id == id)
			return &selectors[i];
	return NULL;
}

const struct selector *selector_by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(selectors); i++)
		if (strcmp(selectors[i].name, name) == 0)
			return &selectors[i];
	return NULL;
}

static const struct selector *by_key(enum sel_source source, uint32_t key)
{
	for (size_t i = 0; i < ARRAY_SIZE(selectors); i++)
		if (selectors[i].source == source && selectors[i].key == key)
			return &selectors[i];
	return NULL;
}

const struct selector *selector_by_meta(uint32_t key)
{
	return by_key(SEL_META, key);
}

const struct selector *selector_by_ct(uint32_t key, int dir)
{
	for (size_t i = 0; i < ARRAY_SIZE(selectors); i++)
		if (selectors[i].source == SEL_CT && selectors[i].key == key && selectors[i].ct_dir == dir)
			return &selectors[i];
	return NULL;
}

const struct selector *selector_by_fib(uint32_t result, uint32_t flags)
{
	for (size_t i = 0; i < ARRAY_SIZE(selectors); i++)
		if (selectors[i].source == SEL_FIB && selectors[i].key == result && selectors[i].fib_flags == flags)
			return &selectors[i];
	return NULL;
}

const struct selector *selector_by_payload(uint32_t base, uint32_t offset, uint32_t len, uint8_t nfproto,
					   uint8_t l4proto)
{
	const struct selector *raw = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(selectors); i++) {
		const struct selector *s = &selectors[i];

		if (s->source == SEL_RAW_PAYLOAD && s->base == base)
			raw = s;
		if (s->source != SEL_PAYLOAD || s->base != base || s->offset != offset || s->len != len)
			continue;
		/* "icmp type" and "icmpv6 type" load the same byte: what the rule matched before tells them apart */
		if ((s->nfproto && s->nfproto != nfproto) || (s->l4proto && s->l4proto != l4proto))
			continue;
		return s;
	}
	return raw;
}

const struct selector *selector_by_members(const enum rs_selector *members, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(selectors); i++) {
		const struct selector *s = &selectors[i];

		if (s->source != SEL_CONCAT || n > SELECTOR_MAX_MEMBERS)
			continue;
		if (memcmp(s->members, members, n * sizeof(*members)) == 0)
			return s;
	}
	return NULL;
}

uint32_t selector_width(const struct selector *s, const struct rs_match *m)
{
	return s->source == SEL_RAW_PAYLOAD ? m->length / 8 : s->width;
}

/* ---- how values print ---- */

struct named_value {
	uint32_t value;
	const char *name;
};

/* Names as nft 1.0 prints them. */
static const struct named_value icmp_types[] = {
	{ 0, "echo-reply" }, { 3, "destination-unreachable" }, { 4, "source-quench" }, { 5, "redirect" },
	{ 8, "echo-request" }, { 9, "router-advertisement" }, { 10, "router-solicitation" }, { 11, "time-exceeded" },
	{ 12, "parameter-problem" }, { 13, "timestamp-request" }, { 14, "timestamp-reply" }, { 15, "info-request" },
	{ 16, "info-reply" }, { 17, "address-mask-request" }, { 18, "address-mask-reply" },
};

static const struct named_value icmpv6_types[] = {
	{ 1, "destination-unreachable" }, { 2, "packet-too-big" }, { 3, "time-exceeded" }, { 4, "parameter-problem" },
	{ 128, "echo-request" }, { 129, "echo-reply" }, { 130, "mld-listener-query" }, { 131, "mld-listener-report" },
	{ 132, "mld-listener-done" }, { 133, "nd-router-solicit" }, { 134, "nd-router-advert" },
	{ 135, "nd-neighbor-solicit" }, { 136, "nd-neighbor-advert" }, { 137, "nd-redirect" },
	{ 138, "router-renumbering" }, { 141, "ind-neighbor-solicit" }, { 142, "ind-neighbor-advert" },
	{ 143, "mld2-listener-report" },
};

/* Only names nft knows as keywords: any other name nft looks up in /etc/protocols, which a minimal system (no
 * netbase) does not have, and the script would not load there ("Could not resolve protocol name"). So 58 is
 * icmpv6, not ipv6-icmp, and 41 (ipv6) and 47 (gre) are written as numbers. */
static const struct named_value l4protos[] = {
	{ 1, "icmp" }, { 2, "igmp" }, { 6, "tcp" }, { 17, "udp" }, { 33, "dccp" }, { 50, "esp" }, { 51, "ah" },
	{ 58, "icmpv6" }, { 108, "comp" }, { 132, "sctp" }, { 136, "udplite" },
};

static const struct named_value nfprotos[] = {
	{ NFPROTO_IPV4, "ipv4" },
	{ NFPROTO_IPV6, "ipv6" },
};

/* the kernel's route types (RTN_*), as nft's fib_addr_type prints them */
static const struct named_value addr_types[] = {
	{ 0, "unspec" }, { 1, "unicast" }, { 2, "local" }, { 3, "broadcast" }, { 4, "anycast" }, { 5, "multicast" },
	{ 6, "blackhole" }, { 7, "unreachable" }, { 8, "prohibit" },
};

static const struct named_value ct_states[] = {
	{ RS_CT_INVALID, "invalid" }, { RS_CT_ESTABLISHED, "established" }, { RS_CT_RELATED, "related" },
	{ RS_CT_NEW, "new" }, { RS_CT_UNTRACKED, "untracked" },
};

static void put_named(struct sbuf *sb, const struct named_value *table, size_t n, uint32_t v)
{
	for (size_t i = 0; i < n; i++)
		if (table[i].value == v) {
			sbuf_puts(sb, table[i].name);
			return;
		}
	sbuf_addf(sb, "%u", v);
}

void selector_put_l4proto(uint32_t proto, struct sbuf *sb)
{
	put_named(sb, l4protos, ARRAY_SIZE(l4protos), proto);
}

void selector_put_name(const struct rs_match *m, struct sbuf *sb)
{
	const struct selector *s = selector_of(m->sel);

	if (!s)
		sbuf_puts(sb, "?");
	else if (s->source == SEL_RAW_PAYLOAD)
		sbuf_addf(sb, "%s,%u,%u", s->name, m->offset, m->length);
	else
		sbuf_puts(sb, s->name);
}

void selector_put_value(const struct rs_match *m, const struct rs_value *v, struct sbuf *sb)
{
	const struct selector *s = selector_of(m->sel);
	bool first = true;

	switch (s ? s->format : FMT_DEC) {
	case FMT_IFINDEX:
	case FMT_IFNAME:
		sbuf_addf(sb, "\"%s\"", v->str);
		break;
	case FMT_NFPROTO:
		put_named(sb, nfprotos, ARRAY_SIZE(nfprotos), v->num);
		break;
	case FMT_L4PROTO:
		selector_put_l4proto(v->num, sb);
		break;
	case FMT_ICMP:
		put_named(sb, icmp_types, ARRAY_SIZE(icmp_types), v->num);
		break;
	case FMT_ICMPV6:
		put_named(sb, icmpv6_types, ARRAY_SIZE(icmpv6_types), v->num);
		break;
	case FMT_CT_STATE:
		for (size_t i = 0; i < ARRAY_SIZE(ct_states); i++)
			if (v->num & ct_states[i].value) {
				sbuf_addf(sb, "%s%s", first ? "" : ",", ct_states[i].name);
				first = false;
			}
		break;
	case FMT_HEX:
		sbuf_addf(sb, "0x%x", v->num);
		break;
	case FMT_ADDRTYPE:
		put_named(sb, addr_types, ARRAY_SIZE(addr_types), v->num);
		break;
	case FMT_DEC:
	case FMT_ADDR:
		sbuf_addf(sb, "%u", v->num);
		break;
	}
}

/* ---- named sets' keys ---- */

static const struct set_key set_keys[] = {
	{ RS_KEY_IPV4, "ipv4_addr", 4, 4, TYPE_IPADDR },
	{ RS_KEY_IPV6, "ipv6_addr", 16, 16, TYPE_IP6ADDR },
	{ RS_KEY_PROTO_PORT, "inet_proto . inet_service", 3, 8, TYPE_INET_PROTOCOL << TYPE_BITS | TYPE_INET_SERVICE },
	{ RS_KEY_PORT, "inet_service", 2, 2, TYPE_INET_SERVICE },
};

const struct set_key *set_key_of(enum rs_keytype type)
{
	for (size_t i = 0; i < ARRAY_SIZE(set_keys); i++)
		if (set_keys[i].type == type)
			return &set_keys[i];
	return NULL;
}

const struct set_key *set_key_by_datatype(uint32_t datatype, uint32_t kernel_len)
{
	for (size_t i = 0; i < ARRAY_SIZE(set_keys); i++)
		if (set_keys[i].datatype == datatype && set_keys[i].kernel_len == kernel_len)
			return &set_keys[i];
	return NULL;
}

/* ---- verdicts and limit units ---- */

static const struct {
	enum rs_verdict_code code;
	int32_t kernel;
} verdicts[] = {
	{ RS_ACCEPT, NF_ACCEPT }, { RS_DROP, NF_DROP },     { RS_JUMP, NFT_JUMP },
	{ RS_GOTO, NFT_GOTO },    { RS_RETURN, NFT_RETURN }, { RS_CONTINUE, NFT_CONTINUE },
};

uint32_t nft_verdict(enum rs_verdict_code code)
{
	for (size_t i = 0; i < ARRAY_SIZE(verdicts); i++)
		if (verdicts[i].code == code)
			return (uint32_t)verdicts[i].kernel;
	return NF_DROP;
}

enum rs_verdict_code rs_verdict_of(int32_t code, enum rs_verdict_code fallback)
{
	for (size_t i = 0; i < ARRAY_SIZE(verdicts); i++)
		if (verdicts[i].kernel == code)
			return verdicts[i].code;
	return fallback;
}

static const uint64_t unit_seconds[] = {
	[RS_PER_SECOND] = 1,
	[RS_PER_MINUTE] = 60,
	[RS_PER_HOUR] = 3600,
	[RS_PER_DAY] = 86400,
};

uint64_t nft_limit_unit(enum rs_rate_unit unit)
{
	return unit_seconds[unit];
}

bool rs_rate_unit_of(uint64_t seconds, enum rs_rate_unit *unit)
{
	for (size_t i = 0; i < ARRAY_SIZE(unit_seconds); i++)
		if (unit_seconds[i] == seconds) {
			*unit = (enum rs_rate_unit)i;
			return true;
		}
	return false;
}
