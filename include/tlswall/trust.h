/* Whether a policy or list file may be trusted to define the firewall (as sshd treats its keys). */
#ifndef TLSWALL_TRUST_H
#define TLSWALL_TRUST_H

struct diag_list;

enum trust_mode {
	TRUST_WARN,    /* check, generate: say what is wrong, carry on */
	TRUST_REQUIRE, /* apply: refuse */
};

/* Looks at the open file fd (so the file checked is the file read). Reports a file writable by group or others,
 * or owned by someone other than root or the caller, as a warning or an error according to mode. */
void trust_check_fd(int fd, const char *path, enum trust_mode mode, struct diag_list *diags);

#endif
