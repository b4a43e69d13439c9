#!/usr/bin/env python3
"""Measurement "apply": tlswall apply versus nft -f on the same ruleset.

For every size N (N custom TLS services plus a deny set of N addresses, see lib/policygen.py):
  first apply  a fresh, empty network namespace; time loading policy A
  replace      a fresh namespace with A already loaded (untimed, by the same tool); time loading policy B
               (B has the same size as A, different ports and addresses)
each with `tlswall -f A.conf apply` and with `nft -f A.nft`, where A.nft is what `tlswall -f A.conf generate`
prints (made beforehand; generate's own time is measured on its own). The two tools alternate which goes first in
every round, each result is checked (`tlswall diff` must find the live table equal to the policy), and every figure
is the median of --runs rounds. Writes RESULTS/apply.md (Markdown) and RESULTS/apply.json (every sample).

Run it through bench/run.sh, which starts it inside its own network namespace; it also moves itself into a fresh
one before touching netfilter.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import benchlib as B  # noqa: E402
import policygen  # noqa: E402

TOOLS = ("tlswall", "nft")
MAX_SIZE = 1000
MIN_RUNS = 15


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    B.common_args(ap, sizes="10,1000", help={"--results": "directory for apply.md and apply.json",
                                               "--sizes": "comma-separated sizes (services = addresses = N)"})
    ap.add_argument("--settle", type=float, default=0.2, help="seconds to let old namespaces go between cells")
    a = ap.parse_args()
    if a.runs < 5:
        ap.error("--runs must be at least 5")
    # its cells are a few ms, most of it the RCU wait at socket close (see bench/README.md): at least 15 rounds,
    # which cost seconds here, so that BENCH_STRICT does not trip on that noise
    a.runs = max(a.runs, MIN_RUNS)
    sizes = B.parse_sizes(a.sizes)
    # N services as well as N addresses: the sizes above 1,000 are measure/scale.py's (block lists up to 1M)
    a.sizes = [n for n in sizes if n <= MAX_SIZE]
    if len(a.sizes) < len(sizes):
        B.log(f"apply: sizes above {MAX_SIZE:,} are left to measure/scale.py")
    return a


class ApplyBench:
    def __init__(self, args, work):
        self.a = args
        self.work = work
        self.tlswall = os.path.abspath(args.tlswall)
        state = os.path.join(work, "state")
        os.mkdir(state, 0o700)
        env = dict(os.environ, TLSWALL_STATE_DIR=state)
        self.ns = B.Netns(settle=args.settle)
        self.run = B.Runner(work, env=env, timeout=args.timeout, netns=self.ns).run
        self.samples = {}   # (size, op, tool) -> [Result]
        self.gen = {}       # size -> [Result]
        self.meta = {}      # size -> dict
        self.slower = []    # the cells where tlswall is slower than nft -f (report())

    def measure(self):
        self.ns.fresh()
        for n in self.a.sizes:
            self.size(n)

    # the command each tool uses to load a policy
    def load_argv(self, tool, pol):
        if tool == "tlswall":
            return [self.tlswall, "-f", pol["conf"], "apply"]
        return ["nft", "-f", pol["nft"]]

    def verify(self, pol, what):
        r = self.run([self.tlswall, "-q", "-f", pol["conf"], "diff"], check=False)
        if r.status != 0:
            raise B.BenchError(f"{what}: the live table does not match {os.path.basename(pol['conf'])} "
                               f"(tlswall diff exit {r.status})")

    def make_policy(self, n, variant, name):
        conf = policygen.write_policy(self.work, name, n, n, variant)
        nft = os.path.join(self.work, name + ".nft")
        self.run([self.tlswall, "-f", conf, "generate"], stdout=nft, touches_netfilter=False)
        return {"conf": conf, "nft": nft}

    def size(self, n):
        B.log(f"apply: size {n}: writing policies")
        pa = self.make_policy(n, 0, f"n{n}-a")
        pb = self.make_policy(n, 1, f"n{n}-b")
        with open(pa["nft"]) as f:
            script = f.read()

        # warm-up (page cache, dynamic loader), and the ruleset summary tlswall prints
        summary_file = os.path.join(self.work, "summary.out")
        self.ns.fresh()
        self.run(self.load_argv("tlswall", pa), stdout=summary_file)
        summary = open(summary_file).read().strip().rsplit(": ", 1)[-1]
        self.ns.fresh()
        self.run(self.load_argv("nft", pa))
        self.verify(pa, "warm-up nft -f")
        self.ns.release()
        self.meta[n] = {"ruleset": summary, "script_bytes": len(script.encode()),
                        "script_lines": script.count("\n")}

        B.log(f"apply: size {n}: generate x{self.a.runs}")
        gen_out = os.path.join(self.work, "generate.out")
        self.gen[n] = [self.run([self.tlswall, "-f", pa["conf"], "generate"], stdout=gen_out,
                                touches_netfilter=False) for _ in range(self.a.runs)]

        B.log(f"apply: size {n}: first apply x{self.a.runs}")
        for i in range(self.a.runs):
            for tool in (TOOLS if i % 2 == 0 else TOOLS[::-1]):
                self.ns.fresh()
                r = self.run(self.load_argv(tool, pa))
                self.verify(pa, f"first apply with {tool}")
                self.samples.setdefault((n, "first apply", tool), []).append(r)
        self.ns.release()

        B.log(f"apply: size {n}: replace x{self.a.runs}")
        for i in range(self.a.runs):
            for tool in (TOOLS if i % 2 == 0 else TOOLS[::-1]):
                self.ns.fresh()
                self.run(self.load_argv(tool, pa))
                self.verify(pa, f"replace with {tool}: loading A")
                r = self.run(self.load_argv(tool, pb))
                self.verify(pb, f"replace with {tool}")
                self.samples.setdefault((n, "replace", tool), []).append(r)
        self.ns.release()

    def report(self, info):
        med = lambda rs, f="wall": B.median([getattr(r, f) for r in rs])  # noqa: E731
        cpu = lambda rs: B.median([r.user + r.sys for r in rs])  # noqa: E731
        rows, cpu_rows, detail, gen_rows, notes = [], [], [], [], []
        self.slower = []
        for n in self.a.sizes:
            for op in ("first apply", "replace"):
                ts, fs = self.samples[(n, op, "tlswall")], self.samples[(n, op, "nft")]
                t, f = med(ts), med(fs)
                ratio = t / f
                verdict = "ok" if ratio <= 1.0 else "SLOWER"
                if verdict != "ok":
                    self.slower.append(f"{n} {op}")
                rows.append([f"{n:,}", op, B.fmt_ms(t), B.fmt_ms(f), f"{ratio:.2f}", verdict])
                if verdict != "ok":
                    spread = max(B.iqr([r.wall for r in ts]), B.iqr([r.wall for r in fs]))
                    notes.append(f"{n:,} {op}: tlswall is {B.fmt_ms(t - f)} slower, "
                                 + ("less than" if t - f < spread else "more than")
                                 + f" the run-to-run spread (interquartile range up to {B.fmt_ms(spread)}).")
                cpu_rows.append([f"{n:,}", op, B.fmt_ms(cpu(ts)), B.fmt_ms(cpu(fs)), f"{cpu(ts) / cpu(fs):.2f}"])
                for tool, rs in (("tlswall apply", ts), ("nft -f", fs)):
                    w = [r.wall for r in rs]
                    detail.append([f"{n:,}", op, tool, B.fmt_ms(min(w)), B.fmt_ms(med(rs)), B.fmt_ms(max(w)),
                                   B.fmt_ms(med(rs, "user")), B.fmt_ms(med(rs, "sys")),
                                   B.fmt_ms(B.median([r.wall - r.user - r.sys for r in rs]))])
            g = med(self.gen[n])
            f = med(self.samples[(n, "first apply", "nft")])
            m = self.meta[n]
            gen_rows.append([f"{n:,}", B.fmt_ms(g), B.fmt_ms(f), B.fmt_ms(g + f),
                             B.fmt_ms(med(self.samples[(n, "first apply", "tlswall")])),
                             f"{m['script_lines']:,} lines, {m['script_bytes'] / 1024:.1f} KiB"])

        sizes = ", ".join(f"{n:,}" for n in self.a.sizes)
        rulesets = "; ".join(f"{n:,}: {self.meta[n]['ruleset']}" for n in self.a.sizes)
        out = [
            "# Benchmark: tlswall apply versus nft -f",
            "",
            B.machine_md(info),
            "",
            f"Median wall-clock time of {self.a.runs} runs per figure; sizes {sizes} "
            "(N custom TLS services + a deny set of N addresses). "
            "Target: tlswall is not slower than nft -f at any size (ratio <= 1.00).",
            "",
            B.md_table(["size", "operation", "tlswall median", "nft -f median", "ratio (tlswall / nft)", "verdict"],
                       rows, ["r", "l", "r", "r", "r", "c"]),
            "",
            *([f"SLOWER at {x}" for x in notes] + [""] if notes else []),
            "## CPU time",
            "",
            "User + system CPU time of the command itself (median). Unlike wall time it leaves out the time the "
            "process sleeps in the kernel: nft waits for an RCU grace period when it closes its netlink socket "
            "after a commit that replaced or deleted something (see bench/README.md; tlswall leaves that wait to a "
            "child), which varies by several ms from run to run.",
            "",
            B.md_table(["size", "operation", "tlswall CPU", "nft -f CPU", "ratio (tlswall / nft)"],
                       cpu_rows, ["r", "l", "r", "r", "r"]),
            "",
            "## generate",
            "",
            "`nft -f` above loads a script made beforehand; making it with `tlswall generate` costs this much more:",
            "",
            B.md_table(["size", "tlswall generate", "nft -f (first apply)", "generate + nft -f",
                        "tlswall apply (first apply)", "script"],
                       gen_rows, ["r", "r", "r", "r", "r", "l"]),
            "",
            "## details",
            "",
            "The kernel splits CPU time between user and sys by sampling at the scheduler tick, so for runs of a "
            "few ms only their sum is exact.",
            "",
            B.md_table(["size", "operation", "tool", "wall min", "wall median", "wall max", "user CPU", "sys CPU",
                        "off CPU (wall - user - sys)"],
                       detail, ["r", "l", "l", "r", "r", "r", "r", "r", "r"]),
            "",
            f"Ruleset per size (what the first apply creates): {rulesets}.",
            "",
            "Method: every first apply runs in a new, empty network namespace; every replace in a new namespace "
            "where the same tool loaded policy A (untimed) before the timed load of policy B (same size, every "
            "port and address different). The tools alternate which goes first in each round, and every load is "
            "checked with `tlswall diff` (untimed). Times are from posix_spawn to wait4 of the one command; CPU "
            "times are the command's own (wait4 rusage); every figure is a median over the runs.",
            "",
        ]
        return "\n".join(out)

    def raw(self, info):
        return {
            "measurement": "apply",
            "machine": dict(info),
            "runs": self.a.runs,
            "sizes": self.a.sizes,
            "meta": {str(k): v for k, v in self.meta.items()},
            "generate": {str(n): [r.wall for r in rs] for n, rs in self.gen.items()},
            "samples": [{"size": n, "operation": op, "tool": tool,
                         "wall": [r.wall for r in rs], "user": [r.user for r in rs], "sys": [r.sys for r in rs]}
                        for (n, op, tool), rs in self.samples.items()],
        }


def main():
    a = parse_args()
    if not a.sizes:
        B.log(f"apply: no size up to {MAX_SIZE:,}: nothing to do")
        return 0
    return B.run_measurement("apply", a, ApplyBench, after=report_slower)


def report_slower(bench):
    """The line bench/run.sh looks for (BENCH_STRICT)."""
    if bench.slower:
        B.log("apply: tlswall is SLOWER than nft -f at: " + ", ".join(bench.slower))


if __name__ == "__main__":
    sys.exit(main())
