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
handshake's packets, which carry no payload), and connect, send one segment starting a TLS ClientHello record, close
(the check reads the payload and clears the connection's pending bit). Their ratio, in the same run, rounds
alternating, is what require_tls costs, as one run after another measures it.

The machine's speed drifts by a fifth within seconds (a shared VM), more than the few percent these ratios resolve,
so the verdicts take an interleaved measurement: two host namespaces, A (10.200.0.1) and B (10.201.0.1), each with
its own veth pair to the client namespace and its own server, one loaded with each configuration; `connrate
alternate` connects to A and B in turn, connection by connection, and times each, so that whatever slows the
machine slows both alike. --rounds rounds of --round-seconds per client mode, the configurations trading hosts every
round; the ratio of two consecutive rounds' ratios cancels what differs between the hosts themselves (the geometric
mean of on/off with the configurations swapped), and the median of those is the verdict's figure. Both hosts with
the same configuration first give the method's own spread (the control). require_tls off against on, and the
sharded lists against the lists joined into one set (nft -f of the joined script).

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
# the second host namespace of the interleaved measurement, and the client's address on its link
HOST_B, CLIENT_B = "10.201.0.1", "10.201.0.2"
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
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_PACKET_ROUNDS", "12")),
                    help="interleaved rounds per comparison and client (made even)")
    ap.add_argument("--round-seconds", type=float, default=float(os.environ.get("BENCH_PACKET_ROUND_SECONDS", "3")))
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
        self.client_ns, self.client_pid = self.hold_namespace("the client namespace")
        self.sh("ip", "link", "set", "lo", "up")
        c = self.client_ns
        self.sh(*c, "ip", "link", "set", "lo", "up")
        self.link([], "bench-h", "bench-c", HOST, CLIENT)
        self.sh(*c, "ip", "addr", "add", f"{self.blocked}/32", "dev", "bench-c")
        self.sh(*c, "ip", "route", "add", "default", "dev", "bench-c", "src", CLIENT)
        self.serve([])

    def link(self, host, host_if, client_if, host_addr, client_addr):
        """A veth pair from the host namespace that the prefix `host` runs in ([]: this process's) to the client's,
        host_addr/24 and client_addr/24 on its ends; the host routes the blocked network back over it."""
        c = self.client_ns
        self.sh(*host, "ip", "link", "add", host_if, "type", "veth", "peer", "name", client_if, "netns",
                str(self.client_pid))
        self.sh(*host, "ip", "addr", "add", f"{host_addr}/24", "dev", host_if)
        self.sh(*host, "ip", "link", "set", host_if, "up")
        self.sh(*host, "ip", "route", "add", self.blocked_net, "dev", host_if)
        self.sh(*c, "ip", "addr", "add", f"{client_addr}/24", "dev", client_if)
        self.sh(*c, "ip", "link", "set", client_if, "up")
        # Each side knows the other's link address for good: the first connection, right after the link came up,
        # would otherwise wait on ARP, whose first request can go out before the peer's end is up and is then only
        # retried a second later (a 1 s check from the blocked address once failed so without a ruleset).
        host_mac = link_address(self.sh(*host, "ip", "-o", "link", "show", "dev", host_if))
        client_mac = link_address(self.sh(*c, "ip", "-o", "link", "show", "dev", client_if))
        self.sh(*c, "ip", "neigh", "replace", host_addr, "lladdr", host_mac, "dev", client_if, "nud", "permanent")
        for addr in (client_addr, self.blocked):
            self.sh(*host, "ip", "neigh", "replace", addr, "lladdr", client_mac, "dev", host_if, "nud", "permanent")

    def serve(self, host):
        srv = self.start(host + [self.connrate, "serve", str(PORT)], stdout=subprocess.PIPE, text=True)
        if "listening" not in (srv.stdout.readline() or ""):
            raise B.BenchError("connrate serve did not start")

    def conf_of(self, config):
        return {"tlswall": self.conf, "require_tls": self.conf_require}.get(config, self.conf_nolist)

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
            conf = self.conf_of(config)
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

    def plaintext_dropped(self, host=(), conf=None, state=None):
        """What require_tls refused on 443 so far (tlswall show --json, the https service's plaintext_dropped), in
        the host namespace that the prefix `host` runs in (default: this process's, with the last policy loaded)."""
        r = subprocess.run([*host, "env", f"TLSWALL_STATE_DIR={state or self.state}", self.tlswall, "-f",
                            conf or self.applied, "show", "--json"], capture_output=True, text=True, timeout=60)
        if r.returncode:
            raise B.BenchError(f"tlswall show: {r.stderr.strip()}")
        svc = [s for s in json.loads(r.stdout)["services"] if s["chain"] == "svc.https"]
        if not svc or svc[0]["plaintext_dropped"] is None:
            raise B.BenchError("tlswall show: no payload check on https")
        return svc[0]["plaintext_dropped"]["packets"]

    def measure(self):
        self.prepare()
        self.measure_runs()
        self.measure_interleaved()

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

    def measure_interleaved(self):
        """Two host namespaces at once, A (this process's) and B, connections alternating between them (see the
        module's text): the control (the same ruleset on both), require_tls off and on, one set and sharded."""
        try:
            self.setup()
            self.host_b, _ = self.hold_namespace("the second host namespace")
            self.sh(*self.host_b, "ip", "link", "set", "lo", "up")
            self.link(self.host_b, "bench-h", "bench-c2", HOST_B, CLIENT_B)
            self.serve(self.host_b)
            self.hosts = ([], self.host_b)
            self.host_state = [self.new_state(), self.new_state()]
            self.control = self.interleaved("tlswall, no list", "tlswall, no list", ("connect", "tls"), 2)
            self.require_rounds = self.interleaved("tlswall, no list", "require_tls", ("connect", "tls"), self.a.rounds)
            self.shard_rounds = self.interleaved("tlswall, one set", "tlswall", ("connect",), self.a.rounds)["connect"]
        finally:
            self.stop_all()
            self.ns.release()

    def new_state(self):
        self.nstate += 1
        state = os.path.join(self.work, f"state{self.nstate}")
        os.mkdir(state, 0o700)
        return state

    def load_on(self, h, config):
        """config loaded in host namespace h (0: A, this process's; 1: B)."""
        host, state = self.hosts[h], self.host_state[h]
        if not host:
            self.load(config, state)
        elif config == "tlswall, one set":
            self.sh(*host, "nft", "-f", self.oneset)
        else:
            self.sh(*host, "env", f"TLSWALL_STATE_DIR={state}", self.tlswall, "-q", "-f", self.conf_of(config),
                    "apply")

    def in_force(self, h, config):
        """The ruleset just loaded in host namespace h does what it is there for: require_tls refuses a plaintext
        request (and counts it), a list drops a connection from an address in it."""
        addr = (HOST, HOST_B)[h]
        if config == "require_tls":
            before = self.plaintext_dropped(self.hosts[h], self.conf_require, self.host_state[h])
            self.sh(*self.client_ns, self.connrate, "connect", addr, str(PORT), "0.2", "1", "-", "plain")
            if self.plaintext_dropped(self.hosts[h], self.conf_require, self.host_state[h]) == before:
                raise B.BenchError(f"interleaved: require_tls on {addr} refused no plaintext request")
        elif config in ("tlswall", "tlswall, one set"):
            ok, _, _ = B.connrate_counts(self.sh(*self.client_ns, self.connrate, "connect", addr, str(PORT), "1",
                                                 "1", self.blocked))
            if ok:
                raise B.BenchError(f"interleaved: {config} on {addr}: a connection from {self.blocked} (in the "
                                   "block list) succeeded")

    def alternate(self, seconds, payload):
        """connrate alternate between A and B: their rates (connections per second of connecting to each)."""
        argv = [*self.client_ns, self.connrate, "alternate", HOST, HOST_B, str(PORT), str(seconds),
                str(self.a.workers)] + ([payload] if payload else [])
        out = self.sh(*argv)
        found = {m.group(1): (int(m.group(2)), float(m.group(5))) for m in re.finditer(
            r"^([ab]) connections (\d+) errors (\d+) seconds ([\d.]+) rate ([\d.]+)$", out, re.M)}
        if set(found) != {"a", "b"}:
            raise B.BenchError(f"connrate alternate: unexpected output {out!r}")
        if not found["a"][0] or not found["b"][0]:
            raise B.BenchError(f"connrate alternate: no connection got through: {out.strip()}")
        return found["a"][1], found["b"][1]

    def interleaved(self, off, on, modes, rounds):
        """`rounds` rounds (an even number: each placement as often), on in A and off in B, then the other way
        round; per client mode, the ratio on / off of each round (A / B when on and off are the same)."""
        ratios = {m: [] for m in modes}
        rounds += rounds % 2
        for k in range(rounds):
            placed = (on, off) if k % 2 == 0 else (off, on)
            for h, config in enumerate(placed):
                self.load_on(h, config)
                if k < 2:
                    self.in_force(h, config)
            for mode in (modes if k % 2 == 0 else modes[::-1]):
                payload = None if mode == "connect" else mode
                self.alternate(0.2, payload)          # warm-up
                rate = self.alternate(self.a.round_seconds, payload)
                ratios[mode].append(rate[0] / rate[1] if on == off or k % 2 == 0 else rate[1] / rate[0])
            B.log(f"packet: interleaved round {k + 1}, {on} / {off}: "
                  + ", ".join(f"{ratios[m][-1]:.3f} ({m})" for m in modes))
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
            inter = sorted(B.swapped_pairs(self.require_rounds[mode]))
            req.append([what, f"{B.median(off):,.0f}", f"{B.median(on):,.0f}", f"{ratio:.3f}",
                        f"{rounds[0]:.3f}-{rounds[-1]:.3f}", f"{B.median(inter):.3f} ({inter[0]:.3f}-{inter[-1]:.3f})",
                        "met" if B.median(inter) >= 0.97 else "**MISSED**"])
        tw, one = self.rates["tlswall"], self.rates["tlswall, one set"]
        rounds = sorted(x / y for x, y in zip(tw, one))
        sp = sorted(B.swapped_pairs(self.shard_rounds))
        shard = [[f"{B.median(one):,.0f}", f"{B.median(tw):,.0f}", f"{B.median(tw) / B.median(one):.3f}",
                  f"{rounds[0]:.3f}-{rounds[-1]:.3f}", f"{B.median(sp):.3f} ({sp[0]:.3f}-{sp[-1]:.3f})",
                  "met" if B.median(sp) >= 0.97 else "**MISSED**"]]
        control = ", ".join(f"{r:.3f}" for m in ("connect", "tls") for r in self.control[m])
        inter_text = (
            f"Interleaved: two host namespaces loaded at once, one with each ruleset, each behind its own veth pair "
            f"and server; `connrate alternate` ({a.workers} client processes) connects to one and the other in turn "
            f"for {a.round_seconds:g} s and times each connection, so that whatever slows the machine slows both "
            f"alike. {a.rounds + a.rounds % 2} rounds per client, the rulesets trading hosts every round; the "
            "geometric mean of each two rounds cancels what differs between the hosts themselves, and the median of "
            "those is the verdict's figure (their range beside it). With the same ruleset on both hosts, the rate of "
            f"the first over the second's was {control}: what the method itself reads where there is no "
            "difference.")
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
            "lookup), each first checked to drop a connection from an address in the list. Target: >= 0.97.",
            "",
            inter_text,
            "",
            B.md_table(["one set (per s)", "sharded (per s)", "sharded / one set (medians)", "per round (range)",
                        "interleaved (median, range)", "target"], shard, ["r", "r", "r", "r", "r", "l"]),
            "",
            "## require_tls",
            "",
            "New connections per second with require_tls = true, as a ratio of the same policy without it (the "
            "block-list policy without its list), measured in the same run, the two alternating, median of "
            f"{a.runs} runs each. Target: >= 0.97. Before each require_tls run, plaintext requests were checked to "
            "be refused (the https service's plaintext_dropped moved), and after it, no TLS record had been; so "
            "too before the first interleaved round of each placement. The interleaved figure (above) is the "
            "verdict's.",
            "",
            B.md_table(["client", "require_tls off (per s)", "on (per s)", "on / off (medians)",
                        "on / off, per round (range)", "on / off, interleaved (median, range)", "target"], req,
                       ["l", "r", "r", "r", "r", "r", "l"]),
            "",
            "The check costs the same for every connection and involves no userspace. Every packet pays one compare "
            "of the `ct mark` bit that says a connection's check is pending, before established packets leave; a "
            "new connection goes through one map lookup (protocol and port) to its port's check chain, which sets "
            "the bit (the SYN's payload load fails); the segment that carries the ClientHello record clears it in "
            "the `pending` chain with no lookup, and the connection's later packets never reach a check.",
            "",
        ])
        return md

    def raw(self, info):
        return {"measurement": "packet", "machine": dict(info), "runs": self.a.runs, "networks": self.a.networks,
                "seconds": self.a.seconds, "workers": self.a.workers, "rules_one_each": self.rules,
                "rates": self.rates, "errors": self.errors, "load_time": self.load_time,
                "round_seconds": self.a.round_seconds, "interleaved_control": self.control,
                "require_tls_interleaved": self.require_rounds, "shard_interleaved": self.shard_rounds}


def main():
    return B.run_measurement("packet", parse_args(), Packet)


if __name__ == "__main__":
    sys.exit(main())
