#include <sys/stat.h>
#include <unistd.h>

#include "tlswall/diag.h"
#include "tlswall/trust.h"

void trust_check_fd(int fd, const char *path, enum trust_mode mode, struct diag_list *diags)
{
	void (*report)(struct diag_list *, const char *, unsigned, const char *, ...) =
		mode == TRUST_REQUIRE ? diag_error : diag_warning;
	const char *consequence = mode == TRUST_REQUIRE ? "refusing to apply it" : "apply will refuse it";
	struct stat st;

	if (fstat(fd, &st) != 0)
		return;
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		report(diags, path, 0, "file is writable by %s (mode %04o); %s: chmod go-w %s",
		       (st.st_mode & S_IWOTH) ? "others" : "its group", (unsigned)(st.st_mode & 07777), consequence,
		       path);
	if (st.st_uid != 0 && st.st_uid != geteuid())
		report(diags, path, 0, "file is owned by uid %u, not root; %s", (unsigned)st.st_uid, consequence);
}
