/* Destination NAT in other tools' tables: which ports a rule publishes, and to where.
 *
 * Docker and libvirt write such rules through iptables-nft (an xt DNAT target after native matches and xt ones like
 * addrtype), Podman's netavark and hand-written tables as nft's own "dnat to". nl_decode_rule.c reads only what the
 * model can express, and gives up on the rest; this reader is tolerant instead: it follows the few expressions that
 * say the protocol, the original destination port and the new destination, and steps over everything else
 * (counters, interface names, xt matches), so that every DNAT rule says what it publishes, or at least that it
 * publishes something. */
#include <arpa/inet.h>
#include <stdio.h> /* libnftnl/expr.h needs FILE */
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <stdlib.h>
#include <string.h>

#include "nl_decoder.h"
#include "tlswall/util.h"

/* What a 32-bit register slot holds, as far as this reader cares. */
enum held {
	HELD_NOTHING,
	HELD_L4PROTO,
	HELD_NFPROTO,
	HELD_DPORT,
	HELD_DATA, /* an immediate value: a NAT address or port */
};

struct slot {
	enum held held;
	uint8_t data[4]; /* HELD_DATA: this slot's four bytes of the value */
};

struct dnat_reader {
	uint8_t family; /* the table's */
	const struct anon_sets *anons;
	struct slot regs[NFT_REG32_COUNT];
	struct rs_dnat d;
	bool translates;
	bool have_gte;  /* "dport >= a" seen, waiting for its "<= b" */
	uint16_t gte;
};

static struct slot *slot_at(struct dnat_reader *r, uint32_t reg)
{
	if (reg >= NFT_REG_1 && reg <= NFT_REG_4)
		return &r->regs[(reg - NFT_REG_1) * 4];
	if (reg >= NFT_REG32_00 && reg < NFT_REG32_00 + NFT_REG32_COUNT)
		return &r->regs[reg - NFT_REG32_00];
	return NULL;
}

static void hold(struct dnat_reader *r, const struct nftnl_expr *x, uint16_t attr, enum held what)
{
	struct slot *s = nftnl_expr_is_set(x, attr) ? slot_at(r, nftnl_expr_get_u32(x, attr)) : NULL;

	if (s)
		s->held = what;
}

static void add_ports(struct rs_dnat *d, uint16_t first, uint16_t last)
{
	d->ports = x_reallocarray(d->ports, d->nports + 1, sizeof(*d->ports));
	d->ports[d->nports].first = first;
	d->ports[d->nports].last = last;
	d->nports++;
}

static uint16_t port_of(const void *data, uint32_t len)
{
	uint16_t v = 0;

	if (len >= 2)
		memcpy(&v, data, 2);
	return ntohs(v);
}

static void on_meta(struct dnat_reader *r, const struct nftnl_expr *x)
{
	uint32_t key = nftnl_expr_get_u32(x, NFTNL_EXPR_META_KEY);

	hold(r, x, NFTNL_EXPR_META_DREG,
	     key == NFT_META_L4PROTO ? HELD_L4PROTO : key == NFT_META_NFPROTO ? HELD_NFPROTO : HELD_NOTHING);
}

static void on_payload(struct dnat_reader *r, const struct nftnl_expr *x)
{
	uint32_t base = nftnl_expr_get_u32(x, NFTNL_EXPR_PAYLOAD_BASE), off = nftnl_expr_get_u32(x, NFTNL_EXPR_PAYLOAD_OFFSET),
		 len = nftnl_expr_get_u32(x, NFTNL_EXPR_PAYLOAD_LEN);
	enum held what = HELD_NOTHING;

	/* the IPv4 protocol field, the IPv6 next header (in a table of that family only: inet rules use meta l4proto),
	 * and the TCP or UDP destination port */
	if (base == NFT_PAYLOAD_NETWORK_HEADER && len == 1 &&
	    ((r->family == NFPROTO_IPV4 && off == 9) || (r->family == NFPROTO_IPV6 && off == 6)))
		what = HELD_L4PROTO;
	else if (base == NFT_PAYLOAD_TRANSPORT_HEADER && off == 2 && len == 2)
		what = HELD_DPORT;
	hold(r, x, NFTNL_EXPR_PAYLOAD_DREG, what);
}

