/* Unit tests for evaluate.c: what a ruleset model does with the first packet of a new connection. The lockout guard
 * refuses a policy on EVAL_DROP and lets it through on anything else, so the outcome that matters most is that
 * nothing uncertain ever comes out as EVAL_ACCEPT or EVAL_DROP. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "tlswall/evaluate.h"
#include "built.h"

/* policies/ssh-managed.conf */
static const char ssh_managed[] =
	"version = 1;\n"
	"policy  = \"drop\";\n"
	"sets = { mgmt = [ \"198.51.100.0/24\", \"2001:db8:ff::/48\" ]; };\n"
	"services = ( { service = \"https\"; } );\n"
	"exemptions = (\n"
	"  { name = \"ssh\"; port = 22; proto = \"tcp\"; from = [ \"@mgmt\" ];\n"
	"    reason = \"SSH is encrypted but not TLS; management from the mgmt network only\"; }\n"
	");\n";

static const char with_deny[] =
	"version = 1;\n"
	"deny = [ \"203.0.113.0/24\", \"2001:db8:bad::/48\" ];\n"
	"services = ( { service = \"https\"; } );\n"
	"exemptions = ( { name = \"ssh\"; port = 22; proto = \"tcp\"; reason = \"management from anywhere\"; } );\n";

enum { TCP = 6, UDP = 17 };

static struct packet pkt(const char *addr, uint8_t proto, uint16_t port, const char *iif)
{
	struct packet p;

	memset(&p, 0, sizeof(p));
	if (inet_pton(AF_INET, addr, p.saddr) == 1) {
		p.family = 4;
	} else {
		assert_int_equal(inet_pton(AF_INET6, addr, p.saddr), 1);
		p.family = 6;
	}
	p.l4proto = proto;
	p.dport = port;
	snprintf(p.iifname, sizeof(p.iifname), "%s", iif);
	return p;
}

static const struct rs_chain *chain(const struct rs_table *t, const char *name)
{
	const struct rs_chain *c = rs_table_find_chain(t, name);

	if (!c)
		fail_msg("no chain %s", name);
	return c;
}

/* through tlswall's input chain */
static enum verdict eval(const struct rs_table *t, const struct packet *p, struct eval_trace *why)
{
	return evaluate(t, chain(t, "input"), p, why);
}

static const struct rs_rule *last_rule(const struct rs_chain *c)
{
	assert_true(c->nrules > 0);
	return c->rules[c->nrules - 1];
}

static long rule_index(const struct rs_chain *c, const struct rs_rule *r)
{
	for (size_t i = 0; i < c->nrules; i++)
		if (c->rules[i] == r)
			return (long)i;
	return -1;
}

/* the first rule of c that looks up set `set` (in a match or a verdict map) */
static const struct rs_rule *rule_using(const struct rs_chain *c, const char *set)
{
	for (size_t i = 0; i < c->nrules; i++)
		for (size_t k = 0; k < c->rules[i]->nstmts; k++)
			if (c->rules[i]->stmts[k].kind == RS_STMT_MATCH && c->rules[i]->stmts[k].u.match.set &&
			    strcmp(c->rules[i]->stmts[k].u.match.set, set) == 0)
				return c->rules[i];
	fail_msg("no rule of chain %s uses @%s", c->name, set);
	return NULL;
}

/* a new rule at position pos of c */
static struct rs_rule *insert_rule(struct rs_chain *c, size_t pos)
{
	struct rs_rule *r = rs_chain_add_rule(c);

	memmove(&c->rules[pos + 1], &c->rules[pos], (c->nrules - 1 - pos) * sizeof(*c->rules));
	c->rules[pos] = r;
	return r;
}

static void make_unreadable(struct rs_rule *r, const char *text)
{
	r->unreadable = true;
	r->foreign = true;
	r->raw_text = strdup(text);
	assert_non_null(r->raw_text);
}

static const char *const verdict_names[] = { "EVAL_ACCEPT", "EVAL_DROP", "EVAL_UNKNOWN" };

#define assert_verdict(got, want)                                                               \
	do {                                                                                    \
		enum verdict got_ = (got), want_ = (want);                                      \
		if (got_ != want_)                                                              \
			fail_msg("%s, expected %s", verdict_names[got_], verdict_names[want_]);  \
	} while (0)

#define assert_trace(why, chain_ptr, rule_ptr)                                                  \
	do {                                                                                    \
		assert_ptr_equal((why).chain, (chain_ptr));                                     \
		assert_ptr_equal((why).rule, (rule_ptr));                                       \
	} while (0)

