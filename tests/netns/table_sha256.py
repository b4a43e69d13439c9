#!/usr/bin/env python3
"""The ruleset hash as tlswall(8) defines it, computed from `tlswall generate` on standard input, independently of
tlswall's code: the table block as generate prints it with every address set's element lines taken out, followed,
for each address set that has elements, in the table's order, by "elements of NAME: COUNT DIGEST\\n", DIGEST the
SHA-256 in hex of the bytes of its elements (first and last address of each range, network order; first only for a
set without flags interval)."""
import hashlib
import ipaddress
import re
import sys

lines = sys.stdin.read().splitlines(keepends=True)
start = next(i for i, l in enumerate(lines) if re.match(r"^table inet \S+ \{$", l))
shell, tail = [], []
i = start
kind = None  # the set being read: (name, family, interval), None outside an address set
while i < len(lines):
    line = lines[i]
    m = re.match(r"^\t(set|map) (\S+) \{$", line)
    if m:
        kind = [m.group(2), None, False] if m.group(1) == "set" else None
    elif kind is not None and re.match(r"^\t\ttype (ipv4_addr|ipv6_addr)$", line.rstrip("\n")):
        kind[1] = line.split()[1]
    elif kind is not None and line.strip() == "flags interval":
        kind[2] = True
    elif kind is not None and line.startswith("\t\telements = {"):
        text = line
        while not text.rstrip().endswith("}"):
            i += 1
            text += lines[i]
        elems = [e.strip() for e in text.split("{", 1)[1].rsplit("}", 1)[0].split(",") if e.strip()]
        blob = b""
        for e in elems:
            if "-" in e:
                first, last = (ipaddress.ip_address(x) for x in e.split("-"))
            else:
                net = ipaddress.ip_network(e)
                first, last = net.network_address, net.broadcast_address
            blob += first.packed + (last.packed if kind[2] else b"")
        tail.append(b"elements of %s: %d %s\n" % (kind[0].encode(), len(elems), hashlib.sha256(blob).hexdigest().encode()))
        i += 1
        continue
    shell.append(line)
    i += 1
print(hashlib.sha256("".join(shell).encode() + b"".join(tail)).hexdigest())
