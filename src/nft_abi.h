/* nftables' numbers that the kernel stores and nft reads back, but no kernel or libnftnl header defines: what the
 * encoder must write, and the decoder expect, for `nft list` to print a table tlswall loaded exactly as one nft
 * loaded. Private to the modules that speak to the kernel (selector.c, nl_encode.c, nl_decode.c). */
#ifndef TLSWALL_NFT_ABI_H
#define TLSWALL_NFT_ABI_H

#include <stdbool.h>
#include <stdint.h>

#include "tlswall/ruleset.h"

/* nft's datatype numbers (src/datatype.h), stored as a set's key type. */
#define TYPE_IPADDR 7
#define TYPE_IP6ADDR 8
#define TYPE_INET_PROTOCOL 12
#define TYPE_INET_SERVICE 13
#define TYPE_ICMP_TYPE 14
#define TYPE_ICMP6_TYPE 29
#define TYPE_IFNAME 41
#define TYPE_BITS 6 /* a concatenation's type is its members' types, TYPE_BITS apart */

/* nft's set user data: key byte order (byteorder.h) and "typeof" descriptions (expression.h, proto.h). */
#define BYTEORDER_HOST_ENDIAN 1
#define BYTEORDER_BIG_ENDIAN 2
#define EXPR_PAYLOAD 7
#define EXPR_META 9
#define EXPR_CONCAT 13
#define PROTO_DESC_ICMP 4
#define PROTO_DESC_ICMPV6 14
#define ICMP_TYPE_FIELD 1

/* The user data type and value that mark a rule as tlswall's: a type nft does not use, so nft never shows it. */
#define UDATA_RULE_OWNER 0x54
#define OWNER_MARK "tlswall"

/* Verdicts and limit units between the model and the kernel. */
uint32_t nft_verdict(enum rs_verdict_code code);
/* A kernel verdict code in the model's terms; codes tlswall never writes become fallback. */
enum rs_verdict_code rs_verdict_of(int32_t code, enum rs_verdict_code fallback);
uint64_t nft_limit_unit(enum rs_rate_unit unit);
bool rs_rate_unit_of(uint64_t seconds, enum rs_rate_unit *unit);

#endif
