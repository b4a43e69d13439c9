#!/usr/bin/env python3
"""Synthetic tlswall policies for benchmarks.

A policy of size (S services, A addresses), variant V, is:
  - S custom TLS ports: { name = "svcK"; port = BASE_V + K; proto = "tcp"; tls = true; }, BASE_V = 10000 + 10000*V
  - a named set "bl" read from a list file of A single addresses (a quarter of them IPv6 by default), used in deny.
Addresses are spaced two apart so that tlswall's normalization (merging duplicates, overlaps and adjacent ranges)
keeps every one of them as its own element. Variants never share a port or an address, so loading variant 1 over
variant 0 replaces every service and every element while keeping the size.

Used as a module (write_policy) or from the command line:
  policygen.py --services 1000 --addresses 1000 --variant 1 --out DIR --name b
"""

import argparse
import ipaddress
import os
import random

V4_BASE = int(ipaddress.IPv4Address("10.0.0.0"))
V4_SPAN = 1 << 22                  # per variant: 10.0.0.0/10, 10.64.0.0/10, ...: 2M spaced addresses each
V6_BASE = int(ipaddress.IPv6Address("2001:db8::"))
MAX_SERVICES = 10000


def addresses(n, variant, v6_fraction=0.25):
    """n distinct, non-adjacent addresses (strings) for one variant."""
    n6 = int(n * v6_fraction)
    n4 = n - n6
    if 2 * n4 >= V4_SPAN:
        raise ValueError(f"{n4} IPv4 addresses do not fit one variant's range")
    if variant >= 4:
        raise ValueError("at most 4 variants")
    out = [str(ipaddress.IPv4Address(V4_BASE + variant * V4_SPAN + 2 * i + 1)) for i in range(n4)]
    out += [str(ipaddress.IPv6Address(V6_BASE + (variant << 80) + 2 * i + 1)) for i in range(n6)]
    return out


def services(n, variant):
    if n > MAX_SERVICES:
        raise ValueError(f"at most {MAX_SERVICES} services")
    base = 10000 + 10000 * variant
    if base + n - 1 > 65535:
        raise ValueError("ports out of range")
    return [(f"svc{k}", base + k) for k in range(n)]


def write_policy(directory, name, n_services, n_addresses, variant, v6_fraction=0.25):
    """Write DIR/NAME.conf and DIR/NAME.txt (mode 0600, as apply requires); return the .conf path."""
    conf = os.path.join(directory, name + ".conf")
    lst = os.path.join(directory, name + ".txt")
    with open(os.open(lst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(f"# synthetic block list: {n_addresses} addresses, variant {variant}\n")
        f.write("\n".join(addresses(n_addresses, variant, v6_fraction)))
        f.write("\n")
    svc = ",\n".join(f'  {{ name = "{s}"; port = {p}; proto = "tcp"; tls = true; }}'
                     for s, p in services(n_services, variant))
    with open(os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(f"# synthetic benchmark policy: {n_services} services, {n_addresses} addresses, variant {variant}\n")
        f.write('version = 1;\npolicy = "drop";\n')
        f.write(f'sets = {{ bl = {{ file = "{name}.txt"; }}; }};\n')
        f.write('deny = [ "@bl" ];\n')
        f.write(f"services = (\n{svc}\n);\n" if n_services else "services = ( );\n")
    os.chmod(conf, 0o600)
    os.chmod(lst, 0o600)
    return conf


# ---- block lists of networks (bench/measure/scale.py) ------------------------------------------------------------
# /24 indices (IPv4 network >> 8) from 11.0.0.0 to 223.255.255.0: never 0-10/8 (10/8 carries the packet-path test's
# own addresses), 127/8 is inside but never reached by a test, nothing multicast or reserved above.
V4_24_LO = 11 << 16
V4_24_HI = 224 << 16
V6_48_BASE = 0x2400 << 32          # /48 index (IPv6 network >> 80): 2400::/16, 2^32 /48s


def cidrs(n, variant=0, v6_fraction=0.25, seed=1):
    """n random networks: IPv4 /24s and (a v6_fraction of them) IPv6 /48s, in random order.

    A /24 or /48 is picked among those whose index is 2*variant modulo 8, so two picked networks are never adjacent
    (tlswall would merge adjacent ones into one range, nft would too) and variants 0-3 never share a network."""
    if not 0 <= variant < 4:
        raise ValueError("at most 4 variants")
    rng = random.Random(f"tlswall-bench-{seed}-{variant}")
    n6 = int(n * v6_fraction)
    n4 = n - n6
    out = []
    for k in rng.sample(range((V4_24_HI - V4_24_LO) // 8), n4):
        i = V4_24_LO + 8 * k + 2 * variant
        out.append(f"{i >> 16}.{(i >> 8) & 255}.{i & 255}.0/24")
    for k in rng.sample(range((1 << 32) // 8), n6):
        i = V6_48_BASE + 8 * k + 2 * variant
        out.append(f"{(i >> 32) & 0xffff:x}:{(i >> 16) & 0xffff:x}:{i & 0xffff:x}::/48")
    rng.shuffle(out)
    return out


def write_list(path, entries, comment=""):
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        if comment:
            f.write(f"# {comment}\n")
        f.write("\n".join(entries))
        f.write("\n")
    os.chmod(path, 0o600)


def write_blocklist_policy(directory, name, list_name, services=(("https", 443), ("domain-s", 853))):
    """DIR/NAME.conf in the shape of policies/blocklist.conf: catalogue TLS services and deny = [ "@bl" ], the set
    read from DIR/LIST_NAME (write it with write_list). Returns the path."""
    conf = os.path.join(directory, name + ".conf")
    svc = ",\n".join(f'  {{ service = "{s}"; }}' for s, _ in services)
    with open(os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write("# synthetic benchmark policy: a block list read from a list file\n")
        f.write('version = 1;\npolicy = "drop";\n')
        f.write(f'sets = {{ bl = {{ file = "{list_name}"; }}; }};\n')
        f.write('deny = [ "@bl" ];\n')
        f.write(f"services = (\n{svc}\n);\n")
    os.chmod(conf, 0o600)
    return conf


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--services", type=int, required=True)
    ap.add_argument("--addresses", type=int, required=True)
    ap.add_argument("--variant", type=int, default=0)
    ap.add_argument("--v6-fraction", type=float, default=0.25)
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", required=True)
    a = ap.parse_args()
    print(write_policy(a.out, a.name, a.services, a.addresses, a.variant, a.v6_fraction))


if __name__ == "__main__":
    main()