/* ---- compiled policies */

static void test_ssh_from_inside_accepted(void **state)
{
	static const char *const v4[] = { "198.51.100.7", "198.51.100.0", "198.51.100.255" };
	static const char *const v6[] = { "2001:db8:ff::5", "2001:db8:ff::", "2001:db8:ff:ffff:ffff:ffff:ffff:ffff" };
	struct built b = built_alloc(ssh_managed);
	const struct rs_chain *ssh = chain(b.t, "exempt.ssh");
	struct eval_trace why;

	(void)state;
	assert_int_equal(ssh->nrules, 2);
	for (size_t i = 0; i < 3; i++) {
		struct packet p = pkt(v4[i], TCP, 22, "eth0");

		assert_verdict(eval(b.t, &p, &why), EVAL_ACCEPT);
		assert_trace(why, ssh, ssh->rules[0]);
		p = pkt(v6[i], TCP, 22, "eth0");
		assert_verdict(eval(b.t, &p, &why), EVAL_ACCEPT);
		assert_trace(why, ssh, ssh->rules[1]);
	}
	built_free(&b);
}

/* The service chain returns without a verdict for a source outside its sets, so what decides is the input chain's
 * final drop; the guard names the service chain from the services map (tcp . 22 : jump exempt.ssh). */
static void test_ssh_from_outside_dropped(void **state)
{
	static const char *const outside[] = { "198.51.99.255", "198.51.101.0", "203.0.113.9", "0.0.0.0",
						"255.255.255.255", "2001:db8:fe:ffff:ffff:ffff:ffff:ffff",
						"2001:db8:100::", "::" };
	struct built b = built_alloc(ssh_managed);
	const struct rs_chain *input = chain(b.t, "input");
	const struct rs_set *map = rs_table_find_set(b.t, "services");
	const uint8_t key[3] = { TCP, 0, 22 };
	struct eval_trace why;
	long owner;

	(void)state;
	assert_non_null(map);
	owner = rs_set_lookup(map, key);
	assert_true(owner >= 0);
	assert_int_equal(map->data[owner].code, RS_JUMP);
	assert_string_equal(map->data[owner].chain, "exempt.ssh");
	for (size_t i = 0; i < sizeof(outside) / sizeof(*outside); i++) {
		struct packet p = pkt(outside[i], TCP, 22, "eth0");

		assert_verdict(eval(b.t, &p, &why), EVAL_DROP);
		assert_trace(why, input, last_rule(input));
		assert_true(rs_rule_drops(why.rule));
	}
	built_free(&b);
}

static void test_open_and_closed_ports(void **state)
{
	struct built b = built_alloc(ssh_managed);
	const struct rs_chain *input = chain(b.t, "input"), *https = chain(b.t, "svc.https");
	struct eval_trace why;
	struct packet p;

	(void)state;
	p = pkt("203.0.113.9", TCP, 443, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_ACCEPT);
	assert_trace(why, https, https->rules[0]);
	p = pkt("2001:db8::1", UDP, 443, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_ACCEPT);
	assert_trace(why, https, https->rules[0]);
	/* no map element: the lookup falls through to the final drop */
	p = pkt("198.51.100.7", TCP, 80, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_DROP);
	assert_trace(why, input, last_rule(input));
	p = pkt("198.51.100.7", UDP, 22, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_DROP);
	p = pkt("198.51.100.7", TCP, 444, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_DROP);
	/* loopback is accepted before the map, whatever the port */
	p = pkt("127.0.0.1", TCP, 80, "lo");
	assert_verdict(eval(b.t, &p, &why), EVAL_ACCEPT);
	assert_trace(why, input, input->rules[2]);
	built_free(&b);
}

