/* Which network namespace this process is in: what tells one namespace's state files and confirmations from
 * another's when they share a state directory. */
#ifndef TLSWALL_NETNS_H
#define TLSWALL_NETNS_H

#include <stdint.h>

/* A number naming this network namespace, never reused while the machine runs (the kernel's namespace cookie,
 * Linux 5.14 on); 0 when it cannot be told. */
uint64_t netns_id(void);

/* This boot's id (the kernel's random boot_id): namespace ids and ruleset generations start again at every boot.
 * "" when it cannot be read. */
void boot_id(char out[64]);

#endif
