"""Shared helpers for the tlswall benchmarks (bench/measure/*.py). Standard library only.

Safety: every measurement process calls Netns.fresh() before it touches netfilter; that moves the process
into a new, anonymous network namespace (unshare(CLONE_NEWNET)) and refuses to go on if it still sees the
namespace it started in or the one PID 1 uses. Anonymous namespaces disappear with the last process or file
descriptor that refers to them, so nothing is left behind however the run ends.
"""

import ctypes
import datetime
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _netns_id(pid="self"):
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return None


class BenchError(Exception):
    pass


class Netns:
    """Fresh network namespaces for one measurement process.

    fresh() moves this process (and every command it starts afterwards) into a brand-new namespace. The namespaces
    it leaves are kept alive through an open descriptor until release(), so their teardown (done by the kernel in
    the background) does not run while a later command is being timed; release() drops them between cells and
    waits `settle` seconds."""

    def __init__(self, settle=0.2):
        self.forbidden = {n for n in (_netns_id("self"), _netns_id(1)) if n}
        # hold the namespace we started in, so that its inode number cannot come back as a "fresh" one
        self.start_fd = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        self.held = []
        self.settle = settle
        self.current = None

    def fresh(self):
        if _libc.unshare(CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise BenchError(f"unshare(CLONE_NEWNET): {os.strerror(err)} (needs root / CAP_SYS_ADMIN)")
        cur = _netns_id("self")
        if cur is None or cur in self.forbidden or cur == self.current:
            raise BenchError(f"refusing to run: not in a fresh network namespace ({cur})")
        # (inode numbers of namespaces already gone may come back; the ones we are in or hold cannot)
        self.current = cur
        self.held.append(os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC))
        return cur

    def assert_isolated(self):
        cur = _netns_id("self")
        if self.current is None or cur != self.current:
            raise BenchError("refusing to run a netfilter command outside a namespace this benchmark created")

    def release(self, settle=None):
        for fd in self.held:
            os.close(fd)
        self.held = []
        settle = self.settle if settle is None else settle
        if settle:
            time.sleep(settle)


class Result:
    __slots__ = ("wall", "user", "sys", "status", "rss_kb", "timed_out")

    def __init__(self, wall, user, sys_, status, rss_kb=None, timed_out=False):
        self.wall, self.user, self.sys, self.status = wall, user, sys_, status
        self.rss_kb, self.timed_out = rss_kb, timed_out

    def as_dict(self):
        return {k: getattr(self, k) for k in self.__slots__}


TIME = "/usr/bin/time"