/* A deny list sits before the services map: it drops even for an open port and an exemption from anywhere. */
static void test_deny_list_first(void **state)
{
	struct built b = built_alloc(with_deny);
	const struct rs_chain *input = chain(b.t, "input");
	const struct rs_rule *deny4 = rule_using(input, "deny.src.v4"), *deny6 = rule_using(input, "deny.src.v6");
	const struct rs_rule *map = rule_using(input, "services");
	static const uint16_t ports[] = { 443, 22 };
	struct eval_trace why;
	struct packet p;

	(void)state;
	assert_true(rule_index(input, deny4) < rule_index(input, map));
	assert_true(rule_index(input, deny6) < rule_index(input, map));
	for (size_t i = 0; i < 2; i++) {
		p = pkt("203.0.113.5", TCP, ports[i], "eth0");
		assert_verdict(eval(b.t, &p, &why), EVAL_DROP);
		assert_trace(why, input, deny4);
		p = pkt("203.0.113.255", TCP, ports[i], "eth0");
		assert_verdict(eval(b.t, &p, &why), EVAL_DROP);
		assert_trace(why, input, deny4);
		p = pkt("2001:db8:bad:1::1", TCP, ports[i], "eth0");
		assert_verdict(eval(b.t, &p, &why), EVAL_DROP);
		assert_trace(why, input, deny6);
		/* just outside the list */
		p = pkt("203.0.112.255", TCP, ports[i], "eth0");
		assert_verdict(eval(b.t, &p, &why), EVAL_ACCEPT);
		p = pkt("203.0.114.0", TCP, ports[i], "eth0");
		assert_verdict(eval(b.t, &p, &why), EVAL_ACCEPT);
		p = pkt("2001:db8:bae:ffff:ffff:ffff:ffff:ffff", TCP, ports[i], "eth0");
		assert_verdict(eval(b.t, &p, &why), EVAL_ACCEPT);
	}
	p = pkt("203.0.114.0", TCP, 22, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_ACCEPT);
	assert_trace(why, chain(b.t, "exempt.ssh"), chain(b.t, "exempt.ssh")->rules[0]);
	built_free(&b);
}

/* A rule tlswall cannot read might accept or drop anything: once it is reached, nothing is certain. */
static void test_unreadable_rule_before_decision(void **state)
{
	struct built b = built_alloc(ssh_managed);
	struct rs_chain *input = rs_table_find_chain(b.t, "input");
	struct rs_rule *odd = insert_rule(input, 3);
	struct eval_trace why;
	struct packet p;

	(void)state;
	make_unreadable(odd, "[ payload load 2b @ transport header + 0 => reg 1 ]");
	p = pkt("198.51.100.7", TCP, 22, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_UNKNOWN);
	assert_trace(why, input, odd);
	p = pkt("203.0.113.9", TCP, 22, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_UNKNOWN);
	p = pkt("2001:db8:ff::1", TCP, 443, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_UNKNOWN);
	/* before it in the chain, loopback is still decided */
	p = pkt("127.0.0.1", TCP, 22, "lo");
	assert_verdict(eval(b.t, &p, &why), EVAL_ACCEPT);
	built_free(&b);
}

static void test_unreadable_rule_in_service_chain(void **state)
{
	struct built b = built_alloc(ssh_managed);
	struct rs_chain *ssh = rs_table_find_chain(b.t, "exempt.ssh");
	struct rs_rule *odd;
	struct eval_trace why;
	struct packet p;

	(void)state;
	/* after both accepts: a source they accept never reaches it, any other does */
	odd = insert_rule(ssh, 2);
	make_unreadable(odd, "[ unknown expression ]");
	p = pkt("198.51.100.7", TCP, 22, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_ACCEPT);
	p = pkt("203.0.113.9", TCP, 22, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_UNKNOWN);
	assert_trace(why, ssh, odd);
	/* first in the chain: even the sources it would accept are uncertain */
	odd = insert_rule(ssh, 0);
	make_unreadable(odd, "[ unknown expression ]");
	p = pkt("198.51.100.7", TCP, 22, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_UNKNOWN);
	assert_trace(why, ssh, odd);
	/* other ports never see the chain */
	p = pkt("203.0.113.9", TCP, 443, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_ACCEPT);
	built_free(&b);
}

/* A set of a kind tlswall does not make cannot be looked into; nor can a set that is not there. */
static void test_foreign_or_missing_set(void **state)
{
	struct built b = built_alloc(ssh_managed);
	struct rs_set *mgmt4 = rs_table_find_set(b.t, "mgmt.v4");
	struct rs_chain *ssh = rs_table_find_chain(b.t, "exempt.ssh");
	struct eval_trace why;
	struct packet p;

	(void)state;
	mgmt4->foreign = true;
	p = pkt("198.51.100.7", TCP, 22, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_UNKNOWN);
	p = pkt("203.0.113.9", TCP, 22, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_UNKNOWN);
	/* the IPv6 rule's set is readable: IPv6 is still decided */
	p = pkt("2001:db8:ff::1", TCP, 22, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_ACCEPT);
	assert_trace(why, ssh, ssh->rules[1]);
	mgmt4->foreign = false;
	free(ssh->rules[0]->stmts[0].u.match.set);
	ssh->rules[0]->stmts[0].u.match.set = strdup("no-such-set");
	p = pkt("198.51.100.7", TCP, 22, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_UNKNOWN);
	built_free(&b);
}

