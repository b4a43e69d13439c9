#!/bin/sh
# Reachability through a sharded list: a deny list long enough to be split into shards (IPv4 and IPv6), a server on
# 443 in a "host" namespace, and a client namespace that connects from the first and the last address of every
# shard (read back from the kernel: they must be dropped) and from an address just outside each of them (it must
# get in). Connections from inside the list time out; the others get the server's banner.
. "$(dirname "$0")/lib.sh"
tw_require_root
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
tw_need python3
export TLSWALL_STATE_DIR="$TW_TMP/state"

tw_netns host; H=$TW_NS
tw_netns client; C=$TW_NS
for ns in $H $C; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 || exit 1
done
ip -n "$H" link add tw-h type veth peer name tw-c netns "$C" || exit 1
ip -n "$H" addr add 10.99.0.1/24 dev tw-h
ip -n "$H" addr add fd00:99::1/64 dev tw-h nodad
ip -n "$C" addr add 10.99.0.2/24 dev tw-c
ip -n "$C" addr add fd00:99::2/64 dev tw-c nodad
ip -n "$H" link set tw-h up
ip -n "$C" link set tw-c up
# the client's test addresses are anywhere: the host answers them over the link, the client routes to the host
ip -n "$H" route add default dev tw-h
ip -n "$H" -6 route add default dev tw-h
ip -n "$C" route add 10.99.0.1/32 dev tw-c 2>/dev/null
ip -n "$C" -6 route add fd00:99::1/128 dev tw-c 2>/dev/null
# The client knows the host's link address for good: its neighbour solicitations would otherwise take the source
# address of whichever connection asked first, and one from inside the deny list is dropped by the host like the
# rest of that address's traffic, failing every connection that waits on the same neighbour entry.
mac=$(ip netns exec "$H" cat /sys/class/net/tw-h/address) || exit 1
ip -n "$C" neigh replace fd00:99::1 lladdr "$mac" dev tw-c nud permanent || exit 1
ip -n "$C" neigh replace 10.99.0.1 lladdr "$mac" dev tw-c nud permanent || exit 1

# every other /24 of 32.0.0.0-32.140.x.x and every other /64 of 2001:db8::, so that the address before each element
# is outside the list; 18,000 of each, above the sharding threshold
python3 -c '
import ipaddress
for i in range(18000):
    print(ipaddress.IPv4Address(0x20000000 + i * 512), "/24", sep="")
for i in range(18000):
    print(ipaddress.IPv6Address((0x20010db8 << 96) + (i * 2 << 64)), "/64", sep="")' >"$TW_TMP/big.txt"
cat >"$TW_TMP/p.conf" <<'P'
version = 1;
sets = { big = { file = "big.txt"; }; };
deny = [ "@big" ];
services = ( { service = "https"; } );
P
chmod 600 "$TW_TMP/p.conf" "$TW_TMP/big.txt"
ip netns exec "$H" "$bin" -q -f "$TW_TMP/p.conf" apply || { tw_fail "apply failed"; tw_done; }

# the shards as the kernel holds them: first and last address of each, and the address just before each
ip netns exec "$H" nft -j list table inet tlswall >"$TW_TMP/table.json" || tw_fail "nft list failed"
python3 - "$TW_TMP/table.json" >"$TW_TMP/targets" <<'EOF'
import ipaddress, json, re, sys

def bounds(e):
    if isinstance(e, dict) and "prefix" in e:
        n = ipaddress.ip_network("%s/%d" % (e["prefix"]["addr"], e["prefix"]["len"]))
        return n[0], n[-1]
    if isinstance(e, dict) and "range" in e:
        return ipaddress.ip_address(e["range"][0]), ipaddress.ip_address(e["range"][1])
    a = ipaddress.ip_address(e)
    return a, a

shards = {4: 0, 6: 0}
for o in json.load(open(sys.argv[1]))["nftables"]:
    s = o.get("set")
    if not s or not re.fullmatch(r"big\.v[46]\.s[0-9a-f]+", s["name"]):
        continue
    elems = sorted(bounds(e) for e in s.get("elem", []))
    if not elems:
        continue
    first, last = elems[0][0], elems[-1][1]
    shards[first.version] += 1
    print("in", first)
    print("in", last)
    print("out", first - 1)
if shards[4] < 2 or shards[6] < 2:
    print("too few shards: %s" % shards, file=sys.stderr)
    sys.exit(1)
EOF
[ $? -eq 0 ] || tw_fail "the list was not sharded in both families"

tw_bg timeout 120 ip netns exec "$H" python3 "$root/scripts/banner-server.py" "BANNER shard-test" 443 </dev/null >"$TW_TMP/banner.log" 2>&1
i=0
until ip netns exec "$H" ss -ltnH | grep -q ':443 '; do
	i=$((i + 1)); [ $i -lt 100 ] || { tw_fail "the server never listened"; tw_done; }
	sleep 0.1
done
while read -r want addr; do
	case $addr in *:*) ip -n "$C" addr add "$addr/128" dev tw-c nodad ;; *) ip -n "$C" addr add "$addr/32" dev tw-c ;; esac
done <"$TW_TMP/targets"

# every connection at once, each from its own source address; a dropped one times out (after 3 s)
ip netns exec "$C" python3 - "$TW_TMP/targets" >"$TW_TMP/results" <<'EOF'
import socket, sys, threading

targets = [l.split() for l in open(sys.argv[1])]
out = [None] * len(targets)

def probe(i, want, src):
    fam = socket.AF_INET6 if ":" in src else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    # A dropped connection is given 3 s (its SYN is never answered, however long one waits); one that must get in is
    # given 30, so that a busy machine (a namespace with a million-element table still being torn down, neighbour
    # discovery retried) cannot make it look dropped.
    s.settimeout(3 if want == "in" else 30)
    try:
        s.bind((src, 0))
        s.connect(("fd00:99::1" if fam == socket.AF_INET6 else "10.99.0.1", 443))
        got = "in-list-dropped" if not s.recv(64) else "reached"
    except socket.timeout:
        got = "dropped"
    except OSError as e:
        got = "error:" + str(e).replace(" ", "_")
    finally:
        s.close()
    out[i] = "%s %s %s" % (want, src, got)

threads = [threading.Thread(target=probe, args=(i, w, a)) for i, (w, a) in enumerate(targets)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("\n".join(out))
EOF
n=0
while read -r want addr got; do
	n=$((n + 1))
	case "$want $got" in
	"in dropped" | "out reached") tw_ok "$addr $got" ;;
	*) tw_fail "from $addr ($want the list): $got" ;;
	esac
done <"$TW_TMP/results"
[ $n -ge 12 ] || tw_fail "only $n addresses probed"
echo "shard reachability: $n source addresses at shard boundaries"
tw_done
