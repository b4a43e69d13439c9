#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tlswall/addr.h"
#include "tlswall/diag.h"
#include "tlswall/listfile.h"
#include "tlswall/policy.h"
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

bool listfile_read(const char *path, struct addr_list *out, enum trust_mode trust, struct diag_list *diags,
		   const char **io_error)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	bool ok = false;
	int fd;

	*io_error = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
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
	buf = x_malloc((size_t)st.st_size + 1);
	for (;;) {
		ssize_t n;

		if (len == (size_t)st.st_size) {
			/* the file may have grown since fstat */
			st.st_size = (off_t)(len * 2 + 4096);
			buf = x_reallocarray(buf, (size_t)st.st_size + 1, 1);
		}
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*io_error = strerror(errno);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (memchr(buf, '\0', len)) {
		*io_error = "it contains NUL bytes, so it is not a text list of addresses";
		goto out;
	}
	ok = listfile_parse(buf, len, path, out, diags);
out:
	free(buf);
	close(fd);
	return ok;
}

void listfile_load_sets(struct policy *p, enum trust_mode trust, struct diag_list *diags)
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
		if (!listfile_read(s->path, &s->addrs, trust, diags, &io_error) && io_error)
			diag_error(diags, s->file_loc.file, s->file_loc.line, "set \"%s\": cannot read list file \"%s\": %s",
				   s->name, s->path, io_error);
	}
}
