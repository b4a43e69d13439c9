#!/usr/bin/env python3
"""Measurement "scale": tlswall and nft with block lists of 10 to 1M networks.

The policy has the shape of policies/blocklist.conf (https and domain-s, deny = [ "@bl" ]) with a list file of N
random IPv4 /24s and IPv6 /48s (a quarter), never overlapping nor adjacent (lib/policygen.py cidrs()). For every
size N it times, each figure the median of --runs rounds (--runs-big for N >= 1M):

  compile        `tlswall generate` (wall time and peak RSS)
  first apply    a fresh, empty namespace: `tlswall apply` versus `nft -f` of the generated script (+ peak RSS)
  replace        a namespace where the same tool loaded list A: load list B (same size, no network in common)
  remove one /   one live table (applied by tlswall from list A), then: `tlswall apply` of A less one network and
  add one          back (a delta commit), versus `nft delete element` / `nft add element` of that network; both
                   list files read once before the timed rounds, and that first apply of A less one (which parses
                   its file, as after an edit in place) is its own figure, "remove one, list parsed"
  diff (record)  `tlswall diff` right after tlswall's own apply (it uses its record, no dump); the same table
                 read with `nft list table inet tlswall`
  diff (dump)    `tlswall diff` after someone else committed (`nft add table ip x`): tlswall must dump the set
  phases         the remove-one apply under strace: list file, state, snapshots, the kernel's commit
  kernel commit  the kernel's own time for a one-element commit (bench/commit1.c, sendmsg to ack, no tool around
                 it): to the shard of tlswall's live table that holds the network (a list above 16,384 networks is
                 sharded), and, side by side, to one interval set of the same N networks loaded with nft -f (the
                 layout before sharding)

nft commands that take too long are stopped at --nft-timeout seconds (--element-timeout for nft's element changes,
which read the whole set first) and reported as "> X s"; a command stopped there is not run again at that size.
Writes
RESULTS/scale.md and RESULTS/scale.json; bench/lib/summary.py reads the latter for the targets and the plot.
"""

import argparse
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import benchlib as B  # noqa: E402
import policygen  # noqa: E402

TOOLS = ("tlswall", "nft")
BIG = 1_000_000


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    B.common_args(ap, sizes="10,1000,100000,1000000",
                  help={"--runs": "rounds per figure below 1M (median), at least 5",
                        "--timeout": "time limit for any other command"})
    ap.add_argument("--runs-big", type=int, default=int(os.environ.get("BENCH_RUNS_1M", "3")),
                    help="rounds per figure at 1M and above, at least 3 (env BENCH_RUNS_1M)")
    ap.add_argument("--nft-timeout", type=float, default=float(os.environ.get("BENCH_NFT_TIMEOUT", "120")),
                    help="time limit for one nft command or one dumping tlswall diff (env BENCH_NFT_TIMEOUT)")
    ap.add_argument("--element-timeout", type=float, default=float(os.environ.get("BENCH_ELEMENT_TIMEOUT", "30")),
                    help="time limit for one `nft add/delete element` (env BENCH_ELEMENT_TIMEOUT)")
    a = B.parse_args(ap)
    a.runs_big = max(min(a.runs_big, a.runs), 3)
    a.sizes = B.parse_sizes(a.sizes)
    return a


# ---- strace phases of one apply -----------------------------------------------------------------------------------

PHASES = ("read + parse list file", "compile, lock, open state", "decode record, diff, guards",
          "save previous.json", "kernel commit (sendmsg)", "encode + write applied.json (record)",
          "save last-known-good.json", "exit (socket close)")


