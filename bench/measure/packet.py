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

Before every timed run, a connection from a source address inside the block list must fail where a ruleset is
loaded (and succeed without one), so the rules are known to be in force. Writes RESULTS/packet.md and .json.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import benchlib as B  # noqa: E402
import policygen  # noqa: E402

HOST, CLIENT, PORT = "10.200.0.1", "10.200.0.2", 443
CONFIGS = ("none", "tlswall", "one rule each", "tlswall, no list", "tlswall, one set")
LABELS = {"none": "no ruleset", "tlswall": "tlswall, interval sets of {n:,} networks",
          "one rule each": "one rule per network ({rules:,} rules)",
          "tlswall, no list": "tlswall's ruleset without the block list (conntrack + chain only)",
          "tlswall, one set": "tlswall's ruleset with each list in one set, not sharded"}


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tlswall", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--sizes", default="", help="ignored (the list size is --networks)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--networks", type=int, default=int(os.environ.get("BENCH_PACKET_NETWORKS", "100000")))
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_PACKET_SECONDS", "5")))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--connrate", default=None,
                    help="the connrate binary (default: $BENCH_CONNRATE, set by run.sh, else next to tlswall)")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--repo", default=None)
    a = ap.parse_args()
    a.runs = max(a.runs, 5)
    return a


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
        if s in ("ip saddr @bl.v4 counter drop", "ip saddr vmap @bl.v4.in.input"):
            out += v4_lines
            continue
        if s in ("ip6 saddr @bl.v6 counter drop", "ip6 saddr vmap @bl.v6.in.input"):
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