static void test_interfaces(void **state)
{
	struct built b = built_alloc("version = 1;\n"
				     "services = ( { service = \"https\"; interfaces = [ \"eth0\", \"wg*\" ]; } );\n");
	const struct rs_chain *https = chain(b.t, "svc.https"), *input = chain(b.t, "input");
	static const char *const in[] = { "eth0", "wg0", "wg", "wg-office" };
	static const char *const out[] = { "eth1", "eth00", "eth", "w", "wlan0", "lo0" };
	struct eval_trace why;
	struct packet p;

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(*in); i++) {
		p = pkt("203.0.113.9", TCP, 443, in[i]);
		assert_verdict(eval(b.t, &p, &why), EVAL_ACCEPT);
		assert_trace(why, https, https->rules[0]);
	}
	for (size_t i = 0; i < sizeof(out) / sizeof(*out); i++) {
		p = pkt("203.0.113.9", TCP, 443, out[i]);
		assert_verdict(eval(b.t, &p, &why), EVAL_DROP);
		assert_trace(why, input, last_rule(input));
	}
	/* an unknown interface decides nothing: not even the loopback rule can be told */
	p = pkt("203.0.113.9", TCP, 443, "");
	assert_verdict(eval(b.t, &p, &why), EVAL_UNKNOWN);
	p = pkt("203.0.113.9", TCP, 80, "");
	assert_verdict(eval(b.t, &p, &why), EVAL_UNKNOWN);
	built_free(&b);
}

/* The guard's coexistence probes do not know the source: an address match cannot be decided. */
static void test_any_source(void **state)
{
	struct built b = built_alloc(ssh_managed), d = built_alloc(with_deny);
	struct eval_trace why;
	struct packet p;

	(void)state;
	p = pkt("198.51.100.7", TCP, 22, "eth0");
	p.any_source = true;
	assert_verdict(eval(b.t, &p, &why), EVAL_UNKNOWN);
	p.family = 6;
	assert_verdict(eval(b.t, &p, &why), EVAL_UNKNOWN);
	/* nothing about the source matters for an open or a closed port */
	p = pkt("198.51.100.7", TCP, 443, "eth0");
	p.any_source = true;
	assert_verdict(eval(b.t, &p, &why), EVAL_ACCEPT);
	p = pkt("198.51.100.7", TCP, 80, "eth0");
	p.any_source = true;
	assert_verdict(eval(b.t, &p, &why), EVAL_DROP);
	/* a deny list may or may not hold the source */
	p = pkt("192.0.2.1", TCP, 443, "eth0");
	p.any_source = true;
	assert_verdict(eval(d.t, &p, &why), EVAL_UNKNOWN);
	built_free(&b);
	built_free(&d);
}

static void test_reject_is_drop(void **state)
{
	struct built b = built_alloc("version = 1;\npolicy = \"reject\";\nservices = ( { service = \"https\"; } );\n");
	const struct rs_chain *input = chain(b.t, "input");
	struct eval_trace why;
	struct packet p;

	(void)state;
	p = pkt("203.0.113.9", TCP, 80, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_DROP);
	assert_trace(why, input, input->rules[input->nrules - 2]);
	assert_int_equal(why.rule->stmts[why.rule->nstmts - 1].kind, RS_STMT_REJECT);
	assert_int_equal(why.rule->stmts[why.rule->nstmts - 1].u.reject, RS_REJECT_TCP_RESET);
	p = pkt("203.0.113.9", UDP, 80, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_DROP);
	assert_trace(why, input, last_rule(input));
	assert_int_equal(why.rule->stmts[why.rule->nstmts - 1].u.reject, RS_REJECT_ICMPX_ADMIN_PROHIBITED);
	built_free(&b);
}

/* ---- hand-built tables: control flow between chains. The table is the test's state, so that a failed assertion
 * does not leak it. */

static int table_alloc(void **state)
{
	*state = rs_table_alloc("t");
	return 0;
}

static int table_free(void **state)
{
	rs_table_free(*state);
	return 0;
}

static struct rs_chain *base_chain(struct rs_table *t, const char *name, enum rs_verdict_code policy)
{
	struct rs_chain *c = rs_table_add_chain(t, name);

