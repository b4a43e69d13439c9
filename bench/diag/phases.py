#!/usr/bin/env python3
"""Diagnostic "phases": where the wall time of one load goes, for tlswall apply and nft -f.

Runs the same loads as measure/apply.py (first apply and replace, each size) under
`strace --seccomp-bpf` (only execve, socket, sendmsg, close and exit_group are stopped for, so the rest of the
program runs at full speed) and splits each run at the netfilter socket's system calls:

  before commit   start of the program to the commit: loading, parsing, compiling, reading the kernel's state,
                  encoding the batch
  commit          the sendmsg() that carries the batch: the kernel checks and commits the transaction
  close           close() of the netfilter socket: nf_tables makes the closing process wait for the destruction
                  work of the last commit, which begins with synchronize_rcu(); so this is mostly an RCU grace period
  rest            after the commit to the exit (printing, freeing), when close is not where the wait lands

Medians of --runs runs; timings under strace are a little higher than measure/apply.py's. Not run by default:
`bench/run.sh TLSWALL phases`. Writes RESULTS/apply-phases.md.
"""

import argparse
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import benchlib as B  # noqa: E402
import policygen  # noqa: E402

def phases(trace):
    t0 = t_end = None
    nf_fds = set()
    commit_at = commit_dur = close_dur = 0.0
    for t, call, args, ret, dur in B.strace_main_process(trace):
        if call is None:
            t_end = t
        elif call == "execve" and t0 is None:
            t0 = t
        elif call == "socket" and "NETLINK_NETFILTER" in args and ret.isdigit():
            nf_fds.add(int(ret))
        elif call == "sendmsg" and int(args.split(",")[0]) in nf_fds:
            commit_at, commit_dur = t, dur
        elif call == "close" and args.isdigit() and int(args) in nf_fds:
            close_dur = max(close_dur, dur)
    if t0 is None or t_end is None or not commit_at:
        raise B.BenchError(f"cannot make sense of the trace {trace}")
    total = t_end - t0
    before = commit_at - t0
    return {"before commit": before, "commit": commit_dur, "close": close_dur,
            "rest": total - before - commit_dur - close_dur, "total": total}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tlswall", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--sizes", default="10,1000")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--repo", default=None)
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.replace(" ", ",").split(",") if s]
    if not shutil.which("strace"):
        B.log("phases: strace not found")
        return 1
    B.install_term_handler()
    work = B.private_tmpdir("tlswall-bench-")
    try:
        tlswall = os.path.abspath(a.tlswall)
        state = os.path.join(work, "state")
        os.mkdir(state, 0o700)
        ns = B.Netns()
        run = B.Runner(work, env=dict(os.environ, TLSWALL_STATE_DIR=state), timeout=a.timeout, netns=ns).run
        trace = os.path.join(work, "trace")
        strace = ["strace", "-f", "--seccomp-bpf", "-ttt", "-T", "-e", "trace=execve,socket,sendmsg,close,exit_group",
                  "-e", "verbose=none", "-e", "abbrev=all", "-o", trace]
        ns.fresh()
        rows = []
        for n in sizes:
            pols = []
            for variant, name in ((0, f"n{n}-a"), (1, f"n{n}-b")):
                conf = policygen.write_policy(work, name, n, n, variant)
                script = os.path.join(work, name + ".nft")
                run([tlswall, "-f", conf, "generate"], stdout=script, touches_netfilter=False)
                pols.append((conf, script))
            (ca, sa), (cb, sb) = pols
            load = {"tlswall apply": lambda c, s: [tlswall, "-f", c, "apply"], "nft -f": lambda c, s: ["nft", "-f", s]}
            for op in ("first apply", "replace"):
                for tool, argv in load.items():
                    got = []
                    for _ in range(a.runs):
                        ns.fresh()
                        if op == "replace":
                            run(argv(ca, sa))
                            run([tlswall, "-q", "-f", ca, "diff"])
                        run(strace + argv(*((cb, sb) if op == "replace" else (ca, sa))))
                        got.append(phases(trace))
                    ns.release()
                    med = {k: B.median([g[k] for g in got]) for k in got[0]}
                    rows.append([f"{n:,}", op, tool] + [B.fmt_ms(med[k]) for k in
                                                         ("before commit", "commit", "close", "rest", "total")])
                    B.log(f"phases: {n} {op} {tool}: " + ", ".join(f"{k} {B.fmt_ms(v)}" for k, v in med.items()))
        info = B.machine_info(tlswall, a.repo)
        md = "\n".join([
            "# Diagnostic: where the time of one load goes (under strace)",
            "",
            B.machine_md(info),
            "",
            f"Median of {a.runs} runs per row. See bench/diag/phases.py for what each phase covers.",
            "",
            B.md_table(["size", "operation", "tool", "before commit", "commit (sendmsg)",
                        "close (RCU wait)", "rest", "total"], rows, ["r", "l", "l", "r", "r", "r", "r", "r"]),
            "",
        ])
        B.write_result(a.results, "apply-phases.md", md)
        print(md)
    except B.BenchError as e:
        B.log(f"phases: error: {e}")
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
