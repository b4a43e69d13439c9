#include <stdlib.h>
#include <string.h>

#include "tlswall/policy.h"
#include "tlswall/util.h"

struct policy *policy_alloc(const char *path)
{
	struct policy *p = x_calloc(1, sizeof(*p));
	const char *slash = strrchr(path, '/');

	p->path = x_strdup(path);
	p->dir = slash ? x_strndup(path, (size_t)(slash - path) + 1) : x_strdup("");
	p->version = 1;
	p->table = x_strdup(POLICY_DEFAULT_TABLE);
	p->verdict = VERDICT_DROP;
	p->icmp = ICMP_ESSENTIAL;
	p->ct_mark_bit = POLICY_DEFAULT_CT_MARK_BIT;
	p->published_ports = true;
	p->published_mark_bit = POLICY_DEFAULT_PUBLISHED_MARK_BIT;
	return p;
}

static void source_list_release(struct source_list *l)
{
	addr_list_release(&l->literals);
	for (size_t i = 0; i < l->nrefs; i++)
		free(l->refs[i].name);
	free(l->refs);
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nsets; i++) {
		struct named_set *s = &p->sets[i];

		free(s->name);
		free(s->file);
		free(s->path);
		addr_list_release(&s->addrs);
	}
	for (size_t i = 0; i < p->nservices; i++) {
		struct service *s = &p->services[i];

		free(s->name);
		free(s->service);
		free(s->reason);
		source_list_release(&s->from);
		for (size_t j = 0; j < s->nifaces; j++)
			free(s->ifaces[j]);
		free(s->ifaces);
		free(s->iface_lines);
	}
	source_list_release(&p->deny);
	for (size_t i = 0; i < p->nfiles; i++)
		free(p->files[i]);
	free(p->files);
	free(p->sets);
	free(p->services);
	free(p->log.prefix);
	free(p->table);
	free(p->dir);
	free(p->path);
	free(p);
}

const char *policy_intern_file(struct policy *p, const char *file)
{
	for (size_t i = 0; i < p->nfiles; i++)
		if (strcmp(p->files[i], file) == 0)
			return p->files[i];
	x_grow(&p->files, &p->capfiles, p->nfiles + 1, sizeof(*p->files));
	p->files[p->nfiles] = x_strdup(file);
	return p->files[p->nfiles++];
}

struct loc policy_loc(struct policy *p, const char *file, unsigned line)
{
	struct loc l = { policy_intern_file(p, file ? file : p->path), line };

	return l;
}

struct named_set *policy_add_set(struct policy *p)
{
	x_grow(&p->sets, &p->capsets, p->nsets + 1, sizeof(*p->sets));
	memset(&p->sets[p->nsets], 0, sizeof(p->sets[0]));
	return &p->sets[p->nsets++];
}

struct service *policy_add_service(struct policy *p)
{
	x_grow(&p->services, &p->capservices, p->nservices + 1, sizeof(*p->services));
	memset(&p->services[p->nservices], 0, sizeof(p->services[0]));
	return &p->services[p->nservices++];
}

size_t policy_find_set(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->nsets; i++)
		if (strcmp(p->sets[i].name, name) == 0)
			return i;
	return (size_t)-1;
}

void source_list_add_ref(struct source_list *l, const char *name, struct loc loc)
{
	l->refs = x_reallocarray(l->refs, l->nrefs + 1, sizeof(*l->refs));
	l->refs[l->nrefs].name = x_strdup(name);
	l->refs[l->nrefs].loc = loc;
	l->refs[l->nrefs].index = (size_t)-1;
	l->nrefs++;
}

const char *rate_unit_name(enum rate_unit unit)
{
	static const char *const names[] = { "second", "minute", "hour", "day" };

	return names[unit];
}

char *policy_plaintext_log_prefix(const struct policy *p, const struct service *s)
{
	return x_asprintf("%splaintext %s: ", p->log.prefix ? p->log.prefix : "", s->name);
}

bool service_checks(const struct service *s, enum payload_check kind)
{
	for (size_t i = 0; i < s->nports; i++)
		if (s->checks[i] != CHECK_NONE && (kind == CHECK_NONE || s->checks[i] == kind))
			return true;
	return false;
}