	c->base = true;
	c->hook = RS_HOOK_INPUT;
	c->type = strdup("filter");
	c->policy = policy;
	return c;
}

/* [th dport PORT] VERDICT [TARGET]; port 0: no match */
static struct rs_rule *rule(struct rs_chain *c, uint16_t port, enum rs_verdict_code code, const char *target)
{
	struct rs_rule *r = rs_chain_add_rule(c);

	if (port)
		rs_match_add_num(rs_rule_match(r, RS_SEL_TH_DPORT, RS_OP_EQ), port);
	rs_rule_verdict(r, code, target);
	return r;
}

static enum verdict eval_base(const struct rs_table *t, const char *base, uint16_t port, struct eval_trace *why)
{
	struct packet p = pkt("192.0.2.1", TCP, port, "eth0");

	return evaluate(t, chain(t, base), &p, why);
}

static void test_jump_comes_back(void **state)
{
	struct rs_table *t = *state;
	struct rs_chain *in = base_chain(t, "in", RS_DROP), *sub = rs_table_add_chain(t, "sub");
	struct rs_rule *stop, *ok;
	struct eval_trace why;

	rs_table_add_chain(t, "empty");
	/* a chain that ends without a verdict, and one that returns for 22 */
	rule(in, 0, RS_JUMP, "empty");
	rule(in, 0, RS_JUMP, "sub");
	ok = rule(in, 22, RS_ACCEPT, NULL);
	rule(sub, 22, RS_RETURN, NULL);
	stop = rule(sub, 0, RS_DROP, NULL);
	/* sub returns for 22: the caller goes on with its next rule */
	assert_verdict(eval_base(t, "in", 22, &why), EVAL_ACCEPT);
	assert_trace(why, in, ok);
	/* for anything else sub decides */
	assert_verdict(eval_base(t, "in", 23, &why), EVAL_DROP);
	assert_trace(why, sub, stop);
}

static void test_goto_does_not_come_back(void **state)
{
	struct rs_table *t = *state;
	struct rs_chain *in = base_chain(t, "in", RS_ACCEPT), *in2 = base_chain(t, "in2", RS_DROP);
	struct rs_chain *via = base_chain(t, "via", RS_DROP), *a = rs_table_add_chain(t, "a");
	struct rs_rule *ok;
	struct eval_trace why;

	rs_table_add_chain(t, "empty");
	/* goto into a chain that ends: the base chain's policy decides, its next rule is never reached */
	rule(in, 0, RS_GOTO, "empty");
	rule(in, 0, RS_DROP, NULL);
	assert_verdict(eval_base(t, "in", 22, &why), EVAL_ACCEPT);
	assert_trace(why, in, NULL);
	rule(in2, 0, RS_GOTO, "empty");
	rule(in2, 0, RS_ACCEPT, NULL);
	assert_verdict(eval_base(t, "in2", 22, &why), EVAL_DROP);
	assert_trace(why, in2, NULL);
	/* the same with jump: the next rule decides */
	in->rules[0]->stmts[0].u.verdict.code = RS_JUMP;
	assert_verdict(eval_base(t, "in", 22, &why), EVAL_DROP);
	assert_trace(why, in, in->rules[1]);
	/* a goto inside a jumped-to chain returns to the jumper's caller */
	rule(via, 0, RS_JUMP, "a");
	ok = rule(via, 0, RS_ACCEPT, NULL);
	rule(a, 0, RS_GOTO, "empty");
	rule(a, 0, RS_DROP, NULL);
	assert_verdict(eval_base(t, "via", 22, &why), EVAL_ACCEPT);
	assert_trace(why, via, ok);
}

static void test_return_from_base_chain(void **state)
{
	struct rs_table *t = *state;
	struct rs_chain *in = base_chain(t, "in", RS_DROP), *open = base_chain(t, "open", RS_ACCEPT);
	struct rs_rule *ok;
	struct eval_trace why;

	rule(in, 22, RS_RETURN, NULL);
	ok = rule(in, 0, RS_ACCEPT, NULL);
	assert_verdict(eval_base(t, "in", 22, &why), EVAL_DROP);
	assert_trace(why, in, NULL);
	assert_verdict(eval_base(t, "in", 23, &why), EVAL_ACCEPT);
	assert_trace(why, in, ok);
	rule(open, 22, RS_RETURN, NULL);
	rule(open, 0, RS_DROP, NULL);
	assert_verdict(eval_base(t, "open", 22, &why), EVAL_ACCEPT);
	assert_trace(why, open, NULL);
}

