#!/usr/bin/env python3
"""Measurement "packet": new TCP connections per second through the applied ruleset.

A "host" namespace (a fresh one, made by this process) and a "client" namespace (held by an `unshare --net
sleep` process) are joined by a veth pair, 10.200.0.1/24 on the host side and 10.200.0.2/24 on the client side.
bench/connrate (built from bench/connrate.c by run.sh) accepts and closes connections on the host's port 443 and,
in the client namespace, connects and closes as fast as it can for --seconds (two worker processes). Rulesets on the
host, each loaded in a new pair of namespaces for every run:

  none            no ruleset at all
  tlswall         `tlswall apply` of the block-list policy with N networks (--networks, default 100,000): the
                  client's address is not in the list, 443/tcp is open; one interval-set lookup per new connection
  one rule each   the same ruleset with the set lookups replaced by one `ip saddr X drop` (`ip6 saddr X drop`) rule
                  per network, what ufw-style tools produce; loaded with nft -f
  tlswall, no list  the same policy without its block list: what connection tracking and the rest of the input
                  chain cost, apart from the block-list lookups
  tlswall, one set  tlswall's ruleset with each sharded list joined back into one interval set (the layout
                  before sharding: one lookup instead of a dispatch lookup, a jump and a shard lookup); nft -f
  require_tls     the same policy as "tlswall, no list" with require_tls = true: every packet of a new connection,
                  and of one whose check is pending, goes through the payload map to the check chain of 443/tcp

"tlswall, no list" and "require_tls" are measured twice in every run: connect and close (the check sees only the
handshake's packets, which carry no payload: one map lookup each), and connect, send one segment starting a TLS
ClientHello record, close (the check reads the payload and clears the connection's pending bit). Their ratio, in the same run,
rounds alternating, is what require_tls costs. Then, in one pair of namespaces, require_tls is switched off and on
by `tlswall apply` --pairs times for each client, with a run of --pair-seconds after each switch: the ratio of each
pair is taken a second or two apart, so that what the machine's other work does to the rate cancels out. The
sharded lists are paired the same way with the lists joined into one set each (nft -f, then tlswall apply).

Before every timed run, a connection from a source address inside the block list must fail where a ruleset is
loaded (and succeed without one), so the rules are known to be in force. Writes RESULTS/packet.md and .json.
"""

import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import benchlib as B  # noqa: E402
import policygen  # noqa: E402

HOST, CLIENT, PORT = "10.200.0.1", "10.200.0.2", 443
CONFIGS = ("none", "tlswall", "one rule each", "tlswall, no list", "tlswall, one set", "require_tls")
# what the client does, per configuration: connect and close, and (for the require_tls comparison) connect, send the
# start of a TLS record, close
MODES = {"tlswall, no list": ("connect", "tls"), "require_tls": ("connect", "tls")}
TLS = " + TLS record"
LABELS = {"none": "no ruleset", "tlswall": "tlswall, interval sets of {n:,} networks",
          "one rule each": "one rule per network ({rules:,} rules)",
          "tlswall, no list": "tlswall's ruleset without the block list (conntrack + chain only)",
          "tlswall, one set": "tlswall's ruleset with each list in one set, not sharded",
          "tlswall, no list" + TLS: "the same, each connection sending one TLS record",
          "require_tls": "the same with require_tls = true",
          "require_tls" + TLS: "the same with require_tls = true, each connection sending one TLS record"}
ROWS = ("none", "tlswall", "one rule each", "tlswall, one set", "tlswall, no list", "tlswall, no list" + TLS,
        "require_tls", "require_tls" + TLS)


def row(config, mode):
    return config if mode == "connect" else config + TLS


def link_address(ip_link):
    """The link (MAC) address in one line of `ip -o link show`."""
    m = re.search(r"link/ether ([0-9a-f:]{17})", ip_link)
    if not m:
        raise B.BenchError(f"no link address in: {ip_link.strip()}")
    return m.group(1)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    B.common_args(ap, help={"--sizes": "ignored (the list size is --networks)"})
    ap.add_argument("--networks", type=int, default=int(os.environ.get("BENCH_PACKET_NETWORKS", "100000")))
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_PACKET_SECONDS", "5")))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--pairs", type=int, default=int(os.environ.get("BENCH_PACKET_PAIRS", "12")))
    ap.add_argument("--pair-seconds", type=float, default=float(os.environ.get("BENCH_PACKET_PAIR_SECONDS", "3")))
    ap.add_argument("--connrate", default=None,
                    help="the connrate binary (default: $BENCH_CONNRATE, set by run.sh, else next to tlswall)")
    return B.parse_args(ap)