def apply_phases(trace, list_name):
    """Split a `tlswall apply` strace (-ttt -T) at its file and netlink system calls, in PHASES order:
    the close of the list file; the open of the record (applied.json); the first call naming previous.json (a
    link to the record, or a snapshot encoded and written); the commit's sendmsg (start and end); the rename that
    puts applied.json in place; the one for last-known-good.json; the exit."""
    marks = {}
    t0 = t_end = None
    list_fd = nf_fd = None
    for t, call, args, ret, dur in B.strace_main_process(trace):
        if call is None:
            t_end = t
        elif call == "execve" and t0 is None:
            t0 = t
        elif call == "openat" and list_name in args and ret.isdigit():
            list_fd = int(ret)
        elif call == "close" and list_fd is not None and args.strip() == str(list_fd) and 0 not in marks:
            marks[0] = t + dur
        elif call == "openat" and '"applied.json"' in args:
            marks.setdefault(1, t)
        elif '"previous.json' in args and 3 not in marks:
            marks.setdefault(2, t)
        elif call == "socket" and "NETLINK_NETFILTER" in args and ret.isdigit():
            nf_fd = (nf_fd or set()) | {int(ret)}     # the session's, and those the guards read other tables with
        elif call == "close" and nf_fd and args.strip().isdigit() and int(args.strip()) in nf_fd:
            nf_fd = nf_fd - {int(args.strip())}
        elif call == "sendmsg" and nf_fd and args.split(",")[0].strip().isdigit() and \
                int(args.split(",")[0]) in nf_fd:
            marks[3] = t                # the last sendmsg is the commit (reads use sendto)
            marks[4] = t + dur
        elif call == "renameat" and '"applied.json"' in args:
            marks[5] = t + dur
        elif call == "renameat" and '"last-known-good.json"' in args:
            marks[6] = t + dur
    if t0 is None or t_end is None or 4 not in marks:
        raise B.BenchError(f"cannot make sense of the trace {trace}")
    out, prev = {}, t0
    for i, name in enumerate(PHASES):
        end = marks.get(i, t_end if i == len(PHASES) - 1 else None)
        if end is None:          # not seen: its time lands in the next phase
            out[name] = 0.0
            continue
        out[name] = max(end - prev, 0.0)
        prev = end
    out["total"] = t_end - t0
    return out


def load_phases(trace):
    """Split a load (tlswall apply or nft -f, strace -ttt -T) into: before the first netfilter sendmsg (reading,
    parsing, compiling, reading the kernel's state, encoding), the sendmsg calls (the kernel checks and commits the
    batch), and the rest (acknowledgements, tlswall's snapshots, closing the socket)."""
    t0 = t_end = first = None
    nf_fds, commit = set(), 0.0
    for t, call, args, ret, dur in B.strace_main_process(trace):
        if call is None:
            t_end = t
        elif call == "execve" and t0 is None:
            t0 = t
        elif call == "socket" and "NETLINK_NETFILTER" in args and ret.isdigit():
            nf_fds.add(int(ret))
        elif call == "sendmsg" and args.split(",")[0].strip().isdigit() and int(args.split(",")[0]) in nf_fds:
            first = t if first is None else first
            commit += dur
    if t0 is None or t_end is None or first is None:
        raise B.BenchError(f"cannot make sense of the trace {trace}")
    return {"before commit": first - t0, "commit (sendmsg)": commit, "after": t_end - first - commit,
            "total": t_end - t0}


LOAD_PHASES = ("before commit", "commit (sendmsg)", "after")


# ---- the measurement -----------------------------------------------------------------------------------------------

