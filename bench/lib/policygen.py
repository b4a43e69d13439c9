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