class Packet:
    def __init__(self, a, work):
        self.a = a
        self.work = work
        self.tlswall = os.path.abspath(a.tlswall)
        self.connrate = os.path.abspath(a.connrate or os.environ.get("BENCH_CONNRATE") or
                                        os.path.join(os.path.dirname(self.tlswall), "connrate"))
        if not os.access(self.connrate, os.X_OK):
            raise B.BenchError(f"{self.connrate}: not built (bench/run.sh builds it from bench/connrate.c)")
        self.ns = B.Netns(settle=0.5)
        self.runner = B.Runner(work, timeout=a.timeout, netns=self.ns)
        self.rates = {c: [] for c in CONFIGS}
        self.errors = {c: [] for c in CONFIGS}
        self.load_time = {c: [] for c in CONFIGS}
        self.procs = []
        self.nstate = 0

    def run(self, *argv, **kw):
        return self.runner.run(list(argv), **kw)

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

    def start(self, argv, **kw):
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, **kw)
        self.procs.append(p)
        return p

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.procs = []

    def sh(self, *argv):
        r = subprocess.run(list(argv), capture_output=True, text=True, timeout=30)
        if r.returncode:
            raise B.BenchError(f"{' '.join(argv)}: {r.stderr.strip()}")
        return r.stdout

    def setup(self):
        """A fresh host namespace (this process) and client namespace, joined by a veth pair."""
        self.ns.fresh()
        holder = self.start(["unshare", "--net", "--", "sleep", "3600"])
        cns = f"/proc/{holder.pid}/ns/net"
        for _ in range(100):       # wait until the holder is in its own namespace
            try:
                if os.readlink(cns) != os.readlink("/proc/self/ns/net"):
                    break
            except OSError:
                pass
            time.sleep(0.02)
        else:
            raise B.BenchError("the client namespace did not come up")
        self.client_ns = ["nsenter", f"--net={cns}", "--"]
        self.sh("ip", "link", "set", "lo", "up")
        self.sh("ip", "link", "add", "bench-h", "type", "veth", "peer", "name", "bench-c", "netns", str(holder.pid))
        self.sh("ip", "addr", "add", f"{HOST}/24", "dev", "bench-h")
        self.sh("ip", "link", "set", "bench-h", "up")
        self.sh("ip", "route", "add", self.blocked_net, "dev", "bench-h")
        c = self.client_ns
        self.sh(*c, "ip", "link", "set", "lo", "up")
        self.sh(*c, "ip", "addr", "add", f"{CLIENT}/24", "dev", "bench-c")
        self.sh(*c, "ip", "addr", "add", f"{self.blocked}/32", "dev", "bench-c")
        self.sh(*c, "ip", "link", "set", "bench-c", "up")
        self.sh(*c, "ip", "route", "add", "default", "dev", "bench-c", "src", CLIENT)
        srv = self.start([self.connrate, "serve", str(PORT)], stdout=subprocess.PIPE, text=True)
        if "listening" not in (srv.stdout.readline() or ""):
            raise B.BenchError("connrate serve did not start")

    def load(self, config):
        if config == "none":
            return 0.0
        if config == "tlswall, one set":
            r = self.run("nft", "-f", self.oneset)
        elif config.startswith("tlswall"):
            self.nstate += 1
            state = os.path.join(self.work, f"state{self.nstate}")
            os.mkdir(state, 0o700)
            conf = self.conf if config == "tlswall" else self.conf_nolist
            r = self.run(self.tlswall, "-q", "-f", conf, "apply", env=dict(os.environ, TLSWALL_STATE_DIR=state))
        else:
            r = self.run("nft", "-f", self.ufw)
        return r.wall

    def connect(self, seconds, source=None):
        argv = self.client_ns + [self.connrate, "connect", HOST, str(PORT), str(seconds), str(self.a.workers)]
        if source:
            argv.append(source)
        out = self.sh(*argv)
        m = re.search(r"connections (\d+) errors (\d+) seconds ([\d.]+) rate ([\d.]+)", out)
        if not m:
            raise B.BenchError(f"connrate: unexpected output {out!r}")
        return int(m.group(1)), int(m.group(2)), float(m.group(4))

    def measure(self):
        a = self.a
        for i in range(a.runs):
            order = CONFIGS if i % 2 == 0 else CONFIGS[::-1]
            for config in order:
                try:
                    self.setup()
                    self.load_time[config].append(self.load(config))
                    ok, _, _ = self.connect(1, self.blocked)
                    if (config in ("none", "tlswall, no list")) != (ok > 0):
                        raise B.BenchError(f"{config}: a connection from {self.blocked} (in the block list) "
                                           f"{'succeeded' if ok else 'failed'}")
                    self.connect(0.5)          # warm-up: ARP, caches
                    ok, errs, rate = self.connect(a.seconds)
                    if ok == 0:
                        raise B.BenchError(f"{config}: no connection got through")
                    self.rates[config].append(rate)
                    self.errors[config].append(errs)
                    B.log(f"packet: run {i + 1} {config}: {rate:,.0f} connections/s ({errs} errors)")
                finally:
                    self.stop_all()
                    self.ns.release()

    def report(self, info):
        a = self.a
        base = B.median(self.rates["none"])
        rows = []
        for c in CONFIGS:
            r = self.rates[c]
            m = B.median(r)
            label = LABELS[c].format(n=a.networks, rules=self.rules)
            rows.append([label, f"{m:,.0f}", f"{min(r):,.0f}", f"{max(r):,.0f}", f"{m / base:.2f}",
                         str(sum(self.errors[c])),
                         B.fmt_ms(B.median(self.load_time[c])) if c != "none" else "-"])
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
        ])
        return md

    def raw(self, info):
        return {"measurement": "packet", "machine": dict(info), "runs": self.a.runs, "networks": self.a.networks,
                "seconds": self.a.seconds, "workers": self.a.workers, "rules_one_each": self.rules,
                "rates": self.rates, "errors": self.errors, "load_time": self.load_time}


def main():
    a = parse_args()
    B.install_term_handler()
    work = B.private_tmpdir("tlswall-bench-")
    bench = None
    try:
        bench = Packet(a, work)
        bench.prepare()
        bench.measure()
        info = B.machine_info(bench.tlswall, a.repo)
        md = bench.report(info)
        path = B.write_result(a.results, "packet.md", md)
        B.write_result(a.results, "packet.json", json.dumps(bench.raw(info), indent=1) + "\n")
        print(md)
        B.log(f"packet: wrote {path}")
    except (B.BenchError, subprocess.SubprocessError, OSError) as e:
        B.log(f"packet: error: {e}")
        return 1
    finally:
        if bench:
            bench.stop_all()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