class Scale(B.Measurement):
    def __init__(self, args, work):
        super().__init__(args, work)
        self.samples = {}        # (size, op, tool) -> [Result]
        self.phases = {}         # (size, op) -> [dict]
        self.meta = {}           # size -> dict
        self.notes = []
        self.nstate = 0
        self.kcommit = {}        # (size, layout) -> (delete s, add s)
        self.commit1 = os.environ.get("BENCH_COMMIT1")

    def measure(self):
        self.ns.fresh()
        for n in self.a.sizes:
            self.size(n)

    def fresh_state(self):
        """A new, empty tlswall state directory (one per scenario) and the environment naming it."""
        self.nstate += 1
        d = os.path.join(self.work, f"state{self.nstate}")
        os.mkdir(d, 0o700)
        return dict(os.environ, TLSWALL_STATE_DIR=d)

    @staticmethod
    def settle(n):
        """Seconds to wait after leaving a namespace: the kernel frees its sets in the background, on the CPU the
        next timed command would use (about 1 s per million elements here)."""
        return 0.3 + 2.0 * n / BIG

    def add(self, n, op, tool, r):
        self.samples.setdefault((n, op, tool), []).append(r)
        if r.timed_out:
            B.log(f"scale: {n} {op} {tool}: stopped at the time limit ({r.wall:.0f} s)")

    def load(self, tool, pol, env, timeout=None, stdout="/dev/null"):
        if tool == "tlswall":
            return self.run(self.tlswall, "-f", pol["conf"], "apply", env=env, rss=True, stdout=stdout,
                            timeout=timeout)
        return self.run("nft", "-f", pol["nft"], env=env, rss=True, check=False,
                        timeout=timeout or self.a.nft_timeout)

    def verify(self, n, pol, env, what, dump):
        """The live table must equal the policy: `tlswall diff` with a fresh state dir (dump=True: it reads the
        kernel) or with the scenario's own (it may use its record). Dumping is left out at 1M (a minute each)."""
        if dump and n >= BIG:
            return
        r = self.run(self.tlswall, "-q", "-f", pol["conf"], "diff", env=self.fresh_state() if dump else env,
                     check=False, timeout=self.a.nft_timeout)
        if r.status != 0:
            raise B.BenchError(f"{what}: the live table does not match {os.path.basename(pol['conf'])} "
                               f"(tlswall diff exit {r.status})")

    def shard_of(self, net):
        """The set of the live tlswall table that holds IPv4 network net: bl.v4, or the shard whose range holds it
        (the shard names carry their first address, see include/tlswall/shard.h)."""
        r = self.run("nft", "-t", "list", "table", "inet", "tlswall", stdout=os.path.join(self.work, "terse"),
                     timeout=self.a.nft_timeout)
        del r
        names = re.findall(r"set (bl\.v4(?:\.s[0-9a-f]{8})?) \{", open(os.path.join(self.work, "terse")).read())
        if "bl.v4" in names:
            return "bl.v4"
        addr = int.from_bytes(bytes(int(x) for x in net.split("/")[0].split(".")), "big")
        best = None
        for name in names:
            cut = int(name.rsplit(".s", 1)[1], 16)
            if cut <= addr and (best is None or cut > best[0]):
                best = (cut, name)
        if not best:
            raise B.BenchError(f"no set of the live table holds {net}: {names[:5]}")
        return best[1]

    def kernel_commit(self, n, layout, table, set_name, net, runs):
        """bench/commit1: the kernel's time for deleting and adding back one element, median of runs."""
        if not self.commit1:
            return
        out = os.path.join(self.work, "commit1.out")
        self.run(self.commit1, table, set_name, net, str(max(runs, 5)), stdout=out, timeout=self.a.nft_timeout)
        m = re.search(r"delete ([\d.]+) add ([\d.]+)", open(out).read())
        if not m:
            raise B.BenchError(f"commit1: unexpected output {open(out).read()!r}")
        self.kcommit[(n, layout)] = (float(m.group(1)) / 1e3, float(m.group(2)) / 1e3)

    def unsharded(self, n, pa, one, runs):
        """The kernel's one-element commit to one interval set of the same IPv4 networks, as tables were laid out
        before sharding: loaded with nft -f in a namespace of its own."""
        if not self.commit1:
            return
        v4 = [x.strip() for x in open(os.path.join(self.work, pa["list"])) if x.strip() and ":" not in x
              and not x.startswith("#")]
        script = os.path.join(self.work, "unsharded.nft")
        with open(script, "w") as f:
            f.write("table inet u {\n\tset bl.v4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = {\n")
            f.write(",\n".join("\t\t\t" + x for x in v4))
            f.write("\n\t\t}\n\t}\n}\n")
        del v4
        self.ns.fresh()
        r = self.run("nft", "-f", script, check=False, timeout=self.a.nft_timeout)
        if not r.timed_out and not r.status:
            self.kernel_commit(n, "one set", "u", "bl.v4", one, runs)
        self.ns.release(self.settle(n))

    def policy(self, n, name, entries):
        lst = f"{name}.txt"
        policygen.write_list(os.path.join(self.work, lst), entries, f"synthetic block list, {len(entries)} networks")
        conf = policygen.write_blocklist_policy(self.work, name, lst)
        return {"conf": conf, "list": lst, "nft": os.path.join(self.work, name + ".nft")}

    def size(self, n):
        a = self.a
        runs = a.runs_big if n >= BIG else a.runs
        B.log(f"scale: size {n:,}: writing lists ({runs} rounds per figure)")
        la, lb = policygen.cidrs(n, 0), policygen.cidrs(n, 1)
        one = next(x for x in la if ":" not in x)          # the network removed and added back (an IPv4 /24)
        pa = self.policy(n, f"n{n}-a", la)
        pb = self.policy(n, f"n{n}-b", lb)
        pa1 = self.policy(n, f"n{n}-a1", [x for x in la if x != one])
        del la, lb
        for p in (pa, pb):
            self.run(self.tlswall, "-f", p["conf"], "generate", stdout=p["nft"], touches_netfilter=False)
        script = os.path.getsize(pa["nft"])
        self.meta[n] = {"networks": n, "element": one, "script_bytes": script,
                        "list_bytes": os.path.getsize(os.path.join(self.work, pa["list"])), "runs": runs}

        B.log(f"scale: size {n:,}: compile x{runs}")
        out = os.path.join(self.work, "generate.out")
        for _ in range(runs):
            self.add(n, "compile", "tlswall", self.run(self.tlswall, "-f", pa["conf"], "generate", stdout=out,
                                                       rss=True, touches_netfilter=False))

        B.log(f"scale: size {n:,}: first apply x{runs}")
        summary = os.path.join(self.work, "apply.out")
        for i in range(runs):
            for tool in (TOOLS if i % 2 == 0 else TOOLS[::-1]):
                self.ns.fresh()
                env = self.fresh_state()
                r = self.load(tool, pa, env, stdout=summary)
                self.add(n, "first apply", tool, r)
                if not r.timed_out:
                    if r.status:
                        raise B.BenchError(f"first apply with {tool}: exit {r.status}")
                    self.verify(n, pa, env, f"first apply with {tool}", dump=(tool == "nft" or n < BIG))
                self.ns.release(self.settle(n))

        if n >= 100_000 and shutil.which("strace"):
            B.log(f"scale: size {n:,}: first apply under strace")
            trace = os.path.join(self.work, "trace")
            strace = ["strace", "-f", "--seccomp-bpf", "-ttt", "-T", "-o", trace, "-e", "verbose=none",
                      "-e", "trace=execve,socket,sendmsg,exit_group"]
            for i in range(1 if n >= BIG else 3):
                for tool in TOOLS:
                    self.ns.fresh()
                    env = self.fresh_state()
                    argv = ([self.tlswall, "-f", pa["conf"], "apply"] if tool == "tlswall"
                            else ["nft", "-f", pa["nft"]])
                    self.run(*strace, *argv, env=env, timeout=a.nft_timeout)
                    self.phases.setdefault((n, "first apply " + tool), []).append(load_phases(trace))
                    self.ns.release(self.settle(n))

        B.log(f"scale: size {n:,}: replace x{runs}")
        for i in range(runs):
            for tool in (TOOLS if i % 2 == 0 else TOOLS[::-1]):
                self.ns.fresh()
                env = self.fresh_state()
                r0 = self.load(tool, pa, env)
                if r0.timed_out or r0.status:
                    raise B.BenchError(f"replace with {tool}: loading A failed")
                r = self.load(tool, pb, env, stdout=summary)
                self.add(n, "replace", tool, r)
                if not r.timed_out:
                    if r.status:
                        raise B.BenchError(f"replace with {tool}: exit {r.status}")
                    self.verify(n, pb, env, f"replace with {tool}", dump=(tool == "nft" or n < BIG))
                if tool == "tlswall":
                    self.meta[n]["tlswall replace"] = open(summary).read().strip().split("inet tlswall: ", 1)[-1][:200]
                self.ns.release(self.settle(n))

        self.scenario(n, pa, pa1, one, runs)
        self.unsharded(n, pa, one, runs)

    def scenario(self, n, pa, pa1, one, runs):
        """One live table, applied by tlswall: diff, one-element changes, then someone else's commit."""
        a = self.a
        B.log(f"scale: size {n:,}: one live table: diff, remove/add one network, foreign commit")
        self.ns.fresh()
        env = self.fresh_state()
        self.load("tlswall", pa, env)

        for _ in range(runs):
            r = self.run(self.tlswall, "-q", "-f", pa["conf"], "diff", env=env, check=False)
            if r.status != 0:
                raise B.BenchError(f"diff after tlswall's own apply: exit {r.status}")
            self.add(n, "diff, after own apply", "tlswall", r)
        for _ in range(runs):
            r = self.run("nft", "list", "table", "inet", "tlswall", check=False, timeout=a.nft_timeout)
            self.add(n, "list table", "nft", r)
            if r.timed_out:
                break

        out = os.path.join(self.work, "delta.out")
        # A less one is applied once first: that apply parses its list file, as after an edit in place (its own
        # figure, one run); the timed rounds are then changes between list files tlswall has read before
        r = self.run(self.tlswall, "-f", pa1["conf"], "apply", env=env, rss=True, stdout=out)
        self.add(n, "remove one, list parsed", "tlswall", r)
        self.run(self.tlswall, "-q", "-f", pa["conf"], "apply", env=env)
        for i in range(runs):
            for op, pol, want in (("remove one", pa1, "-1 element"), ("add one", pa, "+1 element")):
                r = self.run(self.tlswall, "-f", pol["conf"], "apply", env=env, rss=True, stdout=out)
                text = open(out).read()
                if want not in text:
                    raise B.BenchError(f"{op}: tlswall apply did not report {want!r}: {text.strip()[:300]}")
                self.add(n, op, "tlswall", r)
        # where the time of a delta apply goes, under strace (untimed rounds)
        if shutil.which("strace"):
            trace = os.path.join(self.work, "trace")
            strace = ["strace", "-f", "--seccomp-bpf", "-ttt", "-T", "-o", trace, "-e", "verbose=none",
                      "-e", "trace=execve,openat,close,socket,sendmsg,renameat,linkat,unlinkat,exit_group"]
            for i in range(runs):
                for op, pol in (("remove one", pa1), ("add one", pa)):
                    self.run(*strace, self.tlswall, "-q", "-f", pol["conf"], "apply", env=env)
                    self.phases.setdefault((n, op), []).append(apply_phases(trace, pol["list"]))
        v = self.run(self.tlswall, "-v", "-f", pa1["conf"], "apply", env=env, stdout=out)
        self.meta[n]["delta commit"] = next((ln for ln in open(out) if "committed" in ln), "?").strip()
        self.run(self.tlswall, "-q", "-f", pa["conf"], "apply", env=env)
        del v
        shard = self.shard_of(one)
        self.meta[n]["shard"] = shard
        self.kernel_commit(n, "tlswall", "tlswall", shard, one, runs)

        # nft: the same network out of and back into the same live set. nft reads the whole set first (to merge
        # intervals), about a minute at 1M: bounded by --element-timeout, and a command stopped there is not run
        # again at this size (its other rounds would only wait out the same limit).
        stopped = set()
        for i in range(runs):
            removed = False
            for op, verb in (("remove one", "delete"), ("add one", "add")):
                if op in stopped:
                    continue
                r = self.run("nft", verb, "element", "inet", "tlswall", shard, "{", one, "}", check=False,
                             timeout=a.element_timeout)
                self.add(n, op, "nft", r)
                if r.timed_out:
                    stopped.add(op)
                elif r.status and (verb == "delete" or removed):
                    raise B.BenchError(f"nft {verb} element: exit {r.status}")
                removed = verb == "delete" and not r.timed_out and not r.status

        # someone else commits: tlswall's record no longer matches the generation, so diff must read the kernel
        self.run("nft", "add", "table", "ip", "x")
        for _ in range(runs):
            r = self.run(self.tlswall, "-q", "-f", pa["conf"], "diff", env=env, check=False, timeout=a.nft_timeout)
            self.add(n, "diff, after foreign commit", "tlswall", r)
            if r.timed_out:
                break
            if r.status not in (0, 2) or (r.status == 2 and not stopped):  # 2: an nft change was cut short
                raise B.BenchError(f"diff after a foreign commit: exit {r.status}")
        self.ns.release(self.settle(n))

    # ---- report ----------------------------------------------------------------------------------------------------

    def cell(self, n, op, tool, field="wall"):
        """(median, is_lower_bound) or None."""
        rs = self.samples.get((n, op, tool))
        if not rs:
            return None
        if any(r.timed_out for r in rs):
            return (max(r.wall for r in rs), True)
        vals = [getattr(r, field) if field != "cpu" else r.user + r.sys for r in rs]
        vals = [v for v in vals if v is not None]
        return (B.median(vals), False) if vals else None

    def fmt(self, c):
        if c is None:
            return "-"
        v, lower = c
        return ("> " if lower else "") + (f"{v:.1f} s" if v >= 10 else B.fmt_ms(v))

    @staticmethod
    def ratio(t, f):
        if t is None or f is None or not f[0]:
            return "-"
        if f[1] and not t[1]:
            return f"< {t[0] / f[0]:.3f}"
        if t[1]:
            return "?"
        return f"{t[0] / f[0]:.3f}" if t[0] / f[0] < 0.1 else f"{t[0] / f[0]:.2f}"

    def rss(self, n, op, tool):
        rs = [r.rss_kb for r in self.samples.get((n, op, tool), []) if r.rss_kb]
        return B.median(rs) / 1024 if rs else None

    def report(self, info):
        a = self.a
        sizes = a.sizes
        S = lambda n: f"{n:,}"  # noqa: E731
        comp = []
        for n in sizes:
            g, gr = self.cell(n, "compile", "tlswall"), self.rss(n, "compile", "tlswall")
            tr, nr = self.rss(n, "first apply", "tlswall"), self.rss(n, "first apply", "nft")
            comp.append([S(n), self.fmt(g), f"{gr:.1f} MiB" if gr else "-", f"{tr:.1f} MiB" if tr else "-",
                         f"{nr:.1f} MiB" if nr else "-", f"{gr / nr:.2f}" if gr and nr else "-",
                         f"{tr / nr:.2f}" if tr and nr else "-",
                         f"{self.meta[n]['list_bytes'] / 1e6:.1f} MB / {self.meta[n]['script_bytes'] / 1e6:.1f} MB"])
        load = []
        for n in sizes:
            for op in ("first apply", "replace"):
                t, f = self.cell(n, op, "tlswall"), self.cell(n, op, "nft")
                tc, fc = self.cell(n, op, "tlswall", "cpu"), self.cell(n, op, "nft", "cpu")
                load.append([S(n), op, self.fmt(t), self.fmt(f), self.ratio(t, f), self.fmt(tc), self.fmt(fc)])
        delta = []
        for n in sizes:
            for op in ("remove one", "add one", "remove one, list parsed"):
                t, f = self.cell(n, op, "tlswall"), self.cell(n, op, "nft")
                ph = self.phases.get((n, op))
                commit = B.median([p["kernel commit (sendmsg)"] for p in ph]) if ph else None
                total = B.median([p["total"] for p in ph]) if ph else None
                delta.append([S(n), op, self.fmt(t), self.fmt(f), self.ratio(t, f),
                              B.fmt_ms(commit) if commit is not None else "-",
                              B.fmt_ms(total) if total is not None else "-"])
        diff = []
        for n in sizes:
            f = self.cell(n, "list table", "nft")
            for case, op in (("right after tlswall's apply (record)", "diff, after own apply"),
                             ("after a foreign commit (dump)", "diff, after foreign commit")):
                t = self.cell(n, op, "tlswall")
                diff.append([S(n), case, self.fmt(t), self.fmt(f), self.ratio(t, f)])
        kc = []
        for n in sizes:
            t, u = self.kcommit.get((n, "tlswall")), self.kcommit.get((n, "one set"))
            if not t and not u:
                continue
            kc.append([S(n), f"`{self.meta[n].get('shard', '?')}`",
                       B.fmt_ms(t[0]) if t else "-", B.fmt_ms(t[1]) if t else "-",
                       B.fmt_ms(u[0]) if u else "-", B.fmt_ms(u[1]) if u else "-",
                       f"{t[0] / u[0]:.3f}" if t and u else "-"])
        phase_rows, load_rows = [], []
        for (n, op), ph in sorted(self.phases.items()):
            if op.startswith("first apply"):
                med = {k: B.median([p[k] for p in ph]) for k in ph[0]}
                load_rows.append([S(n), op[len("first apply "):], len(ph)] +
                                 [B.fmt_ms(med[k]) for k in LOAD_PHASES + ("total",)])
                continue
            if n < 100_000:
                continue
            med = {k: B.median([p[k] for p in ph]) for k in ph[0]}
            for k in PHASES:
                phase_rows.append([S(n), op, k, B.fmt_ms(med[k]), f"{100 * med[k] / med['total']:.0f} %"])
            phase_rows.append([S(n), op, "**total (under strace)**", B.fmt_ms(med["total"]), "100 %"])
        runs = f"{a.runs} runs per figure below 1M, {a.runs_big} at 1M"
        md = [
            "# Benchmark: scale (block lists of 10 to 1M networks)",
            "",
            B.machine_md(info),
            "",
            f"Policy: policies/blocklist.conf's shape (https, domain-s, `deny = [ \"@bl\" ]`) with a list file of N "
            "random IPv4 /24s and IPv6 /48s (one in four), none overlapping or adjacent. Every figure is the median "
            f"of its runs ({runs}); `> X s` means the command was stopped at its time limit of X s (and then not "
            "run again at that size). Ratios are tlswall / nft.",
            "",
            "## Compile time and peak memory",
            "",
            "Peak RSS from /usr/bin/time -f %M (the command's own, not the Python harness's). nft -f is the first "
            "apply of the generated script; tlswall apply is its first apply of the policy.",
            "",
            B.md_table(["N", "tlswall generate", "generate RSS", "tlswall apply RSS", "nft -f RSS",
                        "generate / nft -f", "apply / nft -f", "list file / nft script"], comp,
                       ["r", "r", "r", "r", "r", "r", "r", "r"]),
            "",
            "## First apply and replace",
            "",
            "Replace loads list B (same size, no network in common, same services) where the same tool loaded list "
            "A: tlswall sees that only elements changed and commits them as a delta; `nft -f` deletes and remakes "
            "the table (the generated script starts with `delete table`). CPU is user + system time of the "
            "command.",
            "",
            B.md_table(["N", "operation", "tlswall apply", "nft -f", "ratio", "tlswall CPU", "nft CPU"], load,
                       ["r", "l", "r", "r", "r", "r", "r"]),
            "",
            "Where a first apply spends its time (separate runs under strace, median; the kernel commits the "
            "batch inside sendmsg):",
            "",
            B.md_table(["N", "tool", "runs", "before commit (user space)", "commit (sendmsg)",
                        "after (acks, snapshots, close)", "total (under strace)"], load_rows,
                       ["r", "l", "r", "r", "r", "r", "r"]),
            "",
            "## One-element change",
            "",
            "One live table (tlswall applied list A). tlswall: `apply` of the policy whose list file lacks one "
            "network, then of the original (a delta commit of one element, counters kept); nft: `nft delete "
            "element` / `nft add element` of that network on the same live set. Both list files were read once "
            "before the timed rounds; the first of those applies, which parses the list file lacking one network (as "
            "after an edit in place), is the \"remove one, list parsed\" row (one run). The last two columns come "
            "from separate runs under strace: the kernel's commit (the sendmsg of the batch) and the whole run.",
            "",
            B.md_table(["N", "change", "tlswall apply", "nft element", "ratio", "commit (strace)",
                        "whole run (strace)"], delta, ["r", "l", "r", "r", "r", "r", "r"]),
            "",
            "Where a one-element apply spends its time (median of the strace runs; the phases are cut at the "
            "system calls named, so a phase covers the user-space work before its call):",
            "",
            B.md_table(["N", "change", "phase", "time", "share"], phase_rows, ["r", "l", "l", "r", "r"]),
            "",
            "## The kernel's commit of a one-element change",
            "",
            "bench/commit1.c alone, no tool around it: one batch deleting the network and one adding it back, each "
            "timed from its sendmsg to the kernel's acknowledgement (median of at least 5). tlswall's layout: the "
            "shard of the live table that holds the network (lists above 16,384 networks are sharded: shards of "
            "about 8,192); one set: the same IPv4 networks in one interval set, loaded with nft -f, as tables were "
            "laid out before sharding. Both in the same run.",
            "",
            B.md_table(["N", "tlswall's set", "delete (tlswall's layout)", "add (tlswall's layout)",
                        "delete (one set)", "add (one set)", "delete ratio"], kc,
                       ["r", "l", "r", "r", "r", "r", "r"]),
            "",
            "## diff versus nft list table",
            "",
            "`tlswall diff` (exit 0: no changes) against the live table, versus `nft list table inet tlswall` "
            "(to /dev/null) on the same table; the nft figure serves both rows. After a foreign commit (`nft add "
            "table ip x`, and the nft element changes before it) the generation no longer matches tlswall's record "
            "and it reads every set from the kernel.",
            "",
            B.md_table(["N", "case", "tlswall diff", "nft list table", "ratio"], diff, ["r", "l", "r", "r", "r"]),
            "",
            "Commits: " + "; ".join(f"{S(n)}: one-element `{self.meta[n].get('delta commit', '?')}`, replace "
                                    f"`{self.meta[n].get('tlswall replace', '?')}`" for n in sizes) + ".",
            "",
            "Method: each first apply and each replace runs in a new network namespace with a new tlswall state "
            "directory; the tools alternate which goes first in every round. Every load is checked with "
            "`tlswall diff` (untimed) from a fresh state directory, so that it reads the kernel; at 1M only "
            "tlswall's own loads are checked, against its record, since a dump takes about a minute there.",
            "",
        ]
        return "\n".join(md)

    def raw(self, info):
        return {
            "measurement": "scale",
            "machine": dict(info),
            "runs": self.a.runs, "runs_big": self.a.runs_big, "nft_timeout": self.a.nft_timeout,
            "element_timeout": self.a.element_timeout,
            "sizes": self.a.sizes,
            "meta": {str(k): v for k, v in self.meta.items()},
            "samples": [{"size": n, "operation": op, "tool": tool, "runs": [r.as_dict() for r in rs]}
                        for (n, op, tool), rs in self.samples.items()],
            "phases": [{"size": n, "operation": op, "runs": ph} for (n, op), ph in self.phases.items()],
            "kernel_commit": [{"size": n, "layout": lay, "delete": v[0], "add": v[1]}
                              for (n, lay), v in self.kcommit.items()],
        }


def main():
    return B.run_measurement("scale", parse_args(), Scale)


if __name__ == "__main__":
    sys.exit(main())