/* A rule without a verdict, or with continue, goes on to the next. */
static void test_continue(void **state)
{
	struct rs_table *t = *state;
	struct rs_chain *in = base_chain(t, "in", RS_DROP);
	struct rs_rule *ok;
	struct eval_trace why;

	rs_rule_counter(rs_chain_add_rule(in));
	rule(in, 0, RS_CONTINUE, NULL);
	ok = rule(in, 22, RS_ACCEPT, NULL);
	assert_verdict(eval_base(t, "in", 22, &why), EVAL_ACCEPT);
	assert_trace(why, in, ok);
	assert_verdict(eval_base(t, "in", 23, &why), EVAL_DROP);
	assert_trace(why, in, NULL);
}

/* c0 (base) jumps to c1, ..., c(n-1) jumps to cn, which accepts */
static struct rs_table *jump_ladder(size_t n)
{
	struct rs_table *t = rs_table_alloc("t");
	char name[32], next[32];

	base_chain(t, "c0", RS_DROP);
	for (size_t i = 1; i <= n; i++) {
		snprintf(name, sizeof(name), "c%zu", i);
		rs_table_add_chain(t, name);
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "c%zu", i);
		snprintf(next, sizeof(next), "c%zu", i + 1);
		rule(rs_table_find_chain(t, name), 0, RS_JUMP, next);
	}
	snprintf(name, sizeof(name), "c%zu", n);
	rule(rs_table_find_chain(t, name), 0, RS_ACCEPT, NULL);
	return t;
}

/* nftables allows 16 nested jumps; anything deeper is a loop in someone else's table */
static void test_jump_depth(void **state)
{
	struct rs_table *t;
	struct eval_trace why;

	(void)state;
	t = jump_ladder(16);
	assert_verdict(eval_base(t, "c0", 22, &why), EVAL_ACCEPT);
	assert_ptr_equal(why.chain, rs_table_find_chain(t, "c16"));
	rs_table_free(t);
	t = jump_ladder(17);
	assert_verdict(eval_base(t, "c0", 22, &why), EVAL_UNKNOWN);
	rs_table_free(t);

	t = rs_table_alloc("t");
	rule(base_chain(t, "in", RS_DROP), 0, RS_JUMP, "a");
	rule(rs_table_add_chain(t, "a"), 0, RS_JUMP, "b");
	rule(rs_table_add_chain(t, "b"), 0, RS_JUMP, "a");
	assert_verdict(eval_base(t, "in", 22, &why), EVAL_UNKNOWN);
	rule(base_chain(t, "self", RS_ACCEPT), 0, RS_GOTO, "self");
	assert_verdict(eval_base(t, "self", 22, &why), EVAL_UNKNOWN);
	rule(base_chain(t, "nowhere", RS_ACCEPT), 0, RS_JUMP, "no-such-chain");
	assert_verdict(eval_base(t, "nowhere", 22, &why), EVAL_UNKNOWN);
	rs_table_free(t);
}

static void test_interface_not_equal(void **state)
{
	struct rs_table *t = *state;
	struct rs_chain *in = base_chain(t, "in", RS_ACCEPT);
	struct rs_rule *r = rs_chain_add_rule(in);
	struct eval_trace why;
	struct packet p;

	rs_match_add_str(rs_rule_match(r, RS_SEL_IIFNAME, RS_OP_NEQ), "eth*");
	rs_rule_verdict(r, RS_DROP, NULL);
	p = pkt("192.0.2.1", TCP, 22, "eth3");
	assert_verdict(evaluate(t, in, &p, &why), EVAL_ACCEPT);
	p = pkt("192.0.2.1", TCP, 22, "wlan0");
	assert_verdict(evaluate(t, in, &p, &why), EVAL_DROP);
	assert_trace(why, in, r);
	p = pkt("192.0.2.1", TCP, 22, "");
	assert_verdict(evaluate(t, in, &p, &why), EVAL_UNKNOWN);
}

