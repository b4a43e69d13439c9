#!/usr/bin/env python3
"""Measurement "others": ferm and firewalld applying the same block-list policy, next to tlswall.

The policy (lib/policygen.py): drop by default, accept established connections and loopback, drop sources in a
block list of N networks (IPv4 /24s and a quarter IPv6 /48s), accept 443/tcp, 443/udp and 853/tcp. N is 1,000 and
100,000 (those of --sizes). Every run is a first apply in a new, empty network namespace.

  tlswall    `tlswall apply` (the reference)
  ferm       `ferm FILE` with the list written into the file (`@def $BL4 = (...)`, `saddr $BL4 DROP`): ferm makes
             one iptables rule per network and loads them with iptables-restore; it picks iptables-legacy-restore
             when installed (Debian's iptables package installs both), so the rules land in the namespace's x_tables
  firewalld  (slow: when its start takes over 10 s, one start and 3 reloads in it are all that is run at that size)
             the daemon started with a private configuration directory (--system-config; the "drop" zone holds two
             hash:net ipsets as sources, the default zone opens https and dns-over-tls) on a private D-Bus system
             bus (its own dbus-daemon), in a mount namespace with a tmpfs on /run (where it keeps temporary
             files): "start" is from the daemon's start until it reports RUNNING; "reload" is
             `firewall-cmd --reload` (which rebuilds every rule and ipset) on the running daemon

ferm and firewalld come from Debian's packages, unpacked (not installed) by bench/run.sh into --tools (so nothing
of theirs is enabled on this machine); their dependencies are installed. A tool that is missing, or cannot run
here, is reported as such. Writes RESULTS/others.md and .json.
"""

import argparse
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import benchlib as B  # noqa: E402
import policygen  # noqa: E402

SIZES = (1000, 100000)
SYSTEM_PYTHON = "/usr/bin/python3"


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    B.common_args(ap, sizes="1000,100000")
    ap.add_argument("--tools", default=os.environ.get("BENCH_TOOLS", "/var/tmp/tlswall-bench-tools"),
                    help="where run.sh unpacked ferm and firewalld (env BENCH_TOOLS)")
    ap.add_argument("--tool-timeout", type=float, default=float(os.environ.get("BENCH_OTHERS_TIMEOUT", "150")),
                    help="time limit for one ferm or firewalld load (env BENCH_OTHERS_TIMEOUT)")
    a = B.parse_args(ap)
    a.sizes = [n for n in B.parse_sizes(a.sizes) if n in SIZES]
    return a


FERM = """# ferm: the benchmark's block-list policy, {n} networks
@def $BL4 = ({v4});
@def $BL6 = ({v6});
domain ip table filter chain INPUT {{
    policy DROP;
    mod conntrack ctstate (ESTABLISHED RELATED) ACCEPT;
    mod conntrack ctstate INVALID DROP;
    interface lo ACCEPT;
    saddr $BL4 DROP;
    proto icmp ACCEPT;
    proto tcp dport (443 853) ACCEPT;
    proto udp dport 443 ACCEPT;
}}
domain ip6 table filter chain INPUT {{
    policy DROP;
    mod conntrack ctstate (ESTABLISHED RELATED) ACCEPT;
    mod conntrack ctstate INVALID DROP;
    interface lo ACCEPT;
    saddr $BL6 DROP;
    proto icmpv6 ACCEPT;
    proto tcp dport (443 853) ACCEPT;
    proto udp dport 443 ACCEPT;
}}
"""

BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={path}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="root"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"""


class Others(B.Measurement):
    def __init__(self, a, work):
        super().__init__(a, work)
        self.samples = {}            # (size, tool, op) -> [Result]
        self.status = {}             # tool -> text (why it did not run), or None
        self.notes = []
        self.nstate = 0
        t = os.path.abspath(a.tools)
        self.ferm = os.path.join(t, "usr/sbin/ferm")
        self.firewalld = os.path.join(t, "usr/sbin/firewalld")
        self.firewall_cmd = os.path.join(t, "usr/bin/firewall-cmd")
        self.fw_defaults = os.path.join(t, "usr/lib/firewalld")
        self.pythonpath = os.path.join(t, "usr/lib/python3/dist-packages")

    def add(self, key, r):
        self.samples.setdefault(key, []).append(r)

    # ---- availability --------------------------------------------------------------------------------------------

    def check_tools(self):
        if not os.path.exists(self.ferm):
            self.status["ferm"] = f"not available: {self.ferm} is missing (bench/run.sh unpacks Debian's ferm there)"
        elif not shutil.which("iptables-restore"):
            self.status["ferm"] = "not available: iptables-restore is missing (Debian package iptables)"
        else:
            self.status["ferm"] = None
        missing = [p for p in (self.firewalld, self.firewall_cmd, SYSTEM_PYTHON) if not os.path.exists(p)]
        if missing:
            self.status["firewalld"] = f"not available: {', '.join(missing)} missing"
            return
        if not shutil.which("dbus-daemon"):
            self.status["firewalld"] = "not available: dbus-daemon is missing (Debian package dbus)"
            return
        probe = subprocess.run([SYSTEM_PYTHON, "-c", "import dbus, gi, nftables"], capture_output=True, text=True)
        if probe.returncode:
            self.status["firewalld"] = ("not available: its Python modules (python3-dbus, python3-gi, "
                                        f"python3-nftables) do not load: {probe.stderr.strip().splitlines()[-1]}")
            return
        self.status["firewalld"] = None

    # ---- policies ------------------------------------------------------------------------------------------------

    def policies(self, n):
        entries = policygen.cidrs(n, 0)
        v4 = [e for e in entries if ":" not in e]
        v6 = [e for e in entries if ":" in e]
        policygen.write_list(os.path.join(self.work, f"bl{n}.txt"), entries)
        conf = policygen.write_blocklist_policy(self.work, f"bl{n}", f"bl{n}.txt")
        ferm = os.path.join(self.work, f"ferm{n}.conf")
        with open(ferm, "w") as f:
            f.write(FERM.format(n=n, v4=" ".join(v4), v6=" ".join(v6)))
        fw = os.path.join(self.work, f"firewalld{n}")
        for d in ("zones", "ipsets", "services", "icmptypes", "policies", "helpers"):
            os.makedirs(os.path.join(fw, d), exist_ok=True)
        with open(os.path.join(fw, "firewalld.conf"), "w") as f:
            f.write("DefaultZone=public\nFirewallBackend=nftables\nLogDenied=off\nCleanupOnExit=no\n"
                    "IPv6_rpfilter=no\nAllowZoneDrifting=no\n")
        with open(os.path.join(fw, "zones", "public.xml"), "w") as f:
            f.write('<?xml version="1.0" encoding="utf-8"?>\n<zone>\n  <short>Public</short>\n'
                    '  <service name="https"/>\n  <service name="dns-over-tls"/>\n</zone>\n')
        with open(os.path.join(fw, "zones", "drop.xml"), "w") as f:
            f.write('<?xml version="1.0" encoding="utf-8"?>\n<zone target="DROP">\n  <short>Drop</short>\n'
                    '  <source ipset="bl4"/>\n  <source ipset="bl6"/>\n</zone>\n')
        for name, fam, lst in (("bl4", "inet", v4), ("bl6", "inet6", v6)):
            with open(os.path.join(fw, "ipsets", name + ".xml"), "w") as f:
                f.write(f'<?xml version="1.0" encoding="utf-8"?>\n<ipset type="hash:net">\n'
                        f'  <option name="family" value="{fam}"/>\n')
                f.writelines(f"  <entry>{e}</entry>\n" for e in lst)
                f.write("</ipset>\n")
        return {"conf": conf, "ferm": ferm, "firewalld": fw}

    # ---- firewalld plumbing --------------------------------------------------------------------------------------

    def start_bus(self):
        sock = os.path.join(self.work, "system_bus_socket")
        cfg = os.path.join(self.work, "bus.conf")
        with open(cfg, "w") as f:
            f.write(BUS_CONF.format(path=sock))
        self.start(["dbus-daemon", "--nofork", "--nopidfile", f"--config-file={cfg}"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(200):
            if os.path.exists(sock):
                break
            time.sleep(0.02)
        else:
            raise B.BenchError("the private dbus-daemon did not start")
        self.bus = f"unix:path={sock}"
        self.fw_env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus, PYTHONPATH=self.pythonpath,
                           PYTHONDONTWRITEBYTECODE="1")
        self.fw_env.pop("PYTHONHOME", None)

    def fw_state(self):
        """True when firewalld says RUNNING. While it is busy loading, the call waits in its queue and is answered
        as soon as its main loop is free again, which is when the load ends."""
        limit = self.a.tool_timeout
        try:
            r = subprocess.run(["dbus-send", f"--bus={self.bus}", "--print-reply",
                                f"--reply-timeout={int(limit * 1000)}",
                                "--dest=org.fedoraproject.FirewallD1", "/org/fedoraproject/FirewallD1",
                                "org.freedesktop.DBus.Properties.Get", "string:org.fedoraproject.FirewallD1",
                                "string:state"], capture_output=True, text=True, timeout=limit + 5)
        except subprocess.TimeoutExpired:
            return False
        return "RUNNING" in r.stdout

    def firewalld_run(self, n, fw):
        """One run in the current (fresh) namespace: start the daemon, wait for RUNNING, then `firewall-cmd
        --reload` once, or 3 times when the start took over 10 s (then this is the only run at this size: the 3
        rounds of the slow cases are those reloads); returns (start Result, [reload Results])."""
        log = open(os.path.join(self.work, "firewalld.log"), "w")
        self.ns.assert_isolated()
        t0 = time.perf_counter()
        # a mount namespace of its own with a tmpfs on /run: firewalld makes /run/firewalld for its temporary
        # files, which must not appear on this machine (unshare and sh exec, so p is firewalld itself)
        p = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                              'mount -t tmpfs -o mode=0755 tlswall-bench /run && exec "$@"', "sh",
                              SYSTEM_PYTHON, self.firewalld, "--nofork", "--nopid", "--log-target", "console",
                              "--system-config", fw, "--default-config", self.fw_defaults],
                             env=self.fw_env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        try:
            deadline = t0 + self.a.tool_timeout
            while time.perf_counter() < deadline and p.poll() is None:
                if self.fw_state():
                    break
                time.sleep(0.01)
            start = time.perf_counter() - t0
            if p.poll() is not None:
                raise B.BenchError("firewalld exited: " + open(log.name).read()[-1500:])
            if start >= self.a.tool_timeout:
                return B.Result(start, 0, 0, -9, None, True), []
            done = []
            for _ in range(3 if start > 10 else 1):
                r = self.run(SYSTEM_PYTHON, self.firewall_cmd, "--reload", env=self.fw_env, check=False,
                             timeout=self.a.tool_timeout)
                if not r.timed_out:
                    # in case --reload returned before the daemon finished: wait until it says RUNNING again
                    t1 = time.perf_counter()
                    while not self.fw_state() and time.perf_counter() - t1 < self.a.tool_timeout:
                        time.sleep(0.01)
                    r.wall += time.perf_counter() - t1
                done.append(r)
                if r.timed_out or r.status:
                    break
            if n == self.a.sizes[-1] and "firewalld" not in self.checked:
                self.checked.add("firewalld")
                self.check_sets("firewalld", n)
            return B.Result(start, 0, 0, 0), done
        finally:
            p.kill()
            p.wait(timeout=30)
            log.close()

    def check_sets(self, tool, n):
        """The loaded ruleset really holds the list: count the networks listed (once per tool)."""
        if tool == "ferm":
            cmds = [["iptables-legacy-save"], ["ip6tables-legacy-save"]]
            if not shutil.which("iptables-legacy-save"):
                cmds = [["iptables-save"], ["ip6tables-save"]]
        else:
            cmds = [["nft", "list", "ruleset"]]
        out = "".join(subprocess.run(c, capture_output=True, text=True, timeout=600).stdout for c in cmds)
        got = out.count("/24") + out.count("/48")
        self.notes.append(f"{tool} at {n:,}: `{' / '.join(' '.join(c) for c in cmds)}` lists {got:,} networks "
                          f"(of {n:,}) after the load.")

    # ---- measurement ---------------------------------------------------------------------------------------------

    def measure(self):
        a = self.a
        self.check_tools()
        self.checked = set()
        if self.status.get("firewalld") is None:
            self.start_bus()
        for n in a.sizes:
            pol = self.policies(n)
            stopped = set()
            B.log(f"others: size {n:,}: x{a.runs}")
            for i in range(a.runs):
                for tool in ("tlswall", "ferm", "firewalld"):
                    if self.status.get(tool) or tool in stopped:
                        continue
                    # a slow tool (over 10 s a load) gets the 3 rounds of the slow cases, not --runs
                    first = [r.wall for (m, t, _), rs in self.samples.items() if m == n and t == tool for r in rs]
                    if i >= 3 and first and max(first) > 10:
                        continue
                    self.ns.fresh()
                    try:
                        if tool == "tlswall":
                            self.nstate += 1
                            st = os.path.join(self.work, f"state{self.nstate}")
                            os.mkdir(st, 0o700)
                            r = self.run(self.tlswall, "-q", "-f", pol["conf"], "apply",
                                         env=dict(os.environ, TLSWALL_STATE_DIR=st))
                            self.add((n, tool, "apply"), r)
                        elif tool == "ferm":
                            r = self.run("perl", self.ferm, pol["ferm"], check=False, timeout=a.tool_timeout)
                            self.add((n, tool, "apply"), r)
                            if r.status and not r.timed_out:
                                err = open(self.runner.errfile, errors="replace").read().strip()[-500:]
                                self.status["ferm"] = f"failed (exit {r.status}): {err}"
                            if r.timed_out:
                                stopped.add(tool)
                            elif "ferm" not in self.checked and n == a.sizes[-1]:
                                self.checked.add("ferm")
                                self.check_sets("ferm", n)
                        else:
                            start, reloads = self.firewalld_run(n, pol["firewalld"])
                            self.add((n, tool, "start"), start)
                            for r in reloads:
                                self.add((n, tool, "reload"), r)
                            B.log(f"others: {n:,} firewalld: start {start.wall:.2f} s, reload "
                                  + ", ".join(f"{r.wall:.2f} s" for r in reloads))
                            if start.timed_out or any(r.timed_out for r in reloads) or len(reloads) > 1:
                                stopped.add(tool)
                        if tool != "firewalld":
                            B.log(f"others: {n:,} {tool}: {r.wall:.3f} s{' (time limit)' if r.timed_out else ''}")
                    except B.BenchError as e:
                        self.status[tool] = f"failed: {e}"
                    finally:
                        self.ns.release(0.3 + 2.0 * n / 1e6)

    # ---- report --------------------------------------------------------------------------------------------------

    def cell(self, key):
        rs = self.samples.get(key)
        if not rs:
            return None
        if any(r.timed_out for r in rs):
            return (max(r.wall for r in rs), True)
        return (B.median([r.wall for r in rs]), False)

    @staticmethod
    def fmt(c):
        if c is None:
            return "-"
        return ("> " if c[1] else "") + (f"{c[0]:.1f} s" if c[0] >= 10 else B.fmt_ms(c[0]))

    def report(self, info):
        rows = []
        for n in self.a.sizes:
            ref = self.cell((n, "tlswall", "apply"))
            for tool, op, label in (("tlswall", "apply", "tlswall apply"), ("ferm", "apply", "ferm"),
                                    ("firewalld", "start", "firewalld start (until RUNNING)"),
                                    ("firewalld", "reload", "firewall-cmd --reload")):
                c = self.cell((n, tool, op))
                if c is None:
                    rows.append([f"{n:,}", label, self.status.get(tool) or "not measured", "-"])
                    continue
                ratio = "-" if tool == "tlswall" else (f"> {c[0] / ref[0]:.0f}" if c[1] else f"{c[0] / ref[0]:.1f}")
                rows.append([f"{n:,}", label, self.fmt(c), ratio])
        status = [f"- **{t}**: {s or 'ran'}" for t, s in self.status.items()]
        md = "\n".join([
            "# Benchmark: ferm and firewalld",
            "",
            B.machine_md(info),
            "",
            f"First apply of the same block-list policy in a new network namespace, median of {self.a.runs} runs "
            f"(a tool stopped at the {self.a.tool_timeout:g} s limit shows `> X s` and is not run again at that "
            "size). Ratio: the tool's time / tlswall apply's.",
            "",
            B.md_table(["N", "tool", "time", "ratio to tlswall"], rows, ["r", "l", "r", "r"]),
            "",
            *status,
            "",
            *[f"- {x}" for x in self.notes],
            "",
            "How each ran: ferm and firewalld are Debian's packages unpacked by bench/run.sh into a private "
            "directory, not installed, so no service of theirs is enabled or started on this machine. ferm loads "
            "one iptables rule per network through iptables-restore (it prefers iptables-legacy-restore, so x_tables "
            "of the namespace). "
            "firewalld runs as a daemon of its own in the namespace with a private configuration directory, a "
            "private D-Bus system bus, a private /run (tmpfs in a mount namespace of its own) and no PID file; its "
            "start time includes Python's start-up and reading "
            "every zone, service and ipset file; its reload time includes firewall-cmd's start-up.",
            "",
        ])
        return md

    def raw(self, info):
        return {"measurement": "others", "machine": dict(info), "runs": self.a.runs, "sizes": self.a.sizes,
                "status": self.status, "notes": self.notes,
                "samples": [{"size": n, "tool": t, "operation": op, "runs": [r.as_dict() for r in rs]}
                            for (n, t, op), rs in self.samples.items()]}


def main():
    a = parse_args()
    if not a.sizes:
        B.log("others: no size of 1000 or 100000 in --sizes; nothing to do")
        return 0
    return B.run_measurement("others", a, Others)


if __name__ == "__main__":
    sys.exit(main())
