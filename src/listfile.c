#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tlswall/addr.h"
#include "tlswall/diag.h"
#include "tlswall/hash.h"
#include "tlswall/listfile.h"
#include "tlswall/mapping.h"
#include "tlswall/policy.h"
#include "tlswall/state.h"
#include "tlswall/util.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

bool listfile_parse(const char *text, size_t len, const char *name, struct addr_list *out, struct diag_list *diags)
{
	const char *p = text, *end = text + len;
	size_t errors_before = diag_errors(diags);
	bool quiet = false, told_quiet = false, saturated = false;
	size_t counted = diag_count(diags);
	unsigned line = 0;

	saturated = diag_file_saturated(diags, name, LISTFILE_MAX_DIAGS);

	/* Some editors start UTF-8 files with a byte order mark; it is not part of the first line. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *tok, *tok_end, *hash;
		struct addr_entry e;
		const char *why;

		if (!eol)
			eol = end;
		line++;
		hash = memchr(p, '#', (size_t)(eol - p));
		tok_end = hash ? hash : eol;
		tok = p;
		p = eol + 1;
		while (tok < tok_end && is_space(*tok))
			tok++;
		while (tok_end > tok && is_space(tok_end[-1]))
			tok_end--;
		if (tok == tok_end)
			continue;
		/* asking again only when something was reported: a million lines, most of them fine */
		if (diag_count(diags) != counted) {
			counted = diag_count(diags);
			saturated = diag_file_saturated(diags, name, LISTFILE_MAX_DIAGS);
		}
		if (saturated) {
			if (diag_errors(diags) != errors_before) {
				diag_error(diags, name, line,
					   "too many problems in this list file; stopped reading it here");
				break;
			}
			/* Only warnings so far: the list is good, and stopping would reject it. Read it to the end but
			 * stop repeating the warning. */
			quiet = true;
		}
		/* a token with a space in it never parses as an address: the space is looked for only then */
		if (!addr_parse(tok, (size_t)(tok_end - tok), &e, &why)) {
			for (const char *c = tok; c < tok_end; c++)
				if (is_space(*c)) {
					diag_error(diags, name, line, "one address, CIDR or range per line, not \"%.*s\"",
						   (int)(tok_end - tok > 80 ? 80 : tok_end - tok), tok);
					goto next;
				}
			diag_error(diags, name, line, "\"%.*s\": %s", (int)(tok_end - tok > 80 ? 80 : tok_end - tok), tok,
				   why);
			continue;
		}
		if (e.host_bits && quiet && !told_quiet) {
			diag_warning(diags, name, line, "too many warnings in this list file; not reporting more");
			told_quiet = true;
		} else if (e.host_bits && !quiet) {
			char norm[ADDR_TEXT_MAX];

			addr_entry_format(&e, norm);
			diag_warning(diags, name, line, "\"%.*s\" has host bits set; it means %s", (int)(tok_end - tok),
				     tok, norm);
		}
		addr_list_add(out, &e);
next:;
	}
	addr_list_normalize(out);
	return diag_errors(diags) == errors_before;
}

/* ---- the parsed-list cache ----
 *
 * A list file that has not changed is not parsed again: the state directory keeps, per list file, what parsing it
 * gave (the normalized ranges, in wire form: read in place, they are the sets' elements, addr.h) with what identifies
 * the file's content then: device, inode, size, modification time and a hash of the bytes. The file is still opened,
 * checked for trust and read (to hash it); only parsing and sorting, most of the cost, are skipped. Only a file
 * that parsed without any diagnostic is cached, so a cached read reports nothing, as parsing it again would not. */

#define CACHE_MAGIC "TLSWALLL"
#define CACHE_VERSION 3

struct cache_head {
	char magic[8];
	uint32_t version, pathlen;
	uint64_t dev, ino, size, mtime_s, mtime_ns, content, n4, n6, checksum;
};
_Static_assert(sizeof(struct cache_head) % 8 == 0, "the arrays after the head and the padded path start aligned");

static char *cache_name(const char *path)
{
	return x_asprintf("list-%016llx.cache", (unsigned long long)hash64(path, strlen(path)));
}