/* A verdict map's own accept or drop decides; an unreadable map decides nothing. */
static void test_vmap_verdicts(void **state)
{
	struct rs_table *t = *state;
	struct rs_chain *in = base_chain(t, "in", RS_ACCEPT);
	struct rs_set *map = rs_table_add_set(t, "ports", RS_KEY_PROTO_PORT, false);
	char sub[] = "sub";
	struct rs_verdict acc = { RS_ACCEPT, NULL }, drop = { RS_DROP, NULL }, jmp = { RS_JUMP, sub };
	const uint8_t k22[3] = { TCP, 0, 22 }, k23[3] = { TCP, 0, 23 }, k24[3] = { TCP, 0, 24 };
	struct rs_rule *look = rs_chain_add_rule(in), *last;
	struct eval_trace why;

	map->vmap = true;
	rs_set_add(map, k23, NULL, &drop);
	rs_set_add(map, k22, NULL, &acc);
	rs_set_add(map, k24, NULL, &jmp);
	rs_set_sort(map);
	rs_rule_match(look, RS_SEL_L4PROTO_DPORT, RS_OP_VMAP)->set = strdup("ports");
	last = rule(in, 0, RS_DROP, NULL);
	rule(rs_table_add_chain(t, "sub"), 0, RS_RETURN, NULL);
	assert_verdict(eval_base(t, "in", 22, &why), EVAL_ACCEPT);
	assert_trace(why, in, look);
	assert_verdict(eval_base(t, "in", 23, &why), EVAL_DROP);
	assert_trace(why, in, look);
	/* jump to a chain that returns: the next rule */
	assert_verdict(eval_base(t, "in", 24, &why), EVAL_DROP);
	assert_trace(why, in, last);
	/* not in the map */
	assert_verdict(eval_base(t, "in", 25, &why), EVAL_DROP);
	assert_trace(why, in, last);
	map->foreign = true;
	assert_verdict(eval_base(t, "in", 22, &why), EVAL_UNKNOWN);
}

/* ---- state and rate: what the first packet of a new connection has, and what cannot be known */

/* "ct state != new" does not match a new connection, so the drop below does not apply. */
static void test_ct_state_not_new(void **state)
{
	struct rs_table *t = *state;
	struct rs_chain *in = base_chain(t, "in", RS_ACCEPT);
	struct rs_rule *r = rs_chain_add_rule(in);
	struct eval_trace why;

	rs_match_add_num(rs_rule_match(r, RS_SEL_CT_STATE, RS_OP_NEQ), RS_CT_NEW);
	rs_rule_verdict(r, RS_DROP, NULL);
	assert_verdict(eval_base(t, "in", 22, &why), EVAL_ACCEPT);
	assert_trace(why, in, NULL);
}

/* "ct state != established" matches a new connection, so it is accepted. */
static void test_ct_state_not_established(void **state)
{
	struct rs_table *t = *state;
	struct rs_chain *in = base_chain(t, "in", RS_DROP);
	struct rs_rule *r = rs_chain_add_rule(in);
	struct eval_trace why;

	rs_match_add_num(rs_rule_match(r, RS_SEL_CT_STATE, RS_OP_NEQ), RS_CT_ESTABLISHED);
	rs_rule_verdict(r, RS_ACCEPT, NULL);
	assert_verdict(eval_base(t, "in", 22, &why), EVAL_ACCEPT);
	assert_trace(why, in, r);
}

/* A TCP connection's first packet (a SYN) carries no payload: "@ih,0,8 >= 0x0" does not hold for it. */
static void test_payload_present_not_on_syn(void **state)
{
	struct rs_table *t = *state;
	struct rs_chain *in = base_chain(t, "in", RS_ACCEPT);
	struct rs_rule *r = rs_chain_add_rule(in);
	struct rs_match *m;
	struct eval_trace why;

	m = rs_rule_match(r, RS_SEL_IH, RS_OP_PRESENT);
	m->length = 8;
	rs_rule_verdict(r, RS_DROP, NULL);
	assert_verdict(eval_base(t, "in", 22, &why), EVAL_ACCEPT);
	assert_trace(why, in, NULL);
}

/* Past its rate a limit does not match, so an accept behind a limit is not certain: a guard must not count on it. */
static void test_limit_accept_uncertain(void **state)
{
	struct rs_table *t = *state;
	struct rs_chain *in = base_chain(t, "in", RS_DROP);
	struct rs_rule *r = rs_chain_add_rule(in);
	struct rs_stmt *st;
	struct eval_trace why;

	rs_match_add_num(rs_rule_match(r, RS_SEL_TH_DPORT, RS_OP_EQ), 22);
	st = rs_rule_add(r, RS_STMT_LIMIT);
	st->u.limit.rate = 3;
	st->u.limit.unit = RS_PER_MINUTE;
	st->u.limit.burst = 5;
	rs_rule_verdict(r, RS_ACCEPT, NULL);
	assert_verdict(eval_base(t, "in", 22, &why), EVAL_UNKNOWN);
}