def rewrite_lists(script, v4_lines, v6_lines, sets=""):
    """The generated nft script with its block-list sets (one set, or shard sets, dispatch maps and shard chains,
    see include/tlswall/shard.h) left out, the rules that match them replaced by v4_lines / v6_lines, and the text
    sets put where the first set was."""
    out, skip, placed = [], 0, False
    for line in script.splitlines():
        s = line.strip()
        if skip:
            skip += s.count("{") - s.count("}")
            continue
        if s.startswith(("set bl.v", "map bl.v", "chain bl.v")):
            skip = 1
            if sets and not placed:
                out.append(sets)
                placed = True
            continue
        # the deny list's rules, in the input chain and in the forward chain (published ports)
        if s == "ip saddr @bl.v4 counter drop" or s.startswith("ip saddr vmap @bl.v4.in."):
            out += v4_lines
            continue
        if s == "ip6 saddr @bl.v6 counter drop" or s.startswith("ip6 saddr vmap @bl.v6.in."):
            out += v6_lines
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def one_set(script, entries):
    """The generated script with each list in one interval set: the layout before sharding."""
    def block(fam, key, elems):
        return (f"\tset bl.{fam} {{\n\t\ttype {key}\n\t\tflags interval\n\t\telements = {{\n"
                + ",\n".join("\t\t\t" + e for e in elems) + "\n\t\t}\n\t}\n")
    sets = (block("v4", "ipv4_addr", [e for e in entries if ":" not in e]) + "\n" +
            block("v6", "ipv6_addr", [e for e in entries if ":" in e]))
    text = rewrite_lists(script, ["\t\tip saddr @bl.v4 counter drop"], ["\t\tip6 saddr @bl.v6 counter drop"], sets)
    if "vmap @bl." in text or "bl.v4.s" in text:
        raise B.BenchError("could not join the generated script's shards into one set")
    return text


def one_rule_each(script, entries):
    """The generated nft script with its block-list set lookups replaced by one rule per network (and the sets
    left out)."""
    text = rewrite_lists(script, [f"\t\tip saddr {e} drop" for e in entries if ":" not in e],
                         [f"\t\tip6 saddr {e} drop" for e in entries if ":" in e])
    if "@bl." in text or text.count(" saddr ") < len(entries):
        raise B.BenchError("could not rewrite the generated script into one rule per network")
    return text