static void on_cmp(struct dnat_reader *r, const struct nftnl_expr *x)
{
	struct slot *s = slot_at(r, nftnl_expr_get_u32(x, NFTNL_EXPR_CMP_SREG));
	uint32_t op = nftnl_expr_get_u32(x, NFTNL_EXPR_CMP_OP), len;
	const uint8_t *data = nftnl_expr_get_data(x, NFTNL_EXPR_CMP_DATA, &len);

	if (!s || !data || len == 0)
		return;
	switch (s->held) {
	case HELD_L4PROTO:
		if (op == NFT_CMP_EQ)
			r->d.l4proto = data[0];
		break;
	case HELD_NFPROTO:
		if (op == NFT_CMP_EQ)
			r->d.family = data[0] == NFPROTO_IPV4 ? 4 : data[0] == NFPROTO_IPV6 ? 6 : 0;
		break;
	case HELD_DPORT:
		if (op == NFT_CMP_EQ) {
			add_ports(&r->d, port_of(data, len), port_of(data, len));
		} else if (op == NFT_CMP_GTE) {
			r->have_gte = true;
			r->gte = port_of(data, len);
		} else if (op == NFT_CMP_LTE && r->have_gte) {
			add_ports(&r->d, r->gte, port_of(data, len));
			r->have_gte = false;
		} else {
			r->d.ports_unread = true;
		}
		break;
	default:
		break;
	}
}

static void on_range(struct dnat_reader *r, const struct nftnl_expr *x)
{
	struct slot *s = slot_at(r, nftnl_expr_get_u32(x, NFTNL_EXPR_RANGE_SREG));
	uint32_t flen, tlen;
	const void *from = nftnl_expr_get_data(x, NFTNL_EXPR_RANGE_FROM_DATA, &flen),
		   *to = nftnl_expr_get_data(x, NFTNL_EXPR_RANGE_TO_DATA, &tlen);

	if (!s || s->held != HELD_DPORT)
		return;
	if (nftnl_expr_get_u32(x, NFTNL_EXPR_RANGE_OP) == NFT_RANGE_EQ && from && to)
		add_ports(&r->d, port_of(from, flen), port_of(to, tlen));
	else
		r->d.ports_unread = true;
}

static void on_lookup(struct dnat_reader *r, const struct nftnl_expr *x)
{
	struct slot *s = slot_at(r, nftnl_expr_get_u32(x, NFTNL_EXPR_LOOKUP_SREG));
	const struct anon_set *a;
	bool inverted = nftnl_expr_is_set(x, NFTNL_EXPR_LOOKUP_FLAGS) &&
			(nftnl_expr_get_u32(x, NFTNL_EXPR_LOOKUP_FLAGS) & NFT_LOOKUP_F_INV);

	if (!s || s->held != HELD_DPORT)
		return;
	/* "tcp dport { 80, 443 }": an anonymous set of ports the table holds; a named one or a map is not listed */
	a = anon_set_find(r->anons, nftnl_expr_get_str(x, NFTNL_EXPR_LOOKUP_SET));
	if (!a || a->keylen != 2 || inverted || nftnl_expr_is_set(x, NFTNL_EXPR_LOOKUP_DREG)) {
		r->d.ports_unread = true;
		return;
	}
	for (size_t i = 0; i < a->n; i++)
		add_ports(&r->d, port_of(a->ranges[i].first, 2), port_of(a->ranges[i].last, 2));
}

static void on_immediate(struct dnat_reader *r, const struct nftnl_expr *x)
{
	uint32_t len = 0;
	const uint8_t *data;
	struct slot *s;

	if (!nftnl_expr_is_set(x, NFTNL_EXPR_IMM_DATA))
		return;
	data = nftnl_expr_get_data(x, NFTNL_EXPR_IMM_DATA, &len);
	s = slot_at(r, nftnl_expr_get_u32(x, NFTNL_EXPR_IMM_DREG));
	/* a value wider than a slot fills the ones after it */
	for (uint32_t at = 0; s && data && at < len && s < r->regs + NFT_REG32_COUNT; at += 4, s++) {
		s->held = HELD_DATA;
		memset(s->data, 0, sizeof(s->data));
		memcpy(s->data, data + at, len - at < 4 ? len - at : 4);
	}
}

