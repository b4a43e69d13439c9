#include <stdlib.h>
#include <string.h>

#include "tlswall/compile.h"
#include "tlswall/ruleset.h"
#include "tlswall/service_counters.h"
#include "tlswall/shard.h"
#include "tlswall/util.h"

/* "svc.imap" -> the chain "plaintext.imap", if there is one */
static const struct rs_chain *plaintext_of(const struct rs_table *t, const char *chain)
{
	const char *dot = strchr(chain, '.');
	char *name;
	const struct rs_chain *c;

	if (!dot)
		return NULL;
	name = x_asprintf("%s%s", COMPILE_PLAINTEXT_PREFIX, dot);
	c = rs_table_find_chain(t, name);
	free(name);
	return c;
}

/* A shard chain of a long list (see tlswall/shard.h) counts for the chain whose rule it stands in for: hits of a
 * service's list are the service's, drops of the deny list are drops. True when c was such a chain. */
static bool add_shard_chain(const struct rs_table *t, const struct rs_chain *c, struct table_counters *out)
{
	char *list, *owner_name;
	const struct rs_chain *owner;

	if (!shard_parse_chain(c->name, &list, &owner_name))
		return false;
	owner = rs_table_find_chain(t, owner_name);
	if (owner && owner->base) {
		for (size_t j = 0; j < c->nrules; j++)
			if (rs_rule_drops(c->rules[j]))
				rs_rule_counters(c->rules[j], &out->dropped_packets, &out->dropped_bytes);
	} else if (owner) {
		for (size_t i = 0; i < out->nservices; i++)
			if (strcmp(out->services[i].chain, owner->name) == 0)
				rs_chain_counters(c, &out->services[i].packets, &out->services[i].bytes);
	}
	free(list);
	free(owner_name);
	return owner != NULL;
}

void table_counters(const struct rs_table *t, struct table_counters *out)
{
	memset(out, 0, sizeof(*out));
	out->services = x_calloc(t->nchains ? t->nchains : 1, sizeof(*out->services));
	for (size_t i = 0; i < t->nchains; i++) {
		const struct rs_chain *c = t->chains[i], *refused;
		struct service_counters *s;

		if (c->base) {
			bool forward = c->hook == RS_HOOK_FORWARD;

			out->forwarding |= forward;
			for (size_t j = 0; j < c->nrules; j++)
				if (rs_rule_drops(c->rules[j]))
					rs_rule_counters(c->rules[j],
							 forward ? &out->forwarded_dropped_packets : &out->dropped_packets,
							 forward ? &out->forwarded_dropped_bytes : &out->dropped_bytes);
			continue;
		}
		if (compile_is_check_chain(c->name) || add_shard_chain(t, c, out))
			continue;
		s = &out->services[out->nservices++];
		s->chain = c->name;
		rs_chain_counters(c, &s->packets, &s->bytes);
		refused = plaintext_of(t, c->name);
		if (refused) {
			s->checked = true;
			rs_chain_counters(refused, &s->plaintext_packets, &s->plaintext_bytes);
		}
	}
}

void table_counters_release(struct table_counters *c)
{
	free(c->services);
	memset(c, 0, sizeof(*c));
}
