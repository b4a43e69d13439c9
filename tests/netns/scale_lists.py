"""Lists for t_scale.sh, and an independent normalizer/digest to compare tlswall's read-back with.

make N SEED      N distinct random IPv4 /24s and IPv6 /48s (a quarter IPv6), some adjacent or overlapping
mutate           remove 10 entries, add 10, grow one range, add one adjacent to another (stdin -> stdout)
messy            a small list full of duplicates, overlaps, containment and adjacency
digest           count and sha256 of the normalized list on stdin
digest-show SET  the same, of set SET.v4 + SET.v6 in `tlswall show` output on stdin
elements         normalized elements of `nft list set` output on stdin, one per line
shards SET       from `nft -j list table` on stdin: each shard set of SET ("name handle count"), in name order
digest-shards SET  count and sha256 of SET's shards joined, from `nft -j list table` on stdin (what the kernel
                 holds, read without tlswall)
spread N SEED    N /24s spread evenly over 16.0.0.0-223.255.255.255 and N/4 /48s, in random order
crowd N FIRST    N /32s from address FIRST on, one every other address (they all land in one shard)
"""
import hashlib
import ipaddress
import random
import re
import sys


def parse(text):
    text = text.strip()
    if "-" in text:
        a, b = text.split("-")
        return ipaddress.ip_address(a.strip()), ipaddress.ip_address(b.strip())
    net = ipaddress.ip_network(text, strict=False)
    return net[0], net[-1]


def normalize(entries):
    out = {4: [], 6: []}
    for first, last in sorted(entries, key=lambda r: (r[0].version, int(r[0]), int(r[1]))):
        ranges = out[first.version]
        if ranges and int(first) <= int(ranges[-1][1]) + 1:
            if int(last) > int(ranges[-1][1]):
                ranges[-1] = (ranges[-1][0], last)
        else:
            ranges.append((first, last))
    return out[4] + out[6]


def digest(ranges):
    h = hashlib.sha256()
    for first, last in ranges:
        h.update(f"{first}-{last}\n".encode())
    return f"{len(ranges)} {h.hexdigest()}"


def lines(stream):
    for line in stream:
        line = line.split("#")[0].strip()
        if line:
            yield line


def make(n, seed):
    rnd = random.Random(seed)
    seen = set()
    n6 = n // 4
    out = []
    while len(out) < n - n6:
        v = rnd.getrandbits(24) << 8
        if v not in seen:
            seen.add(v)
            out.append(f"{ipaddress.IPv4Address(v)}/24")
    while len(out) < n:
        v = (0x2001 << 112) | (rnd.getrandbits(32) << 80)
        if v not in seen:
            seen.add(v)
            out.append(f"{ipaddress.IPv6Address(v)}/48")
    print("\n".join(out))


def mutate():
    entries = list(lines(sys.stdin))
    rnd = random.Random(len(entries))
    for _ in range(10):
        entries.pop(rnd.randrange(len(entries)))
    for i in range(10):
        entries.append(f"203.0.{i}.0/24")
    first, last = parse(entries[0])
    if first.version == 4:
        entries.append(f"{first}-{ipaddress.ip_address(int(last) + 300)}")     # grows a range
        entries.append(f"{ipaddress.ip_address(int(last) + 301)}/32")          # adjacent to the grown one
    print("\n".join(entries))


def messy():
    rnd = random.Random(7)
    out = []
    for i in range(300):
        base = 0x0A000000 + rnd.randrange(0, 1 << 16) * 16
        kind = rnd.randrange(4)
        a = ipaddress.IPv4Address(base)
        if kind == 0:
            out += [f"{a}/28", f"{a}/28"]                                       # duplicate
        elif kind == 1:
            out += [f"{a}/28", f"{ipaddress.IPv4Address(base + 4)}/30"]         # contained
        elif kind == 2:
            out += [f"{a}/28", f"{ipaddress.IPv4Address(base + 16)}/28"]        # adjacent
        else:
            out += [f"{a}-{ipaddress.IPv4Address(base + 20)}", f"{ipaddress.IPv4Address(base + 10)}/29"]  # overlap
    for i in range(100):
        p = ipaddress.IPv6Address((0x20010DB8 << 96) | (rnd.randrange(1 << 16) << 64))
        out += [f"{p}/64", f"{ipaddress.IPv6Address(int(p) + (1 << 64))}/64", f"{p}/96"]
    print("\n".join(out))