static void cache_head_of(struct cache_head *h, const char *path, const struct stat *st, uint64_t content)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, CACHE_MAGIC, 8);
	h->version = CACHE_VERSION;
	h->pathlen = (uint32_t)strlen(path);
	h->dev = (uint64_t)st->st_dev;
	h->ino = (uint64_t)st->st_ino;
	h->size = (uint64_t)st->st_size;
	h->mtime_s = (uint64_t)st->st_mtim.tv_sec;
	h->mtime_ns = (uint64_t)st->st_mtim.tv_nsec;
	h->content = content;
}

/* The checksum of a cache's body, piece by piece, so that the ranges are read straight into their arrays. */
static uint64_t cache_sum(const char *path, const void *v4, size_t a4, const void *v6, size_t a6)
{
	uint64_t a = hash64(path, strlen(path)), b = hash64(v4, a4), c = hash64(v6, a6);

	return a ^ (b << 21 | b >> 43) ^ (c << 42 | c >> 22);
}

/* The path, zero bytes after it to a multiple of 8: the arrays that follow start aligned for reading in place. */
static size_t padded(size_t pathlen)
{
	return (pathlen + 7) & ~(size_t)7;
}

/* The ranges cached for this very content of path, into out; false when there is no such cache. The arrays are read
 * in place (addr.h: held), not copied. */
static bool cache_load(struct state *cache, const char *path, const struct stat *st, uint64_t content,
		       struct addr_list *out)
{
	char *name = cache_name(path);
	struct cache_head want, h;
	struct addr_list l = { 0 };
	size_t pathlen = strlen(path), a4, a6;
	struct mapping m = { 0 };
	const char *v4, *v6;
	struct stat cst;
	bool ok = false;
	int fd = state_open_file(cache, name);

	free(name);
	if (fd < 0)
		return false;
	if (fstat(fd, &cst) != 0 || (size_t)cst.st_size < sizeof(h) || !mapping_open(&m, fd, (size_t)cst.st_size))
		goto out;
	memcpy(&h, m.data, sizeof(h));
	cache_head_of(&want, path, st, content);
	want.n4 = h.n4;
	want.n6 = h.n6;
	want.checksum = h.checksum;
	if (memcmp(&h, &want, sizeof(h)) != 0 || h.n4 > m.len / ADDR_WIRE4 || h.n6 > m.len / ADDR_WIRE6 ||
	    m.len != sizeof(h) + padded(pathlen) + h.n4 * ADDR_WIRE4 + h.n6 * ADDR_WIRE6)
		goto out;
	a4 = h.n4 * ADDR_WIRE4;
	a6 = h.n6 * ADDR_WIRE6;
	v4 = m.data + sizeof(h) + padded(pathlen);
	v6 = v4 + a4;
	if (memcmp(m.data + sizeof(h), path, pathlen) != 0 || cache_sum(path, v4, a4, v6, a6) != h.checksum)
		goto out;
	l.n4 = h.n4;
	l.n6 = h.n6;
	l.wire4 = (const uint8_t *)v4;
	l.wire6 = (const uint8_t *)v6;
	l.held = m;
	memset(&m, 0, sizeof(m));
	/* out is the set's list, empty: it takes the arrays as they are */
	if (out->n4 || out->n6) {
		addr_list_append(out, &l);
	} else {
		addr_list_release(out);
		*out = l;
		memset(&l, 0, sizeof(l));
	}
	ok = true;
out:
	addr_list_release(&l);
	mapping_release(&m);
	close(fd);
	return ok;
}

static void cache_save(struct state *cache, const char *path, const struct stat *st, uint64_t content,
		       const struct addr_list *l)
{
	size_t pathlen = strlen(path), a4 = l->n4 * ADDR_WIRE4, a6 = l->n6 * ADDR_WIRE6;
	size_t at = sizeof(struct cache_head) + padded(pathlen), len = at + a4 + a6;
	char *data = x_calloc(1, len), *name = cache_name(path);
	struct cache_head h;

	cache_head_of(&h, path, st, content);
	h.n4 = l->n4;
	h.n6 = l->n6;
	addr_list_wire(l, (uint8_t *)data + at, (uint8_t *)data + at + a4);
	h.checksum = cache_sum(path, data + at, a4, data + at + a4, a6);
	memcpy(data, &h, sizeof(h));
	memcpy(data + sizeof(h), path, pathlen);
	state_write_cache(cache, name, data, len);
	free(name);
	free(data);
}