def _descendants(pid):
    """Every live descendant of pid (from /proc/PID/task/*/children), deepest last."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                kids = open(f"/proc/{p}/task/{t}/children").read().split()
            except OSError:
                continue
            for k in kids:
                out.append(int(k))
                todo.append(int(k))
    return out


class Runner:
    """Starts one command, waits for it and returns its wall time (s), user/system CPU (s) and exit status, from
    posix_spawn + wait4 so nothing but the command itself is measured (no shell, no pipes).

    Peak RSS is not wait4's ru_maxrss of a child spawned from Python: that includes Python's own RSS (posix_spawn
    uses vfork, and exec records the high-water mark of the address space it leaves). run(..., rss=True) starts
    the command under /usr/bin/time -f %M instead, a small launcher that forks (its own few MiB are the floor of
    the figure); that adds about a millisecond to the wall time, the same for every tool."""

    def __init__(self, workdir, env=None, timeout=300, netns=None):
        self.errfile = os.path.join(workdir, "stderr.log")
        self.env = dict(os.environ if env is None else env)
        self.timeout = timeout
        self.netns = netns
        self._pid = None
        self._timed_out = False
        signal.signal(signal.SIGALRM, self._on_alarm)

    def _on_alarm(self, *_):
        if self._pid:
            self._timed_out = True
            # the command and whatever it started (a launcher such as /usr/bin/time leaves its child otherwise)
            for p in [self._pid] + _descendants(self._pid):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def run(self, argv, stdout="/dev/null", stdin="/dev/null", stderr=None, check=True, touches_netfilter=True,
            rss=False, timeout=None, env=None):
        """rss=True: run the command under /usr/bin/time -f %M, whose fork gives the command's own peak RSS (KiB)
        in Result.rss_kb. timeout: seconds for this command (default: the Runner's); a command killed by it has
        Result.timed_out set (and raises BenchError when check is true). env: this command's environment."""
        if touches_netfilter and self.netns is not None:
            self.netns.assert_isolated()
        path = shutil.which(argv[0]) if "/" not in argv[0] else argv[0]
        if not path:
            raise BenchError(f"{argv[0]}: not found")
        rssfile = None
        if rss:
            rssfile = os.path.join(os.path.dirname(self.errfile), "rss.out")
            argv = [TIME, "-f", "%M", "-o", rssfile, path] + list(argv[1:])
            path = TIME
        errf = stderr or self.errfile
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, stdin, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
            (os.POSIX_SPAWN_OPEN, 2, errf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
        ]
        self._timed_out = False
        signal.setitimer(signal.ITIMER_REAL, timeout or self.timeout)
        try:
            t0 = time.perf_counter()
            self._pid = os.posix_spawn(path, argv, self.env if env is None else env, file_actions=actions)
            _, status, ru = os.wait4(self._pid, 0)
            wall = time.perf_counter() - t0
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            self._pid = None
        code = os.waitstatus_to_exitcode(status)
        timed_out = self._timed_out
        if check and code != 0:
            msg = open(errf, errors="replace").read().strip()[-2000:] if os.path.exists(errf) else ""
            what = "killed by the time limit" if timed_out else f"exit {code}"
            raise BenchError(f"{' '.join(argv)[:300]}: {what}\n{msg}")
        rss_kb = None
        if rssfile and not timed_out:
            try:
                # time writes "Command exited with non-zero status N" first when the command failed
                rss_kb = int(open(rssfile).read().split()[-1])
            except (OSError, ValueError, IndexError):
                rss_kb = None
        return Result(wall, ru.ru_utime, ru.ru_stime, code, rss_kb, timed_out)


# ---- statistics and formatting ------------------------------------------------------------------------------------

# ---- strace -f -ttt -T output ---------------------------------------------------------------------------------------

STRACE_CALL = re.compile(r"^(?:(\d+)\s+)?(\d+\.\d+) (\w+)\((.*)\)\s*= (-?\d+|\?)[^<]*(?:<(\d+\.\d+)>)?\s*$")
STRACE_EXITED = re.compile(r"^(?:(\d+)\s+)?(\d+\.\d+) \+\+\+ exited")


def strace_main_process(trace):
    """The system calls of the process a trace (strace -f -ttt -T) started, as (time, call, arguments, return value,
    duration), then (its exit time, None, None, None, None). Its children are left out: after a commit that removed
    something, one of tlswall's takes the netfilter socket's last reference and waits for the kernel, and the
    caller does not."""
    pid = None
    for line in open(trace):
        m = STRACE_EXITED.match(line)
        if m and pid is not None and m.group(1) == pid:
            yield float(m.group(2)), None, None, None, None
            return
        m = STRACE_CALL.match(line)
        if not m or (pid is not None and m.group(1) != pid):
            continue
        if pid is None:
            if m.group(3) != "execve":
                continue
            pid = m.group(1)
        yield float(m.group(2)), m.group(3), m.group(4), m.group(5), float(m.group(6) or 0)


def median(xs):
    return statistics.median(xs)


def swapped_pairs(ratios):
    """Ratios of rounds whose two configurations traded places (hosts) every round, combined two by two: the geometric
    mean of rounds 1 and 2, 3 and 4... What one place adds to a ratio, the swapped round takes away."""
    return [math.sqrt(ratios[i] * ratios[i + 1]) for i in range(0, len(ratios) - 1, 2)]


def iqr(xs):
    q = statistics.quantiles(xs, n=4)
    return q[2] - q[0]


def ms(seconds, digits=2):
    return f"{seconds * 1000:.{digits}f}"


def fmt_ms(seconds):
    """Milliseconds with a sensible number of digits for the magnitude."""
    v = seconds * 1000
    if v >= 100:
        return f"{v:.0f} ms"
    if v >= 10:
        return f"{v:.1f} ms"
    return f"{v:.2f} ms"


def md_table(header, rows, align=None):
    align = align or ["l"] * len(header)
    sep = ["---:" if a == "r" else ":---:" if a == "c" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _first_line(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


def machine_info(tlswall=None, repo=None):
    """(label, value) pairs describing where and when the numbers were taken."""
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = [
        ("date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")),
        ("host", f"{os.cpu_count()} CPUs (nproc {_first_line(['nproc'])}), {cpu}"),
        ("kernel", f"{platform.system()} {platform.release()} {platform.machine()}"),
        ("nft", _first_line(["nft", "--version"])),
    ]
    if tlswall:
        info.append(("tlswall", f"{_first_line([tlswall, '--version'])} ({tlswall})"))
    if repo:
        rev = _first_line(["git", "-C", repo, "rev-parse", "--short", "HEAD"])
        dirty = subprocess.run(["git", "-C", repo, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        info.append(("source", f"git {rev}{' + uncommitted changes' if dirty else ''}"))
    info.append(("python", platform.python_version()))
    return info


def machine_md(info):
    return "\n".join(f"- **{k}**: {v}" for k, v in info)


def write_result(results_dir, name, text):
    """Write results_dir/name atomically (name.tmp, then rename)."""
    os.makedirs(results_dir, exist_ok=True)
    path = os.path.join(results_dir, name)
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
    return path


def install_term_handler():
    """SIGTERM/SIGINT (timeout, ^C) unwind through finally: blocks, so temporary files are removed. Later ones are
    ignored (timeout signals the process and then its whole group) so that they cannot cut the clean-up short."""
    def bye(signum, _):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, bye)
    signal.signal(signal.SIGINT, bye)


def private_tmpdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o700)
    return d


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---- what every measurement script does ----------------------------------------------------------------------------

MIN_RUNS = 5


def common_args(ap, sizes="", help=None):
    """Add to the argument parser ap the options bench/run.sh passes to every measurement (--tlswall --results
    --runs --sizes --repo) and --timeout. sizes: the default of --sizes; help: other help texts, by option."""
    texts = {"--tlswall": "the tlswall binary to measure",
             "--results": "directory for NAME.md and NAME.json",
             "--sizes": "comma-separated list sizes",
             "--runs": f"rounds per figure (median), at least {MIN_RUNS}",
             "--timeout": "time limit for any one command, seconds",
             "--repo": "source tree, to record its git revision"}
    texts.update(help or {})
    ap.add_argument("--tlswall", required=True, help=texts["--tlswall"])
    ap.add_argument("--results", required=True, help=texts["--results"])
    ap.add_argument("--sizes", default=sizes, help=texts["--sizes"])
    ap.add_argument("--runs", type=int, default=MIN_RUNS, help=texts["--runs"])
    ap.add_argument("--timeout", type=float, default=300, help=texts["--timeout"])
    ap.add_argument("--repo", default=None, help=texts["--repo"])
    return ap


def parse_args(ap):
    """ap's arguments, with --runs raised to at least MIN_RUNS."""
    a = ap.parse_args()
    a.runs = max(a.runs, MIN_RUNS)
    return a


def parse_sizes(text):
    """--sizes: numbers separated by commas or spaces (run.sh passes BENCH_SIZES as it is)."""
    return [int(s) for s in text.replace(" ", ",").split(",") if s]


class Processes:
    """The processes a measurement starts and leaves running (servers, namespace holders): each is ended by its PID
    in stop_all(), which run_measurement() calls whatever happens."""

    def __init__(self, sh_timeout=60):
        self.procs = []
        self.sh_timeout = sh_timeout

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

    def sh(self, *argv, stdin=None):
        """Run a set-up command (ip, nsenter, sysctl...) to its end; its output, or BenchError with its stderr."""
        r = subprocess.run(list(argv), capture_output=True, text=True, timeout=self.sh_timeout, input=stdin)
        if r.returncode:
            raise BenchError(f"{' '.join(argv)}: {r.stderr.strip()}")
        return r.stdout

    def hold_namespace(self, what="a namespace"):
        """A process (`unshare --net sleep`) holding a network namespace of its own until stop_all(). Returns the
        nsenter prefix that runs a command in that namespace, and the process's PID (for `ip link ... netns PID`).
        what: the namespace, for the error when it does not come up."""
        p = self.start(["unshare", "--net", "--", "sleep", "3600"])
        ns = f"/proc/{p.pid}/ns/net"
        for _ in range(100):       # until unshare has moved it out of this process's namespace
            try:
                if os.readlink(ns) != os.readlink("/proc/self/ns/net"):
                    return ["nsenter", f"--net={ns}", "--"], p.pid
            except OSError:
                pass
            time.sleep(0.02)
        raise BenchError(f"{what} did not come up")


class Measurement(Processes):
    """What a measurement holds: its arguments (a), its private directory (work), the tlswall binary, its network
    namespaces (ns, settling `settle` seconds at each release) and a Runner bound to them; run(*argv) times one
    command. A subclass adds measure(), report(info) and raw(info) for run_measurement()."""

    def __init__(self, a, work, settle=0.5, sh_timeout=60):
        super().__init__(sh_timeout=sh_timeout)
        self.a = a
        self.work = work
        self.tlswall = os.path.abspath(a.tlswall)
        self.ns = Netns(settle=settle)
        self.runner = Runner(work, timeout=a.timeout, netns=self.ns)

    def run(self, *argv, **kw):
        return self.runner.run(list(argv), **kw)


CONNRATE_REPORT = re.compile(r"connections (\d+) errors (\d+) seconds ([\d.]+) rate ([\d.]+)")


def find_connrate(option, tlswall):
    """bench/connrate.c's binary (packet path client and server): the --connrate option, else $BENCH_CONNRATE (run.sh
    builds it), else the one next to tlswall."""
    path = os.path.abspath(option or os.environ.get("BENCH_CONNRATE") or
                           os.path.join(os.path.dirname(tlswall), "connrate"))
    if not os.access(path, os.X_OK):
        raise BenchError(f"{path}: not built (bench/run.sh builds it from bench/connrate.c)")
    return path


def connrate_counts(out):
    """What `connrate connect` printed: (connections, failed connects, connections per second)."""
    m = CONNRATE_REPORT.search(out)
    if not m:
        raise BenchError(f"connrate: unexpected output {out!r}")
    return int(m.group(1)), int(m.group(2)), float(m.group(4))


def run_measurement(name, args, make, after=None):
    """The main() of measurement NAME: bench = make(args, WORK), with WORK a private temporary directory, then
    bench.measure(); writes args.results/NAME.md from bench.report(info) (also printed) and NAME.json from
    bench.raw(info), then calls after(bench) when given. SIGTERM and SIGINT unwind through the clean-up: the
    processes a Processes bench started are ended and WORK is removed. Returns the exit status."""
    install_term_handler()
    work = private_tmpdir("tlswall-bench-")
    bench = None
    try:
        bench = make(args, work)
        bench.measure()
        info = machine_info(bench.tlswall, args.repo)
        md = bench.report(info)
        path = write_result(args.results, f"{name}.md", md)
        write_result(args.results, f"{name}.json", json.dumps(bench.raw(info), indent=1) + "\n")
        print(md)
        log(f"{name}: wrote {path}")
        if after:
            after(bench)
    except (BenchError, subprocess.SubprocessError, OSError) as e:
        log(f"{name}: error: {e}")
        return 1
    finally:
        if isinstance(bench, Processes):
            bench.stop_all()
        shutil.rmtree(work, ignore_errors=True)
    return 0
