#!/usr/bin/python3
"""Draws RESULTS/summary.png from scale.json, packet.json and others.json. Needs matplotlib: run it with Debian's
python3 and python3-matplotlib (bench/lib/summary.py does). Usage: plot.py RESULTS_DIR"""

import json
import os
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(results, name):
    try:
        with open(os.path.join(results, name + ".json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def series(sc, op, tool, field="wall"):
    """[(n, median, lower_bound)] over the sizes."""
    out = []
    for x in sc.get("samples", []):
        if x["operation"] != op or x["tool"] != tool:
            continue
        rs = x["runs"]
        if field == "wall" and any(r["timed_out"] for r in rs):
            out.append((x["size"], max(r["wall"] for r in rs), True))
            continue
        vals = [r[field] for r in rs if r.get(field) is not None and not r["timed_out"]]
        if vals:
            out.append((x["size"], statistics.median(vals), False))
    return sorted(out)


def line(ax, pts, label, style, scale=1.0):
    if not pts:
        return
    xs = [p[0] for p in pts]
    ys = [p[1] * scale for p in pts]
    ax.plot(xs, ys, style, label=label, markersize=5)
    lb = [(p[0], p[1] * scale) for p in pts if p[2]]
    if lb:
        ax.plot([p[0] for p in lb], [p[1] for p in lb], "^", color=ax.lines[-1].get_color(), markersize=9)


def main():
    results = sys.argv[1]
    sc = load(results, "scale") or {}
    pk = load(results, "packet")
    ot = load(results, "others")
    fig, axes = plt.subplots(2, 3, figsize=(17, 10))
    (a1, a2, a3), (a4, a5, a6) = axes

    for ax in (a1, a2, a3, a4):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.set_xlabel("networks in the block list (N)")

    line(a1, series(sc, "compile", "tlswall"), "tlswall generate", "o-")
    line(a1, series(sc, "first apply", "tlswall"), "tlswall apply, first", "s-")
    line(a1, series(sc, "first apply", "nft"), "nft -f, first", "s--")
    line(a1, series(sc, "replace", "tlswall"), "tlswall apply, replace", "d-")
    line(a1, series(sc, "replace", "nft"), "nft -f, replace", "d--")
    a1.set_ylabel("seconds (median)")
    a1.set_title("Compile, first apply, replace")
    a1.legend(fontsize=8)

    line(a2, series(sc, "remove one", "tlswall"), "tlswall apply, remove one", "o-")
    line(a2, series(sc, "add one", "tlswall"), "tlswall apply, add one", "s-")
    line(a2, series(sc, "remove one", "nft"), "nft delete element", "o--")
    line(a2, series(sc, "add one", "nft"), "nft add element", "s--")
    a2.axhline(0.05, color="red", linewidth=0.8, linestyle=":", label="target at 1M: 50 ms")
    a2.set_ylabel("seconds (median); ^ = stopped at the time limit")
    a2.set_title("One-element change")
    a2.legend(fontsize=8)

    line(a3, series(sc, "diff, after own apply", "tlswall"), "tlswall diff (record)", "o-")
    line(a3, series(sc, "diff, after foreign commit", "tlswall"), "tlswall diff (dump)", "s-")
    line(a3, series(sc, "list table", "nft"), "nft list table", "s--")
    a3.set_xscale("log")
    a3.set_yscale("log")
    a3.grid(True, which="both", alpha=0.3)
    a3.set_xlabel("networks in the block list (N)")
    a3.set_ylabel("seconds (median); ^ = stopped at the time limit")
    a3.set_title("diff versus nft list table")
    a3.legend(fontsize=8)

    line(a4, series(sc, "compile", "tlswall", "rss_kb"), "tlswall generate", "o-", 1 / 1024)
    line(a4, series(sc, "first apply", "tlswall", "rss_kb"), "tlswall apply", "s-", 1 / 1024)
    line(a4, series(sc, "first apply", "nft", "rss_kb"), "nft -f", "s--", 1 / 1024)
    a4.set_ylabel("peak RSS, MiB (median)")
    a4.set_title("Peak memory (first apply)")
    a4.legend(fontsize=8)

    if pk and pk.get("rates"):
        keys = [k for k in ("none", "tlswall, no list", "require_tls", "tlswall, no list + TLS record",
                            "require_tls + TLS record", "tlswall", "tlswall, one set", "one rule each")
                if pk["rates"].get(k)]
        names = {"none": "no ruleset", "tlswall, no list": "tlswall\nwithout list\n(conntrack)",
                 "require_tls": "same +\nrequire_tls",
                 "tlswall, no list + TLS record": "without list,\nTLS record\nsent",
                 "require_tls + TLS record": "same +\nrequire_tls",
                 "tlswall": "tlswall\n(sharded)", "tlswall, one set": "tlswall\n(one set)",
                 "one rule each": "one rule\nper network"}
        colors = {"none": "grey", "tlswall, no list": "tab:cyan", "require_tls": "tab:green",
                  "tlswall, no list + TLS record": "tab:cyan", "require_tls + TLS record": "tab:green",
                  "tlswall": "tab:blue", "tlswall, one set": "tab:purple", "one rule each": "tab:orange"}
        vals = [statistics.median(pk["rates"][k]) for k in keys]
        bars = a5.bar([names[k] for k in keys], vals, color=[colors[k] for k in keys])
        for b, v in zip(bars, vals):
            a5.text(b.get_x() + b.get_width() / 2, v, f"{v:,.0f}", ha="center", va="bottom", fontsize=7)
        a5.tick_params(axis="x", labelsize=7)
        a5.axhline(0.85 * vals[0], color="red", linewidth=0.8, linestyle=":", label="target: 0.85 x no ruleset")
        a5.set_ylabel("new TCP connections per second (median)")
        a5.set_title(f"Packet path, {pk['networks']:,} networks")
        a5.legend(fontsize=8)
    else:
        a5.set_axis_off()
        a5.text(0.5, 0.5, "packet path: not measured", ha="center")

    if ot and ot.get("samples"):
        groups = {}
        for x in ot["samples"]:
            rs = x["runs"]
            v = statistics.median([r["wall"] for r in rs])
            groups.setdefault(x["size"], {})[f"{x['tool']} {x['operation']}"] = v
        sizes = sorted(groups)
        order = ["tlswall apply", "ferm apply", "firewalld reload", "firewalld start"]
        labels = [k for k in order if any(k in g for g in groups.values())]
        width = 0.8 / max(len(labels), 1)
        for i, lab in enumerate(labels):
            xs = [j + i * width for j in range(len(sizes))]
            a6.bar(xs, [groups[n].get(lab, 0) for n in sizes], width, label=lab)
        a6.set_xticks([j + 0.4 - width / 2 for j in range(len(sizes))])
        a6.set_xticklabels([f"N = {n:,}" for n in sizes])
        a6.set_yscale("log")
        a6.set_ylabel("seconds (median)")
        a6.set_title("First apply: tlswall, ferm, firewalld")
        a6.legend(fontsize=8)
    else:
        a6.set_axis_off()
        a6.text(0.5, 0.5, "ferm / firewalld: not measured", ha="center")

    date = (sc.get("machine") or {}).get("date", "")
    fig.suptitle(f"tlswall benchmarks {date}", fontsize=13)
    fig.tight_layout()
    out = os.path.join(results, "summary.png")
    fig.savefig(out + ".tmp.png", dpi=90)
    os.replace(out + ".tmp.png", out)
    print("Panels: times against N (log-log) for compile / first apply / replace, one-element changes and diff; "
          "peak RSS; new connections per second; ferm and firewalld against tlswall. A ^ marks a figure stopped "
          "at its time limit (the real one is larger).")


if __name__ == "__main__":
    main()
