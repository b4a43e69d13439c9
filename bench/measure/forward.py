#!/usr/bin/env python3
"""Measurement "forward": new TCP connections per second to a published port, forwarded to a "container".

Three namespaces: a "client" and a "container" (each held by an `unshare --net sleep` process) on either side of
a "host" (a fresh namespace, this process) that routes between them, joined by veth pairs: client 10.201.0.2/24 to
host 10.201.0.1, host 172.31.0.1/24 to container 172.31.0.2. The host publishes port 443 the way Podman's netavark
does, with a native nftables DNAT table (`fib daddr type local tcp dport 443 dnat ip to 172.31.0.2:443`);
bench/connrate serves in the container and connects from the client to the host's address, as fast as it can.

One pair of namespaces for the whole measurement; the host's rulesets are switched in place, in rounds whose order
alternates, a short warm-up and --seconds of connections after each switch:

  dnat only         the DNAT table alone (no tlswall table)
  no forward chain  tlswall with the same policy and published_ports = false: its input chain, but nothing on the
                    forward path
  tlswall           the default: its prerouting chain marks new connections to the host's addresses, and its
                    forward chain judges them (one map lookup on the original port, the service's chain)

Before the rounds, a connection to the published port 80 (DNATed as well, not opened by the policy) must get
through with published_ports = false and fail with tlswall's forward chain, so the chain is known to be in force.
Writes RESULTS/forward.md and .json.
"""

import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import benchlib as B  # noqa: E402

HOST, CLIENT = "10.201.0.1", "10.201.0.2"
BRIDGE, CONTAINER = "172.31.0.1", "172.31.0.2"
PORT, CLOSED = 443, 80
CONFIGS = ("dnat only", "no forward chain", "tlswall")
TARGET = 0.95

POLICY = """version = 1;
policy = "drop";
services = ( { service = "https"; } );
"""

DNAT = f"""table ip bench_publish {{
	chain prerouting {{
		type nat hook prerouting priority dstnat; policy accept;
		fib daddr type local tcp dport {{ {PORT}, {CLOSED} }} dnat ip to {CONTAINER}
	}}
}}
"""


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    B.common_args(ap, help={"--sizes": "ignored", "--runs": "rounds (at least 5)"})
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_FORWARD_SECONDS", "3")))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--connrate", default=None,
                    help="the connrate binary (default: $BENCH_CONNRATE, set by run.sh, else next to tlswall)")
    return B.parse_args(ap)


