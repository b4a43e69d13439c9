#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tlswall/catalog.h"
#include "tlswall/listeners.h"
#include "tlswall/nl.h"
#include "tlswall/util.h"

/* sock_diag states (linux/tcp.h): a listening TCP socket, and an unconnected UDP one (TCP_CLOSE) */
#define STATE_LISTEN 10
#define STATE_UNCONNECTED 7

struct socket_ref {
	uint32_t inode;
	size_t index; /* into the listener array */
};

static int cmp_listener(const void *a, const void *b)
{
	const struct listener *x = a, *y = b;

	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->addr, y->addr, 16);
}

static int cmp_ref(const void *a, const void *b)
{
	const struct socket_ref *x = a, *y = b;

	return x->inode < y->inode ? -1 : x->inode > y->inode;
}

static int cmp_owner(const void *a, const void *b)
{
	const struct listener_owner *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static void add_owner(struct listener *l, int pid, const char *name)
{
	for (size_t i = 0; i < l->nowners; i++)
		if (l->owners[i].pid == pid)
			return;
	l->owners = x_reallocarray(l->owners, l->nowners + 1, sizeof(*l->owners));
	l->owners[l->nowners].pid = pid;
	snprintf(l->owners[l->nowners].name, sizeof(l->owners[0].name), "%s", name);
	l->nowners++;
}

static void read_comm(int pid, char name[16])
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	snprintf(name, 16, "?");
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(name, 16, f))
		name[strcspn(name, "\n")] = '\0';
	fclose(f);
}

/* Walks /proc/PID/fd/ of every process for "socket:[INODE]" links. Processes that vanish, or that this user may not
 * look into, are skipped: their sockets just have no owner. */
static void find_owners(struct listener *v, const struct socket_ref *refs, size_t nrefs)
{
	DIR *proc = opendir("/proc");
	struct dirent *pe;

	if (nrefs == 0 || !proc) {
		if (proc)
			closedir(proc);
		return;
	}
	while ((pe = readdir(proc))) {
		char path[300], link[64], name[16] = "";
		char *end;
		long pid = strtol(pe->d_name, &end, 10);
		DIR *fds;
		struct dirent *fe;

		if (*end || pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
		fds = opendir(path);
		if (!fds)
			continue;
		while ((fe = readdir(fds))) {
			struct socket_ref key, *hit;
			unsigned long inode;
			ssize_t n;

			if (fe->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%ld/fd/%s", pid, fe->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			if (sscanf(link, "socket:[%lu]", &inode) != 1)
				continue;
			key.inode = (uint32_t)inode;
			hit = bsearch(&key, refs, nrefs, sizeof(*refs), cmp_ref);
			if (!hit)
				continue;
			if (!name[0])
				read_comm((int)pid, name);
			add_owner(&v[hit->index], (int)pid, name);
		}
		closedir(fds);
	}
	closedir(proc);
}

static int collect(int family, uint8_t proto, uint32_t states, struct listener **v, size_t *n, size_t *cap,
		   struct socket_ref **refs)
{
	struct nl_socket *s = NULL;
	size_t ns = 0;
	int ret = nl_sockets(family, proto, states, &s, &ns);

	if (ret)
		return ret;
	for (size_t i = 0; i < ns; i++) {
		struct listener *l;

		if (s[i].lport == 0)
			continue; /* an unbound UDP socket: not reachable from anywhere */
		if (proto == L4_UDP && s[i].state != STATE_UNCONNECTED)
			continue; /* a connected UDP socket is a client's */
		x_grow(v, cap, *n + 1, sizeof(**v));
		*refs = x_reallocarray(*refs, *cap, sizeof(**refs));
		l = &(*v)[*n];
		memset(l, 0, sizeof(*l));
		l->family = s[i].family == AF_INET ? 4 : 6;
		l->proto = proto;
		memcpy(l->addr, s[i].local, 16);
		l->port = s[i].lport;
		(*refs)[*n].inode = s[i].inode;
		(*refs)[*n].index = *n;
		(*n)++;
	}
	free(s);
	return 0;
}

int listeners_read(struct listener **out, size_t *nout)
{
	struct listener *v = NULL;
	struct socket_ref *refs = NULL;
	size_t n = 0, cap = 0, m = 0;
	int ret = 0;

	for (int f = 0; f < 2 && !ret; f++) {
		int family = f ? AF_INET6 : AF_INET;

		ret = collect(family, L4_TCP, 1u << STATE_LISTEN, &v, &n, &cap, &refs);
		if (!ret)
			ret = collect(family, L4_UDP, 1u << STATE_UNCONNECTED, &v, &n, &cap, &refs);
	}
	if (ret) {
		listeners_free(v, n);
		free(refs);
		return ret;
	}
	if (n > 1) /* qsort of nothing: NULL is not an array */
		qsort(refs, n, sizeof(*refs), cmp_ref);
	find_owners(v, refs, n);
	free(refs);
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_listener);
	/* one listener per address and port, whatever the number of sockets behind it */
	for (size_t i = 0; i < n; i++) {
		if (m && cmp_listener(&v[m - 1], &v[i]) == 0) {
			for (size_t k = 0; k < v[i].nowners; k++)
				add_owner(&v[m - 1], v[i].owners[k].pid, v[i].owners[k].name);
			free(v[i].owners);
			continue;
		}
		v[m++] = v[i];
	}
	for (size_t i = 0; i < m; i++)
		if (v[i].nowners > 1)
			qsort(v[i].owners, v[i].nowners, sizeof(*v[i].owners), cmp_owner);
	*out = v;
	*nout = m;
	return 0;
}

void listeners_free(struct listener *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i].owners);
	free(v);
}

bool listener_is_loopback(const struct listener *l)
{
	static const uint8_t one6[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (l->family == 4)
		return l->addr[0] == 127;
	return memcmp(l->addr, one6, 16) == 0 || (memcmp(l->addr, mapped, 12) == 0 && l->addr[12] == 127);
}

bool listener_is_wildcard(const struct listener *l)
{
	static const uint8_t zero[16];

	return memcmp(l->addr, zero, l->family == 4 ? 4 : 16) == 0;
}