/* the immediate value in reg.., width bytes, if the register holds one */
static bool value_in(struct dnat_reader *r, const struct nftnl_expr *x, uint16_t attr, uint8_t *out, size_t width)
{
	struct slot *s = nftnl_expr_is_set(x, attr) ? slot_at(r, nftnl_expr_get_u32(x, attr)) : NULL;

	for (size_t at = 0; s && at < width; at += 4, s++) {
		if (s >= r->regs + NFT_REG32_COUNT || s->held != HELD_DATA)
			return false;
		memcpy(out + at, s->data, width - at < 4 ? width - at : 4);
	}
	return s != NULL;
}

static void on_nat(struct dnat_reader *r, const struct nftnl_expr *x)
{
	uint32_t family = nftnl_expr_get_u32(x, NFTNL_EXPR_NAT_FAMILY);
	uint8_t port[4];

	if (nftnl_expr_get_u32(x, NFTNL_EXPR_NAT_TYPE) != NFT_NAT_DNAT)
		return;
	r->translates = true;
	r->d.family = family == NFPROTO_IPV4 ? 4 : family == NFPROTO_IPV6 ? 6 : r->d.family;
	if (r->d.family)
		r->d.have_addr = value_in(r, x, NFTNL_EXPR_NAT_REG_ADDR_MIN, r->d.addr, r->d.family == 4 ? 4 : 16);
	if (value_in(r, x, NFTNL_EXPR_NAT_REG_PROTO_MIN, port, 2))
		r->d.to_port = port_of(port, 2);
}

/* iptables' -j DNAT --to-destination: revision 0 holds an IPv4 range list, 1 and 2 one range of either family */
static void on_target(struct dnat_reader *r, const struct nftnl_expr *x)
{
	uint32_t len = 0, rev = nftnl_expr_get_u32(x, NFTNL_EXPR_TG_REV);
	const void *info = nftnl_expr_get_data(x, NFTNL_EXPR_TG_INFO, &len);
	const char *name = nftnl_expr_get_str(x, NFTNL_EXPR_TG_NAME);
	unsigned flags = 0;

	if (!name || strcmp(name, "DNAT") != 0)
		return;
	r->translates = true;
	r->d.family = r->family == NFPROTO_IPV4 ? 4 : r->family == NFPROTO_IPV6 ? 6 : 0;
	if (rev == 0 && r->d.family == 4 && info && len >= sizeof(struct nf_nat_ipv4_multi_range_compat)) {
		struct nf_nat_ipv4_multi_range_compat m;

		memcpy(&m, info, sizeof(m));
		flags = m.range[0].flags;
		memcpy(r->d.addr, &m.range[0].min_ip, 4);
		if (flags & NF_NAT_RANGE_PROTO_SPECIFIED)
			r->d.to_port = ntohs(m.range[0].min.all);
	} else if (rev >= 1 && r->d.family && info && len >= sizeof(struct nf_nat_range)) {
		struct nf_nat_range range;

		memcpy(&range, info, sizeof(range));
		flags = range.flags;
		memcpy(r->d.addr, &range.min_addr, r->d.family == 4 ? 4 : 16);
		if (flags & NF_NAT_RANGE_PROTO_SPECIFIED)
			r->d.to_port = ntohs(range.min_proto.all);
	}
	r->d.have_addr = flags & NF_NAT_RANGE_MAP_IPS;
}

static const struct {
	const char *name;
	void (*read)(struct dnat_reader *, const struct nftnl_expr *);
} readers[] = {
	{ "meta", on_meta },	   { "payload", on_payload }, { "cmp", on_cmp },	 { "range", on_range },
	{ "lookup", on_lookup },   { "immediate", on_immediate }, { "nat", on_nat }, { "target", on_target },
};

void nl_decode_dnat(const struct nftnl_rule *nr, uint8_t family, const struct anon_sets *anons, struct rs_rule *rule)
{
	struct dnat_reader r = { .family = family, .anons = anons };
	struct nftnl_expr_iter *it = x_nonnull(nftnl_expr_iter_create(nr));
	struct nftnl_expr *x;

	while ((x = nftnl_expr_iter_next(it))) {
		const char *name = nftnl_expr_get_str(x, NFTNL_EXPR_NAME);

		for (size_t i = 0; name && i < ARRAY_SIZE(readers); i++)
			if (strcmp(name, readers[i].name) == 0)
				readers[i].read(&r, x);
	}
	nftnl_expr_iter_destroy(it);
	if (!r.translates) {
		free(r.d.ports);
		return;
	}
	rule->dnat = x_malloc(sizeof(*rule->dnat));
	*rule->dnat = r.d;
}
