#!/usr/bin/env python3
"""bench/results/summary.md: the targets of the "Scale and speed" issue, met or MISSED, from the samples the
measurements wrote (scale.json, packet.json, others.json), growth factors from 1k to 1M, and notes on every missed
target drawn from the same measurements. Then draws summary.png with bench/lib/plot.py under Debian's python3
(python3-matplotlib), when that is there. Run by bench/run.sh after the measurements:

    summary.py RESULTS_DIR
"""

import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

SYSTEM_PYTHON = "/usr/bin/python3"


def load(results, name):
    try:
        with open(os.path.join(results, name + ".json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


class Scale:
    """Medians of scale.json: get(n, op, tool, field) -> (value, lower_bound) or None."""

    def __init__(self, data):
        self.d = data or {}
        self.s = {}
        for x in self.d.get("samples", []):
            self.s[(x["size"], x["operation"], x["tool"])] = x["runs"]
        self.ph = {}
        for x in self.d.get("phases", []):
            self.ph[(x["size"], x["operation"])] = x["runs"]
        self.kc = {(x["size"], x["layout"]): x for x in self.d.get("kernel_commit", [])}

    def kcommit(self, n, layout, what="delete"):
        x = self.kc.get((n, layout))
        return x[what] if x else None

    def get(self, n, op, tool, field="wall"):
        rs = self.s.get((n, op, tool))
        if not rs:
            return None
        if field == "wall" and any(r["timed_out"] for r in rs):
            return (max(r["wall"] for r in rs), True)
        if field == "cpu":
            vals = [r["user"] + r["sys"] for r in rs if not r["timed_out"]]
        else:
            vals = [r[field] for r in rs if r.get(field) is not None and not r["timed_out"]]
        return (statistics.median(vals), False) if vals else None

    def phase(self, n, op, key):
        ph = self.ph.get((n, op))
        return statistics.median([p[key] for p in ph]) if ph else None

    def sizes(self):
        return self.d.get("sizes", [])


def secs(v, lower=False):
    if v is None:
        return "-"
    s = f"{v:.1f} s" if v >= 10 else f"{v:.2f} s" if v >= 1 else B.fmt_ms(v)
    return ("> " if lower else "") + s


def main():
    results = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "results")
    sc_data = load(results, "scale")
    sc = Scale(sc_data)
    pk = load(results, "packet")
    ot = load(results, "others")
    targets, notes, growth = [], [], []
    M, K100, K = 1_000_000, 100_000, 1000

    def target(what, goal, figure, ok, note=None):
        verdict = "—" if ok is None else ("met" if ok else "**MISSED**")
        targets.append([what, goal, figure, verdict])
        if ok is False and note:
            notes.append(f"- **{what}**: {note}")

    # 1. compile and memory
    c = sc.get(M, "compile", "tlswall")
    target("compile 1M networks (`tlswall generate`)", "<= 1.5 s", secs(*c) if c else "not measured",
           None if c is None else c[0] <= 1.5,
           c and f"generate took {secs(c[0])} at 1M.")
    g, ta, nf = (sc.get(M, "compile", "tlswall", "rss_kb"), sc.get(M, "first apply", "tlswall", "rss_kb"),
                 sc.get(M, "first apply", "nft", "rss_kb"))
    if g and nf:
        r = g[0] / nf[0]
        target("peak RSS at 1M: tlswall generate / nft -f", "<= 0.5", f"{r:.2f} ({g[0] / 1024:.0f} / "
               f"{nf[0] / 1024:.0f} MiB)", r <= 0.5, f"generate peaks at {g[0] / 1024:.0f} MiB.")
    else:
        target("peak RSS at 1M: tlswall generate / nft -f", "<= 0.5", "not measured", None)
    if ta and nf:
        r = ta[0] / nf[0]
        target("peak RSS at 1M: tlswall apply / nft -f", "<= 0.26", f"{r:.2f} ({ta[0] / 1024:.0f} / "
               f"{nf[0] / 1024:.0f} MiB)", r <= 0.26,
               f"apply holds the compiled table, its shards, the netlink batch ({ta[0] / 1024:.0f} MiB peak) and "
               "the binary record at once.")
    else:
        target("peak RSS at 1M: tlswall apply / nft -f", "<= 0.26", "not measured", None)

    # 2. first apply at 100k
    t, f = sc.get(K100, "first apply", "tlswall"), sc.get(K100, "first apply", "nft")
    if t and f:
        r = t[0] / f[0]
        tc, fc = sc.get(K100, "first apply", "tlswall", "cpu"), sc.get(K100, "first apply", "nft", "cpu")
        tu, ts = sc.get(K100, "first apply", "tlswall", "user"), sc.get(K100, "first apply", "tlswall", "sys")
        nu, ns_ = sc.get(K100, "first apply", "nft", "user"), sc.get(K100, "first apply", "nft", "sys")
        pt, pn = sc.phase(K100, "first apply tlswall", "commit (sendmsg)"), sc.phase(K100, "first apply nft",
                                                                                  "commit (sendmsg)")
        bt, bn = sc.phase(K100, "first apply tlswall", "before commit"), sc.phase(K100, "first apply nft",
                                                                                "before commit")
        at = sc.phase(K100, "first apply tlswall", "after")
        note = (f"tlswall {secs(t[0])} vs nft -f {secs(f[0])}. ")
        if pt is not None and pn is not None:
            goal = 0.4 * f[0]
            note += (f"0.4 x nft -f is {secs(goal)}. Under strace, the kernel's commit of the batch (sendmsg) takes "
                     f"{secs(pt)} for tlswall and {secs(pn)} for nft: inserting the same {K100:,} interval "
                     "elements costs the kernel the same whichever tool sends them")
            note += (f", and that alone is over {secs(goal)}, so no user-space work can meet the target. "
                     if pt > goal else f", which leaves {secs(goal - pt)} for everything else. ")
            note += (f"tlswall's own work is small next to nft's: before the commit {secs(bt)} (nft {secs(bn)}: "
                     f"parsing the script), after it {secs(at)} (acks, writing its record). ")
        if tu and ts and nu and ns_:
            note += (f"CPU: tlswall user {secs(tu[0])} + sys {secs(ts[0])}, nft user {secs(nu[0])} + sys "
                     f"{secs(ns_[0])}: the kernel's share (sys) is the same for both.")
        target("first apply at 100k: tlswall apply / nft -f", "<= 0.4", f"{r:.2f} ({secs(t[0])} / {secs(f[0])})",
               r <= 0.4, note)
    else:
        target("first apply at 100k: tlswall apply / nft -f", "<= 0.4", "not measured", None)

    # 3. one-element change at 1M
    for op in ("remove one", "add one"):
        t, f = sc.get(M, op, "tlswall"), sc.get(M, op, "nft")
        ph = {k: sc.phase(M, op, k) for k in ("read + parse list file", "compile, lock, open state",
                                              "decode record, diff, guards", "save previous.json",
                                              "kernel commit (sendmsg)", "encode + write applied.json (record)",
                                              "save last-known-good.json", "exit (socket close)", "total")}
        label = f"{op} network in a 1M list: tlswall apply"
        if t is None:
            target(label + " time", "<= 50 ms", "not measured", None)
            target(label + " / nft element", "<= 0.05", "not measured", None)
            continue
        note = f"the whole `tlswall apply` takes {secs(t[0])}. "
        commit = ph["kernel commit (sendmsg)"]
        if ph["total"]:
            note += (f"Under strace (whole run {secs(ph['total'])}), where the time goes: "
                     + "; ".join(f"{k} {secs(v)}" for k, v in ph.items() if k != "total" and v is not None)
                     + ". ")
            note += (f"The kernel's commit of the one-element batch is {secs(commit)}: the list is sharded, and the "
                     "commit walks only the shard it changes. " if commit is not None else "")
            note += (f"The rest is tlswall's own: it reads the list file and hashes it to find it unchanged since "
                     f"it was last parsed, and takes the parsed ranges from its cache "
                     f"({secs(ph['read + parse list file'])}); it reads its record (the shards that differ from a "
                     f"base file, and the base), runs its guards (the lockout guard dumps the TCP sockets) and "
                     f"diffs ({secs(ph['decode record, diff, guards'])}); it writes a "
                     f"record of the shards that changed and syncs it "
                     f"({secs(ph['encode + write applied.json (record)'])}); and each step saving a rollback copy "
                     "syncs the state directory. What grows with the list: hashing 16 MB of list file, 14 MB of "
                     "cache and 14 MB of base (all mapped, not copied; the base's order is checked in the same "
                     "pass), comparing the planned shards with the record's, and decoding the JSON skeleton of "
                     "the record (a set per shard, one chain per run of shard chains).")
            small = sc.get(10, op, "tlswall")
            if small:
                note += (f" What does not: the same apply at 10 networks takes {secs(small[0])} in this run "
                         "(starting the process, the lockout guard's socket dump when the change could cut a "
                         "connection, whose kernel walk covers the host's whole table of established sockets, the "
                         "scan of systemd units for ruleset flushes, and the syncs of the state directory).")
            if op == "remove one":
                note += (" A removal does not wait at exit for the RCU grace period after which nf_tables frees "
                         "what the commit deleted (the release of a netfilter socket waits for it): a short-lived "
                         "child takes the socket's last reference and waits instead.")
        target(label + " time", "<= 50 ms", secs(*t), t[0] <= 0.05, note)
        if f:
            r = t[0] / f[0]
            fig = (f"< {r:.3f}" if f[1] else f"{r:.3f}") + f" ({secs(t[0])} / {secs(*f)})"
            target(label + " / nft element", "<= 0.05", fig, r <= 0.05 or (f[1] and r <= 0.05),
                   f"nft {op.split()[0]} element took {secs(*f)}, tlswall {secs(t[0])}.")
        else:
            target(label + " / nft element", "<= 0.05", "not measured", None)

    # 4. the kernel's one-element commit, sharded against one set, and the dump-path diff
    kt, ku, kt1 = sc.kcommit(M, "tlswall"), sc.kcommit(M, "one set"), sc.kcommit(K, "tlswall")
    if kt is not None:
        flat = kt1 is not None and kt <= max(3 * kt1, 0.002)
        target("kernel commit of a one-element change at 1M (tlswall's layout)", "<= 2 ms, flat from 1k",
               f"{secs(kt)} (1k: {secs(kt1)}; one set of 1M: {secs(ku)})", kt <= 0.002 and flat,
               f"commit1 measured {secs(kt)} at 1M against {secs(kt1)} at 1k.")
    else:
        target("kernel commit of a one-element change at 1M (tlswall's layout)", "<= 2 ms", "not measured", None)
    d = sc.get(M, "diff, after foreign commit", "tlswall")
    target("`tlswall diff` at 1M after a foreign commit (dump path)", "<= 3 s", secs(*d) if d else "not measured",
           None if d is None else (d[0] <= 3 and not d[1]),
           d and f"diff took {secs(*d)} reading the sharded table back from the kernel.")

    # 5. packet path
    if pk and pk.get("rates", {}).get("none"):
        base = statistics.median(pk["rates"]["none"])
        tw = statistics.median(pk["rates"]["tlswall"])
        one = statistics.median(pk["rates"]["one rule each"])
        r = tw / base
        nl = pk["rates"].get("tlswall, no list")
        note = (f"tlswall's ruleset lets {tw:,.0f} connections/s through against {base:,.0f} without a ruleset "
                f"(one rule per network: {one:,.0f}). ")
        if nl:
            nlm = statistics.median(nl)
            note += (f"The same ruleset without the block list makes {nlm:,.0f} connections/s "
                     f"({nlm / base:.2f} x no ruleset): that part of the cost is connection tracking (`ct state` "
                     "in the first rule; without a ruleset there is no conntrack at all) and the rest of the input "
                     f"chain; the two interval-set lookups of {pk['networks']:,} networks cost the remaining "
                     f"{nlm / base - r:.2f}. ")
        spread = [min(pk["rates"]["none"]) / base, max(pk["rates"]["none"]) / base]
        note += (f"Runs without a ruleset ranged over {spread[0]:.2f}-{spread[1]:.2f} x their median, so a ratio "
                 "this close to 0.85 can fall on either side from one run of the suite to the next.")
        target(f"new TCP connections/s at {pk['networks']:,} networks: tlswall / no ruleset", ">= 0.85",
               f"{r:.2f} ({tw:,.0f} / {base:,.0f} per s)", r >= 0.85, note)
        os_ = pk["rates"].get("tlswall, one set")
        if os_:
            o = statistics.median(os_)
            sp = B.swapped_pairs(pk.get("shard_interleaved") or [])
            # the interleaved figure, when measured, is the verdict's: see packet.md
            judged = statistics.median(sp) if sp else tw / o
            target(f"new TCP connections/s at {pk['networks']:,} networks: sharded / one set", ">= 0.97",
                   f"{tw / o:.2f} ({tw:,.0f} / {o:,.0f} per s)" + (f"; interleaved, {judged:.3f}" if sp else ""),
                   judged >= 0.97,
                   f"the sharded ruleset (a dispatch lookup, a jump, a shard lookup) let {tw:,.0f} connections/s "
                   f"through, the same ruleset with each list in one set {o:,.0f}; runs of one configuration "
                   f"ranged over {min(os_) / o:.2f}-{max(os_) / o:.2f} x their median"
                   + (f"; loaded side by side in two host namespaces, connections alternating between them, the "
                      f"ratio's median was {judged:.3f} ({min(sp):.3f}-{max(sp):.3f})." if sp else "."))
        targets.append([f"(for comparison) one rule per network / no ruleset", "-",
                        f"{one / base:.3f} ({one:,.0f} per s)", "—"])
    else:
        target("new TCP connections/s: tlswall / no ruleset", ">= 0.85", "not measured", None)

    # 5b. what require_tls costs: the same policy with it on and off, in the same run
    rates = (pk or {}).get("rates", {})
    for suffix, what in (("", "connect, close"), (" + TLS record", "connect, one TLS record, close")):
        label = f"new TCP connections/s, require_tls on / off ({what})"
        on, off = rates.get("require_tls" + suffix), rates.get("tlswall, no list" + suffix)
        if not on or not off:
            target(label, ">= 0.97", "not measured", None)
            continue
        r = statistics.median(on) / statistics.median(off)
        rounds = sorted(x / y for x, y in zip(on, off))
        inter = B.swapped_pairs((pk.get("require_tls_interleaved") or {}).get("tls" if suffix else "connect") or [])
        shown = f"; interleaved, {statistics.median(inter):.3f}" if inter else ""
        judged = statistics.median(inter) if inter else r
        note = (f"{statistics.median(on):,.0f} connections/s with require_tls, {statistics.median(off):,.0f} "
                f"without, in runs one after the other, whose ratio ranged over {rounds[0]:.3f}-{rounds[-1]:.3f}"
                + (f"; with both loaded side by side and connections alternating between them (the verdict's "
                   f"figure), {judged:.3f} ({min(inter):.3f}-{max(inter):.3f}). A new connection costs one map "
                   "lookup (protocol and port) and its port's check chain; its first data segment a few compares in "
                   "the pending chain; every packet one compare of the connection mark: see packet.md."
                   if inter else "."))
        target(label, ">= 0.97", f"{r:.3f} ({statistics.median(on):,.0f} / {statistics.median(off):,.0f} per s"
               f"{shown})", judged >= 0.97, note)

    # 5c. the forward path of published ports: tlswall's forward chain against none, in the same run
    fw = load(results, "forward")
    label = "new TCP connections/s to a published port: forward chain / none"
    if fw and fw.get("rates", {}).get("tlswall"):
        on, off = fw["rates"]["tlswall"], fw["rates"]["no forward chain"]
        r = statistics.median(on) / statistics.median(off)
        rounds = sorted(x / y for x, y in zip(on, off))
        target(label, f">= {fw['target']}", f"{r:.3f} ({statistics.median(on):,.0f} / {statistics.median(off):,.0f} per s)",
               r >= fw["target"],
               f"Connections DNATed to a container namespace, with tlswall's prerouting mark and forward chain against "
               f"the same policy with published_ports = false; rounds ranged over {rounds[0]:.3f}-{rounds[-1]:.3f}: "
               "see forward.md.")
    else:
        target(label, ">= 0.95", "not measured", None)

    # 6. growth factors
    ops = [("compile", "tlswall", "tlswall generate"), ("first apply", "tlswall", "tlswall apply (first)"),
           ("first apply", "nft", "nft -f (first)"), ("replace", "tlswall", "tlswall apply (replace)"),
           ("replace", "nft", "nft -f (replace)"), ("remove one", "tlswall", "tlswall apply (remove one)"),
           ("remove one", "nft", "nft delete element"), ("add one", "tlswall", "tlswall apply (add one)"),
           ("add one", "nft", "nft add element"),
           ("diff, after own apply", "tlswall", "tlswall diff (record)"),
           ("diff, after foreign commit", "tlswall", "tlswall diff (dump)"),
           ("list table", "nft", "nft list table")]
    worse = []
    for op, tool, label in ops:
        a, b = sc.get(K, op, tool), sc.get(M, op, tool)
        if not a or not b:
            continue
        gf = b[0] / a[0]
        flag = "worse than linear" if gf > 1000 else "linear or better"
        if b[1]:
            flag = "worse than linear" if gf > 1000 else "at least this (timed out at 1M)"
        if gf > 1000:
            worse.append(label)
        growth.append([label, secs(a[0]), secs(*b), ("> " if b[1] else "") + f"{gf:,.0f} x", flag])
    for op, tool, label in (("compile", "tlswall", "tlswall generate peak RSS"),
                            ("first apply", "tlswall", "tlswall apply peak RSS"),
                            ("first apply", "nft", "nft -f peak RSS")):
        a, b = sc.get(K, op, tool, "rss_kb"), sc.get(M, op, tool, "rss_kb")
        if a and b:
            growth.append([label, f"{a[0] / 1024:.1f} MiB", f"{b[0] / 1024:.1f} MiB", f"{b[0] / a[0]:,.0f} x",
                           "linear or better" if b[0] / a[0] <= 1000 else "worse than linear"])
    for op, label in (("remove one", "tlswall apply (remove one): kernel commit (sendmsg, strace)"),):
        a, b = sc.phase(K, op, "kernel commit (sendmsg)"), sc.phase(M, op, "kernel commit (sendmsg)")
        if a and b:
            growth.append([label, secs(a), secs(b), f"{b / a:,.0f} x",
                           "flat" if b / a <= 3 else "linear or better" if b / a <= 1000 else "worse than linear"])
    for layout, what, label in (("tlswall", "delete", "kernel commit of one deletion, tlswall's layout (commit1)"),
                                ("tlswall", "add", "kernel commit of one addition, tlswall's layout (commit1)"),
                                ("one set", "delete", "kernel commit of one deletion, one set (commit1)"),
                                ("one set", "add", "kernel commit of one addition, one set (commit1)")):
        a, b = sc.kcommit(K, layout, what), sc.kcommit(M, layout, what)
        if a and b:
            growth.append([label, secs(a), secs(b), f"{b / a:,.1f} x",
                           "flat" if b / a <= 3 else "grows with the set"])

    # others
    other_rows = []
    if ot:
        oth = {}
        for x in ot.get("samples", []):
            rs = x["runs"]
            v = (max(r["wall"] for r in rs), True) if any(r["timed_out"] for r in rs) else \
                (statistics.median(r["wall"] for r in rs), False)
            oth[(x["size"], x["tool"], x["operation"])] = v
        for n in ot.get("sizes", []):
            ref = oth.get((n, "tlswall", "apply"))
            for key, label in (((n, "ferm", "apply"), "ferm"), ((n, "firewalld", "start"), "firewalld start"),
                               ((n, "firewalld", "reload"), "firewall-cmd --reload")):
                v = oth.get(key)
                st = ot.get("status", {}).get(key[1])
                other_rows.append([f"{n:,}", label, secs(*v) if v else (st or "not measured"),
                                   secs(ref[0]) if ref else "-",
                                   f"{v[0] / ref[0]:.1f}" if v and ref else "-"])

    info = sc_data.get("machine") if sc_data else None
    md = ["# tlswall benchmarks: summary", ""]
    if info:
        md += [B.machine_md(info.items()), ""]
    md += [
        "Targets of the \"Scale and speed\" issue, from this run's measurements (tables: scale.md, packet.md, "
        "others.md, apply.md; every figure is a median, see each file for the number of runs).",
        "",
        B.md_table(["target", "goal", "measured", "verdict"], targets, ["l", "l", "r", "c"]),
        "",
    ]
    if notes:
        md += ["## Why the missed targets were missed", "", *notes, ""]
    if growth:
        md += ["## Growth from 1k to 1M networks", "",
               "Cost at 1M divided by cost at 1k; N grows 1000 x, so linear growth is 1000 x. Small costs at 1k are "
               "mostly fixed overhead (process start, the netlink socket's RCU wait), which makes factors look "
               "better than the per-element cost really grows.", "",
               B.md_table(["operation", "at 1k", "at 1M", "growth", ""], growth, ["l", "r", "r", "r", "l"]), ""]
        if worse:
            md += [f"Worse than linear: {', '.join(worse)}.", ""]
    if other_rows:
        md += ["## ferm and firewalld (first apply of the same policy)", "",
               B.md_table(["N", "tool", "time", "tlswall apply", "ratio"], other_rows, ["r", "l", "r", "r", "r"]), ""]
    plot_note = plot(results)
    md += ["## Plot", "", plot_note, ""]
    path = B.write_result(results, "summary.md", "\n".join(md))
    print("\n".join(md))
    B.log(f"summary: wrote {path}")
    return 0


def plot(results):
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plot.py")
    if not os.path.exists(SYSTEM_PYTHON):
        return f"No plot: {SYSTEM_PYTHON} (Debian's python3, for python3-matplotlib) is not installed."
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import matplotlib"], capture_output=True, text=True)
    if probe.returncode:
        return ("No plot: python3-matplotlib is not installed (bench/run.sh installs it when run as root; "
                "`apt-get install python3-matplotlib`).")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["MPLBACKEND"] = "Agg"
    env["MPLCONFIGDIR"] = os.path.join(results, ".mpl")
    r = subprocess.run([SYSTEM_PYTHON, script, results], capture_output=True, text=True, env=env, timeout=120)
    subprocess.run(["rm", "-rf", env["MPLCONFIGDIR"]])
    if r.returncode:
        return f"No plot: plot.py failed: {r.stderr.strip()[-500:]}"
    return "![times, memory and connection rates](summary.png)\n\n" + r.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