class Forward(B.Measurement):
    def __init__(self, a, work):
        super().__init__(a, work)
        self.connrate = B.find_connrate(a.connrate, self.tlswall)
        self.rates = {c: [] for c in CONFIGS}
        self.errors = {c: [] for c in CONFIGS}
        self.state = os.path.join(work, "state")
        os.mkdir(self.state, 0o700)
        self.env = dict(os.environ, TLSWALL_STATE_DIR=self.state)
        self.conf = self.policy("forward.conf", POLICY)
        self.conf_off = self.policy("off.conf", POLICY + "published_ports = false;\n")

    def policy(self, name, text):
        path = os.path.join(self.work, name)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(text)
        return path

    def link(self, name, peer, pid, here, there, gateway):
        prefix = ["nsenter", f"--net=/proc/{pid}/ns/net", "--"]
        self.sh("ip", "link", "add", name, "type", "veth", "peer", "name", "eth0", "netns", str(pid))
        self.sh("ip", "addr", "add", f"{here}/24", "dev", name)
        self.sh("ip", "link", "set", name, "up")
        self.sh(*prefix, "ip", "link", "set", "lo", "up")
        self.sh(*prefix, "ip", "addr", "add", f"{there}/24", "dev", "eth0")
        self.sh(*prefix, "ip", "link", "set", "eth0", "up")
        self.sh(*prefix, "ip", "route", "add", "default", "via", gateway)

    def setup(self):
        self.ns.fresh()
        self.sh("ip", "link", "set", "lo", "up")
        self.client, cpid = self.hold_namespace()
        self.container, kpid = self.hold_namespace()
        self.link("bench-c", "eth0", cpid, HOST, CLIENT, HOST)
        self.link("bench-k", "eth0", kpid, BRIDGE, CONTAINER, BRIDGE)
        self.sh("sysctl", "-qw", "net.ipv4.ip_forward=1")
        self.sh("nft", "-f", "-", stdin=DNAT)
        for port in (PORT, CLOSED):
            srv = self.start(self.container + [self.connrate, "serve", str(port)], stdout=subprocess.PIPE, text=True)
            if "listening" not in (srv.stdout.readline() or ""):
                raise B.BenchError("connrate serve did not start in the container")

    def load(self, config):
        if config == "dnat only":
            self.runner.run([self.tlswall, "-q", "-f", self.conf, "remove"], env=self.env)
        else:
            conf = self.conf if config == "tlswall" else self.conf_off
            self.runner.run([self.tlswall, "-q", "-f", conf, "apply"], env=self.env)

    def connect(self, seconds, port=PORT, workers=None):
        out = self.sh(*self.client, self.connrate, "connect", HOST, str(port), str(seconds),
                      str(workers or self.a.workers), "-")
        return B.connrate_counts(out)

    def check_in_force(self):
        """Port 80 is published too, and the policy does not open it: it gets through only without the chain."""
        for config, through in (("no forward chain", True), ("tlswall", False)):
            self.load(config)
            ok, _, _ = self.connect(0.5, port=CLOSED, workers=1)
            if (ok > 0) != through:
                raise B.BenchError(f"{config}: a connection to the published port {CLOSED} "
                                   f"{'succeeded' if ok else 'failed'}")
            ok, _, _ = self.connect(0.5)
            if ok == 0:
                raise B.BenchError(f"{config}: no connection to the published port {PORT} got through")

    def measure(self):
        try:
            self.setup()
            self.check_in_force()
            for i in range(self.a.runs):
                for config in (CONFIGS if i % 2 == 0 else CONFIGS[::-1]):
                    self.load(config)
                    self.connect(0.3)                                   # warm-up: ARP, caches
                    ok, errs, rate = self.connect(self.a.seconds)
                    if ok == 0:
                        raise B.BenchError(f"{config}: no connection got through")
                    self.rates[config].append(rate)
                    self.errors[config].append(errs)
                    B.log(f"forward: round {i + 1} {config}: {rate:,.0f} connections/s ({errs} errors)")
        finally:
            self.stop_all()
            self.ns.release()

    def ratios(self):
        """tlswall / no forward chain: of the medians, and of each round (measured back to back)."""
        on, off = self.rates["tlswall"], self.rates["no forward chain"]
        return B.median(on) / B.median(off), sorted(x / y for x, y in zip(on, off))

    def report(self, info):
        a = self.a
        base = B.median(self.rates["dnat only"])
        labels = {"dnat only": "the DNAT table alone",
                  "no forward chain": "tlswall, published_ports = false (no forward chain)",
                  "tlswall": "tlswall (prerouting mark, forward chain)"}
        rows = []
        for c in CONFIGS:
            r = self.rates[c]
            rows.append([labels[c], f"{B.median(r):,.0f}", f"{min(r):,.0f}", f"{max(r):,.0f}",
                         f"{B.median(r) / base:.2f}", str(sum(self.errors[c]))])
        ratio, rounds = self.ratios()
        md = "\n".join([
            "# Benchmark: forwarded connections (new TCP connections per second to a published port)",
            "",
            B.machine_md(info),
            "",
            f"New TCP connections per second from a client namespace to port {PORT} of a host namespace that "
            f"publishes it to a container namespace by destination NAT (a native nftables table, as Podman's "
            f"netavark writes one), over veth pairs: bench/connrate.c, {a.workers} client processes connecting and "
            f"closing (RST) for {a.seconds:g} s, a server in the container that accepts and closes. One set of "
            f"namespaces; the rulesets are switched in place by tlswall apply and remove, {a.runs} rounds whose "
            "order alternates; medians. Before the rounds, port 80 (published as well, not opened by the policy) "
            "was checked to get through without the forward chain and to be refused with it.",
            "",
            B.md_table(["ruleset", "connections/s (median)", "min", "max", "ratio to DNAT alone", "failed connects"],
                       rows, ["l", "r", "r", "r", "r", "r"]),
            "",
            f"tlswall's forward chain / no forward chain: **{ratio:.3f}** of the medians (per round: "
            f"{rounds[0]:.3f}-{rounds[-1]:.3f}); target >= {TARGET}: "
            f"{'met' if ratio >= TARGET else '**MISSED**'}.",
            "",
            "What the forward path costs a new connection: in prerouting, `ct state new fib daddr type local` and a "
            "connection-mark write (one route lookup); in forward, the mark test, one lookup of the original port "
            "in the protocol's verdict map and the service chain's counter. The connection's later packets leave "
            "the forward chain at its first rule (`ct state established,related accept`), and prerouting's rule "
            "stops at `ct state new`.",
            "",
        ])
        return md

    def raw(self, info):
        ratio, rounds = self.ratios()
        return {"measurement": "forward", "machine": dict(info), "runs": self.a.runs, "seconds": self.a.seconds,
                "workers": self.a.workers, "rates": self.rates, "errors": self.errors, "ratio": ratio,
                "round_ratios": rounds, "target": TARGET}


def main():
    return B.run_measurement("forward", parse_args(), Forward)


if __name__ == "__main__":
    sys.exit(main())
