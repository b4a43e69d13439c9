/* Semantic checks on a loaded policy, and resolution of what it names (catalogue services, @sets, ports). */
#ifndef TLSWALL_VALIDATE_H
#define TLSWALL_VALIDATE_H

struct diag_list;
struct policy;

/* Reports every problem to diags; afterwards each service's ports and each @set reference are resolved.
 * The policy may be compiled only if diags holds no errors. */
void validate_policy(struct policy *p, struct diag_list *diags);

#endif