/* ---- require_tls: payload checks before the services map */

static const char require_tls[] =
	"version = 1;\n"
	"require_tls = true;\n"
	"sets = { office = [ \"192.0.2.0/24\" ]; };\n"
	"services = ( { service = \"https\"; from = [ \"@office\" ]; }, { service = \"imaps\"; } );\n"
	"exemptions = ( { name = \"ssh\"; port = 22; proto = \"tcp\"; from = [ \"@office\" ];\n"
	"  reason = \"SSH is not TLS: never checked\"; } );\n";

/* Ports without a payload check are decided as without require_tls: the guard still sees SSH cut. */
static void test_require_tls_unchecked_port(void **state)
{
	struct built b = built_alloc(require_tls);
	const struct rs_chain *ssh = chain(b.t, "exempt.ssh");
	struct eval_trace why;
	struct packet p;

	(void)state;
	p = pkt("192.0.2.7", TCP, 22, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_ACCEPT);
	assert_trace(why, ssh, ssh->rules[0]);
	p = pkt("203.0.113.9", TCP, 22, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_DROP);
	p = pkt("203.0.113.9", TCP, 80, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_DROP);
	built_free(&b);
}

/* BUG: evaluate.c:field has no case for SIM_PAYLOAD, so every @ih match is "cannot tell", although selector.h says
 * what it is: nothing in a TCP SYN (the kernel's payload load fails and the match does not hold). A TCP connection
 * attempt to a port with a payload check is then EVAL_UNKNOWN whatever its source, and the lockout guard cannot see
 * a source restriction that cuts an established client (only EVAL_DROP refuses). */
static void test_require_tls_tcp_attempt(void **state)
{
	struct built b = built_alloc(require_tls);
	const struct rs_chain *https = chain(b.t, "svc.https"), *input = chain(b.t, "input");
	struct eval_trace why;
	struct packet p;

	(void)state;
	p = pkt("192.0.2.7", TCP, 443, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_ACCEPT);
	assert_trace(why, https, https->rules[0]);
	p = pkt("203.0.113.9", TCP, 443, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_DROP);
	assert_trace(why, input, last_rule(input));
	p = pkt("203.0.113.9", TCP, 993, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_ACCEPT);
	/* a UDP datagram carries a payload from the first packet: a QUIC check cannot be decided */
	p = pkt("192.0.2.7", UDP, 443, "eth0");
	assert_verdict(eval(b.t, &p, &why), EVAL_UNKNOWN);
	built_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ssh_from_inside_accepted),
		cmocka_unit_test(test_ssh_from_outside_dropped),
		cmocka_unit_test(test_open_and_closed_ports),
		cmocka_unit_test(test_deny_list_first),
		cmocka_unit_test(test_unreadable_rule_before_decision),
		cmocka_unit_test(test_unreadable_rule_in_service_chain),
		cmocka_unit_test(test_foreign_or_missing_set),
		cmocka_unit_test(test_interfaces),
		cmocka_unit_test(test_any_source),
		cmocka_unit_test(test_reject_is_drop),
		cmocka_unit_test_setup_teardown(test_jump_comes_back, table_alloc, table_free),
		cmocka_unit_test_setup_teardown(test_goto_does_not_come_back, table_alloc, table_free),
		cmocka_unit_test_setup_teardown(test_return_from_base_chain, table_alloc, table_free),
		cmocka_unit_test_setup_teardown(test_continue, table_alloc, table_free),
		cmocka_unit_test(test_jump_depth),
		cmocka_unit_test_setup_teardown(test_interface_not_equal, table_alloc, table_free),
		cmocka_unit_test_setup_teardown(test_vmap_verdicts, table_alloc, table_free),
		cmocka_unit_test_setup_teardown(test_ct_state_not_new, table_alloc, table_free),
		cmocka_unit_test_setup_teardown(test_ct_state_not_established, table_alloc, table_free),
		cmocka_unit_test_setup_teardown(test_limit_accept_uncertain, table_alloc, table_free),
		cmocka_unit_test_setup_teardown(test_payload_present_not_on_syn, table_alloc, table_free),
		cmocka_unit_test(test_require_tls_unchecked_port),
		cmocka_unit_test(test_require_tls_tcp_attempt),
	};

	return cmocka_run_group_tests_name("evaluate", tests, NULL, NULL);
}