class Packet(B.Measurement):
    def __init__(self, a, work):
        super().__init__(a, work, sh_timeout=30)
        self.connrate = B.find_connrate(a.connrate, self.tlswall)
        self.rates = {r: [] for r in ROWS}
        self.errors = {r: [] for r in ROWS}
        self.load_time = {c: [] for c in CONFIGS}
        self.nstate = 0

    def prepare(self):
        n = self.a.networks
        entries = policygen.cidrs(n, 0)
        policygen.write_list(os.path.join(self.work, "bl.txt"), entries, f"{n} networks")
        self.conf = policygen.write_blocklist_policy(self.work, "bl", "bl.txt")
        self.conf_nolist = os.path.join(self.work, "nolist.conf")
        with open(self.conf) as f:
            text = f.read().replace('sets = { bl = { file = "bl.txt"; }; };\n', "").replace('deny = [ "@bl" ];\n', "")
        with open(os.open(self.conf_nolist, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(text)
        self.conf_require = os.path.join(self.work, "require.conf")
        with open(os.open(self.conf_require, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(text.replace('policy = "drop";\n', 'policy = "drop";\nrequire_tls = true;\n', 1))
        if "require_tls" not in open(self.conf_require).read():
            raise B.BenchError("could not add require_tls to the policy")
        gen = os.path.join(self.work, "bl.nft")
        self.run(self.tlswall, "-f", self.conf, "generate", stdout=gen, touches_netfilter=False)
        self.ufw = os.path.join(self.work, "ufw.nft")
        with open(gen) as f, open(self.ufw, "w") as g:
            g.write(one_rule_each(f.read(), entries))
        self.oneset = os.path.join(self.work, "oneset.nft")
        with open(gen) as f, open(self.oneset, "w") as g:
            g.write(one_set(f.read(), entries))
        # a source address the block list drops: the first IPv4 network's .5
        net = next(e for e in entries if ":" not in e)
        self.blocked_net = net
        self.blocked = net.rsplit(".", 1)[0] + ".5"
        self.rules = sum(1 for _ in open(self.ufw) if " saddr " in _)

    # ---- namespaces ----------------------------------------------------------------------------------------------

    def setup(self):
        """A fresh host namespace (this process) and client namespace, joined by a veth pair."""
        self.ns.fresh()
        self.client_ns, client_pid = self.hold_namespace("the client namespace")
        self.sh("ip", "link", "set", "lo", "up")
        self.sh("ip", "link", "add", "bench-h", "type", "veth", "peer", "name", "bench-c", "netns", str(client_pid))
        self.sh("ip", "addr", "add", f"{HOST}/24", "dev", "bench-h")
        self.sh("ip", "link", "set", "bench-h", "up")
        self.sh("ip", "route", "add", self.blocked_net, "dev", "bench-h")
        c = self.client_ns
        self.sh(*c, "ip", "link", "set", "lo", "up")
        self.sh(*c, "ip", "addr", "add", f"{CLIENT}/24", "dev", "bench-c")
        self.sh(*c, "ip", "addr", "add", f"{self.blocked}/32", "dev", "bench-c")
        self.sh(*c, "ip", "link", "set", "bench-c", "up")
        self.sh(*c, "ip", "route", "add", "default", "dev", "bench-c", "src", CLIENT)
        # Each side knows the other's link address for good: the first connection, right after the link came up,
        # would otherwise wait on ARP, whose first request can go out before the peer's end is up and is then only
        # retried a second later (a 1 s check from the blocked address once failed so without a ruleset).
        host_mac = link_address(self.sh("ip", "-o", "link", "show", "dev", "bench-h"))
        client_mac = link_address(self.sh(*c, "ip", "-o", "link", "show", "dev", "bench-c"))
        self.sh(*c, "ip", "neigh", "replace", HOST, "lladdr", host_mac, "dev", "bench-c", "nud", "permanent")
        for addr in (CLIENT, self.blocked):
            self.sh("ip", "neigh", "replace", addr, "lladdr", client_mac, "dev", "bench-h", "nud", "permanent")
        srv = self.start([self.connrate, "serve", str(PORT)], stdout=subprocess.PIPE, text=True)
        if "listening" not in (srv.stdout.readline() or ""):
            raise B.BenchError("connrate serve did not start")

    def load(self, config, state=None):
        if config == "none":
            return 0.0
        if config == "tlswall, one set":
            r = self.run("nft", "-f", self.oneset)
        elif config.startswith("tlswall") or config == "require_tls":
            if state is None:
                self.nstate += 1
                state = os.path.join(self.work, f"state{self.nstate}")
                os.mkdir(state, 0o700)
            conf = {"tlswall": self.conf, "require_tls": self.conf_require}.get(config, self.conf_nolist)
            self.state, self.applied = state, conf
            r = self.run(self.tlswall, "-q", "-f", conf, "apply", env=dict(os.environ, TLSWALL_STATE_DIR=state))
        else:
            r = self.run("nft", "-f", self.ufw)
        return r.wall

    def connect(self, seconds, source=None, payload=None, workers=None):
        argv = self.client_ns + [self.connrate, "connect", HOST, str(PORT), str(seconds),
                                 str(workers or self.a.workers), source or "-"]
        if payload:
            argv.append(payload)
        out = self.sh(*argv)
        return B.connrate_counts(out)

    def plaintext_dropped(self):
        """What require_tls refused on 443 so far (tlswall show --json, the https service's plaintext_dropped)."""
        r = subprocess.run([self.tlswall, "-f", self.applied, "show", "--json"], capture_output=True, text=True,
                           timeout=60, env=dict(os.environ, TLSWALL_STATE_DIR=self.state))
        if r.returncode:
            raise B.BenchError(f"tlswall show: {r.stderr.strip()}")
        svc = [s for s in json.loads(r.stdout)["services"] if s["chain"] == "svc.https"]
        if not svc or svc[0]["plaintext_dropped"] is None:
            raise B.BenchError("tlswall show: no payload check on https")
        return svc[0]["plaintext_dropped"]["packets"]

    def measure(self):
        self.prepare()
        self.measure_runs()
        self.measure_pairs()

    def measure_runs(self):
        a = self.a
        for i in range(a.runs):
            order = CONFIGS if i % 2 == 0 else CONFIGS[::-1]
            for config in order:
                try:
                    self.setup()
                    self.load_time[config].append(self.load(config))
                    ok, _, _ = self.connect(1, self.blocked)
                    if (config in ("none", "tlswall, no list", "require_tls")) != (ok > 0):
                        raise B.BenchError(f"{config}: a connection from {self.blocked} (in the block list) "
                                           f"{'succeeded' if ok else 'failed'}")
                    refused = None
                    if config == "require_tls":
                        # the check is in force: plaintext requests are refused and counted
                        self.connect(0.2, payload="plain", workers=1)
                        refused = self.plaintext_dropped()
                        if refused == 0:
                            raise B.BenchError("require_tls: no plaintext request was refused")
                    modes = MODES.get(config, ("connect",))
                    for mode in (modes if i % 2 == 0 else modes[::-1]):
                        payload = None if mode == "connect" else mode
                        self.connect(0.5, payload=payload)          # warm-up: ARP, caches
                        ok, errs, rate = self.connect(a.seconds, payload=payload)
                        if ok == 0:
                            raise B.BenchError(f"{config}: no connection got through")
                        self.rates[row(config, mode)].append(rate)
                        self.errors[row(config, mode)].append(errs)
                        B.log(f"packet: run {i + 1} {row(config, mode)}: {rate:,.0f} connections/s ({errs} errors)")
                    if refused is not None and self.plaintext_dropped() != refused:
                        raise B.BenchError(f"require_tls refused {self.plaintext_dropped() - refused} TLS records")
                finally:
                    self.stop_all()
                    self.ns.release()

    def measure_pairs(self):
        """Pairs of configurations switched in place in one pair of namespaces: require_tls off and on (by tlswall
        apply), and the lists as one set and sharded (nft -f of the joined script, tlswall apply)."""
        self.pairs = self.pair_ratios("tlswall, no list", "require_tls", ("connect", "tls"))
        self.shard_pairs = self.pair_ratios("tlswall, one set", "tlswall", ("connect",))["connect"]

    def pair_ratios(self, off, on, modes):
        """off and on loaded in turn, a short run after each switch, --pairs times; the order within a pair
        alternates. Returns, per client mode, the on / off ratio of each pair."""
        ratios = {m: [] for m in modes}
        state = os.path.join(self.work, f"state-pairs-{len(os.listdir(self.work))}")
        os.mkdir(state, 0o700)
        try:
            self.setup()
            for k in range(self.a.pairs):
                for mode in (modes if k % 2 == 0 else modes[::-1]):
                    payload = None if mode == "connect" else mode
                    rate = {}
                    for config in ((off, on) if k % 2 == 0 else (on, off)):
                        self.load(config, state)
                        self.connect(0.2, payload=payload)          # warm-up
                        ok, _, rate[config] = self.connect(self.a.pair_seconds, payload=payload)
                        if ok == 0:
                            raise B.BenchError(f"pairs: {config}: no connection got through")
                    ratios[mode].append(rate[on] / rate[off])
                B.log(f"packet: pair {k + 1}, {on} / {off}: "
                      + ", ".join(f"{ratios[m][-1]:.3f} ({m})" for m in modes))
        finally:
            self.stop_all()
            self.ns.release()
        return ratios

    def report(self, info):
        a = self.a
        base = B.median(self.rates["none"])
        rows = []
        for c in ROWS:
            r = self.rates[c]
            m = B.median(r)
            label = LABELS[c].format(n=a.networks, rules=self.rules)
            config = c[:-len(TLS)] if c.endswith(TLS) else c
            rows.append([label, f"{m:,.0f}", f"{min(r):,.0f}", f"{max(r):,.0f}", f"{m / base:.2f}",
                         str(sum(self.errors[c])),
                         B.fmt_ms(B.median(self.load_time[config])) if c != "none" else "-"])
        req = []
        for mode, what in (("connect", "connect, close"), ("tls", "connect, one TLS record, close")):
            on = self.rates[row("require_tls", mode)]
            off = self.rates[row("tlswall, no list", mode)]
            ratio = B.median(on) / B.median(off)
            rounds = sorted(x / y for x, y in zip(on, off))
            pairs = sorted(self.pairs[mode])
            req.append([what, f"{B.median(off):,.0f}", f"{B.median(on):,.0f}", f"{ratio:.3f}",
                        f"{rounds[0]:.3f}-{rounds[-1]:.3f}", f"{B.median(pairs):.3f} ({pairs[0]:.3f}-{pairs[-1]:.3f})",
                        "met" if B.median(pairs) >= 0.97 else "**MISSED**"])
        tw, one = self.rates["tlswall"], self.rates["tlswall, one set"]
        rounds = sorted(x / y for x, y in zip(tw, one))
        sp = sorted(self.shard_pairs)
        shard = [[f"{B.median(one):,.0f}", f"{B.median(tw):,.0f}", f"{B.median(tw) / B.median(one):.3f}",
                  f"{rounds[0]:.3f}-{rounds[-1]:.3f}", f"{B.median(sp):.3f} ({sp[0]:.3f}-{sp[-1]:.3f})",
                  "met" if B.median(sp) >= 0.97 else "**MISSED**"]]
        md = "\n".join([
            "# Benchmark: packet path (new TCP connections per second)",
            "",
            B.machine_md(info),
            "",
            f"New TCP connections per second from a client namespace to a server on the host namespace's port "
            f"{PORT} (open in the policy), over a veth pair: bench/connrate.c, {a.workers} client processes "
            f"connecting and closing (RST) for {a.seconds:g} s, a server that accepts and closes. Median of "
            f"{a.runs} runs, each in a new pair of namespaces with the ruleset loaded anew; configurations "
            "alternate order. The client's address is not in the block list; before each run a connection from an "
            "address in it was checked to fail (and to succeed without a ruleset or list). Target: tlswall >= 0.85 "
            "x no ruleset.",
            "",
            B.md_table(["ruleset", "connections/s (median)", "min", "max", "ratio to no ruleset",
                        "failed connects", "load time"], rows, ["l", "r", "r", "r", "r", "r", "r"]),
            "",
            "Every new connection's first packet passes the input chain: `ct state established,related accept` "
            "does not match it, so it meets the block-list rules; the later packets of a connection leave at that "
            "first rule. With tlswall the block list is two interval-set lookups (IPv4, IPv6) whatever its size; "
            "with one rule per network, the SYN is compared with every IPv4 rule and skips the IPv6 ones one by "
            "one. Every ruleset tracks connections (conntrack), the case without a ruleset does not; the ruleset "
            "without the block list shows what conntrack and the rest of the chain cost by themselves.",
            "",
            "## Sharded lists",
            "",
            f"The block list of {a.networks:,} networks as tlswall lays it out (shards behind a dispatch map: a "
            "lookup, a jump, a shard lookup) against the same ruleset with each list in one interval set (one "
            "lookup). Paired: in one pair of namespaces, the two loaded in turn (nft -f of the joined script, "
            f"tlswall apply) {a.pairs} times, {a.pair_seconds:g} s of connections after each switch; the median of "
            "the ratios is the verdict's figure, the steadier one on a machine that does other work. Target: >= 0.97.",
            "",
            B.md_table(["one set (per s)", "sharded (per s)", "sharded / one set (medians)", "per round (range)",
                        "paired (median, range)", "target"], shard, ["r", "r", "r", "r", "r", "l"]),
            "",
            "## require_tls",
            "",
            "New connections per second with require_tls = true, as a ratio of the same policy without it (the "
            "block-list policy without its list), measured in the same run, the two alternating, median of "
            f"{a.runs} runs each. Target: >= 0.97. Before each require_tls run, plaintext requests were checked to "
            "be refused (the https service's plaintext_dropped moved), and after it, no TLS record had been. "
            f"Paired: in one pair of namespaces, require_tls switched off and on by tlswall apply {a.pairs} times "
            f"per client, {a.pair_seconds:g} s of connections after each switch; the median of the {a.pairs} "
            "ratios (and their range), each taken a second or two apart, is the steadier figure on a machine "
            "that does other work, and the verdict's.",
            "",
            B.md_table(["client", "require_tls off (per s)", "on (per s)", "on / off (medians)",
                        "on / off, per round (range)", "on / off, paired (median, range)", "target"], req,
                       ["l", "r", "r", "r", "r", "r", "l"]),
            "",
            "The check costs the same for every connection and involves no userspace: the input chain's first two "
            "rules (the `ct mark` bit that says the check is pending, for packets that carry a payload; then "
            "`ct state new`: one map lookup on protocol and port) send the SYN and the first data segment to the "
            "port's check chain. The check sets the bit on the SYN, whose payload load fails; the packets between "
            "carry no payload and skip the lookup; the segment that carries the ClientHello record clears the bit, "
            "and the connection's later packets never reach the check.",
            "",
        ])
        return md

    def raw(self, info):
        return {"measurement": "packet", "machine": dict(info), "runs": self.a.runs, "networks": self.a.networks,
                "seconds": self.a.seconds, "workers": self.a.workers, "rules_one_each": self.rules,
                "rates": self.rates, "errors": self.errors, "load_time": self.load_time,
                "pair_seconds": self.a.pair_seconds, "require_tls_pairs": self.pairs, "shard_pairs": self.shard_pairs}


def main():
    return B.run_measurement("packet", parse_args(), Packet)


if __name__ == "__main__":
    sys.exit(main())