/* A list file's text, mapped, and what reading it gives. */
struct list_read {
	const char *path;
	struct mapping text;
	const struct stat *st;
	struct state *cache;
	struct addr_list *out;
	struct diag_list *diags;
	const char *io_error;
	uint64_t content;
	bool ok, save;
};

/* Everything that reads the mapped text, so that a file truncated meanwhile stops it cleanly (mapping.h). */
static void read_text(void *arg)
{
	struct list_read *r = arg;
	size_t diags_before = diag_count(r->diags);

	/* a cache is only ever written for a text that parsed clean (so held no NUL byte): on a hit, the text is read
	 * once, by the hash, and not scanned again */
	if (r->cache) {
		r->content = hash64(r->text.data, r->text.len);
		if (cache_load(r->cache, r->path, r->st, r->content, r->out)) {
			r->ok = true;
			return;
		}
	}
	if (r->text.len && memchr(r->text.data, '\0', r->text.len)) {
		r->io_error = "it contains NUL bytes, so it is not a text list of addresses";
		return;
	}
	r->ok = listfile_parse(r->text.data, r->text.len, r->path, r->out, r->diags);
	r->save = r->cache && r->ok && diag_count(r->diags) == diags_before;
}

static bool read_list(const char *path, struct addr_list *out, enum trust_mode trust, struct state *cache,
		      struct diag_list *diags, const char **io_error)
{
	struct list_read r = { .path = path, .cache = cache, .out = out, .diags = diags };
	struct stat st, now;
	int fd;

	*io_error = NULL;
	/* O_NONBLOCK: a FIFO is refused below instead of waiting for a writer */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		*io_error = strerror(errno);
		return false;
	}
	if (fstat(fd, &st) != 0) {
		*io_error = strerror(errno);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		*io_error = S_ISDIR(st.st_mode) ? "it is a directory" : "not a regular file";
		goto out;
	}
	trust_check_fd(fd, path, trust, diags);
	if (!mapping_open(&r.text, fd, (size_t)st.st_size)) {
		*io_error = strerror(errno);
		goto out;
	}
	r.st = &st;
	/* A file rewritten in place while it is read is neither parsed in part nor cached: truncated under the
	 * mapping (SIGBUS), or of another size or modification time once read, it is refused for this run. */
	if (!mapping_read_guarded(read_text, &r) || fstat(fd, &now) != 0 || now.st_size != st.st_size ||
	    now.st_mtim.tv_sec != st.st_mtim.tv_sec || now.st_mtim.tv_nsec != st.st_mtim.tv_nsec) {
		addr_list_release(out);
		*io_error = "it changed while tlswall read it; try again once it is written";
		r.ok = false;
		goto out;
	}
	*io_error = r.io_error;
	if (r.save)
		cache_save(cache, path, &st, r.content, out);
out:
	mapping_release(&r.text);
	close(fd);
	return r.ok;
}

bool listfile_read(const char *path, struct addr_list *out, enum trust_mode trust, struct diag_list *diags,
		   const char **io_error)
{
	return read_list(path, out, trust, NULL, diags, io_error);
}

void listfile_load_sets(struct policy *p, enum trust_mode trust, struct diag_list *diags)
{
	listfile_load_sets_cached(p, trust, NULL, diags);
}

void listfile_load_sets_cached(struct policy *p, enum trust_mode trust, struct state *cache, struct diag_list *diags)
{
	for (size_t i = 0; i < p->nsets; i++) {
		struct named_set *s = &p->sets[i];
		const char *io_error;
		bool shared = false;

		if (!s->path)
			continue;
		/* A file two sets name is read once, so its problems are reported once. */
		for (size_t j = 0; j < i && !shared; j++)
			if (p->sets[j].path && strcmp(p->sets[j].path, s->path) == 0) {
				addr_list_append(&s->addrs, &p->sets[j].addrs);
				shared = true;
			}
		if (shared)
			continue;
		if (!read_list(s->path, &s->addrs, trust, cache, diags, &io_error) && io_error)
			diag_error(diags, s->file_loc.file, s->file_loc.line, "set \"%s\": cannot read list file \"%s\": %s",
				   s->name, s->path, io_error);
	}
}