def set_elements(text, names=None):
    """Elements of the sets in nft-syntax text (names: only those sets)."""
    found = []
    for m in re.finditer(r"set (\S+) \{(.*?)\n\t\}", text, re.S):
        if names and m.group(1) not in names:
            continue
        body = m.group(2)
        e = re.search(r"elements = \{(.*?)\}", body, re.S)
        if e:
            found += [x.strip() for x in e.group(1).replace("\n", " ").split(",") if x.strip()]
    return found


def json_sets(text, name):
    """The shard sets of list NAME in `nft -j list table` output: {set name: (handle, [(first, last)])}."""
    import json
    out = {}
    pat = re.compile(re.escape(name) + r"\.v[46]\.s[0-9a-f]+")
    for o in json.loads(text)["nftables"]:
        s = o.get("set")
        if not s or not pat.fullmatch(s["name"]):
            continue
        ranges = []
        for e in s.get("elem", []):
            if isinstance(e, dict) and "prefix" in e:
                n = ipaddress.ip_network("%s/%d" % (e["prefix"]["addr"], e["prefix"]["len"]))
                ranges.append((n[0], n[-1]))
            elif isinstance(e, dict) and "range" in e:
                ranges.append((ipaddress.ip_address(e["range"][0]), ipaddress.ip_address(e["range"][1])))
            else:
                a = ipaddress.ip_address(e)
                ranges.append((a, a))
        out[s["name"]] = (s.get("handle", 0), ranges)
    return out


def spread(n, seed):
    rnd = random.Random(seed)
    lo, hi = 16 << 16, 224 << 16
    step = (hi - lo) // n
    out = [f"{ipaddress.IPv4Address((lo + i * step) << 8)}/24" for i in range(n)]
    out += [f"{ipaddress.IPv6Address((0x2001 << 112) | ((i * 7919 + 1) << 80))}/48" for i in range(n // 4)]
    rnd.shuffle(out)
    print("\n".join(out))


def main():
    cmd = sys.argv[1]
    if cmd == "make":
        make(int(sys.argv[2]), int(sys.argv[3]))
    elif cmd == "mutate":
        mutate()
    elif cmd == "messy":
        messy()
    elif cmd == "digest":
        print(digest(normalize([parse(x) for x in lines(sys.stdin)])))
    elif cmd == "digest-show":
        name = sys.argv[2]
        elems = set_elements(sys.stdin.read(), {f"{name}.v4", f"{name}.v6"})
        print(digest(normalize([parse(x) for x in elems])))
    elif cmd == "shards":
        for k, (handle, ranges) in sorted(json_sets(sys.stdin.read(), sys.argv[2]).items()):
            print(k, handle, len(ranges))
    elif cmd == "digest-shards":
        ranges = [r for _, rs in json_sets(sys.stdin.read(), sys.argv[2]).values() for r in rs]
        print(digest(normalize(ranges)))
    elif cmd == "spread":
        spread(int(sys.argv[2]), int(sys.argv[3]))
    elif cmd == "crowd":
        first = int(ipaddress.ip_address(sys.argv[3]))
        print("\n".join(f"{ipaddress.ip_address(first + 2 * i)}/32" for i in range(int(sys.argv[2]))))
    elif cmd == "elements":
        for first, last in normalize([parse(x) for x in set_elements(sys.stdin.read())]):
            print(f"{first}-{last}")


main()
