"""Helpers shared by the bench sections: the tools, mounts that are always
unmounted, the daemon's memory, timing, and the tables each section prints.

Nothing here is a test assertion: a figure that misses its target is printed
as a miss, never raised.
"""
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time


class Context:
    """What every section gets: where the tools are, where to put data, sizes."""

    def __init__(self, build, work, quick, repeats, vh_path):
        self.build = build
        self.work = work
        self.quick = quick
        self.repeats = repeats
        self.vh_path = vh_path  # PYTHONPATH for versioned-hdf5, or None
        self.mib = 256 if quick else 1024
        self._files = {}

    def tool(self, name):
        sub = {"vh5fs": "fs", "vh5": "tools"}.get(name, "bench")
        return os.path.join(self.build, sub, name)

    def path(self, name):
        return os.path.join(self.work, name)

    def data(self, key, make):
        """Makes a data file once per run (`make()` returns its path)."""
        if key not in self._files:
            t0 = time.perf_counter()
            self._files[key] = make()
            note(f"made {key} in {time.perf_counter() - t0:.1f} s")
        return self._files[key]

    def discard(self, *names):
        """Removes data files no later section needs, so disk use stays bounded."""
        for name in names:
            self._files.pop(name, None)
            try:
                os.remove(self.path(name))
            except FileNotFoundError:
                pass


def note(msg):
    print(f"  [{msg}]", file=sys.stderr, flush=True)


def run(args, **kw):
    """Runs a command, raising with its stderr when it fails."""
    args = [str(a) for a in args]
    p = subprocess.run(args, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise RuntimeError(f"{shlex.join(map(str, args))} failed ({p.returncode}): {p.stderr.strip()}")
    return p.stdout


def parse_kv(line):
    return {k: float(v) for k, v in (item.split("=") for item in line.split())}


def bench_read(ctx, *args):
    return parse_kv(run([ctx.tool("bench_read"), *map(str, args)]))


def drop_file_cache(ctx, path):
    """Drops `path`'s pages from the page cache (posix_fadvise DONTNEED);
    returns the pages still resident (0 when it worked)."""
    return int(bench_read(ctx, "drop", path)["resident_after"])


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def median(values):
    return statistics.median(values)


def mounted(mnt):
    with open("/proc/mounts") as f:
        return any(line.split()[1] == mnt for line in f)


def mounts_under(root):
    with open("/proc/mounts") as f:
        return [line.split()[1] for line in f if line.split()[1].startswith(root.rstrip("/") + "/")]


class Mount:
    """A daemon serving a mount point in the foreground, unmounted on exit.

    `ready` is the path whose stat succeeding means the mount is usable;
    `mount_seconds` is from launch until then.
    """

    def __init__(self, args, mnt, ready):
        self.args, self.mnt, self.ready = args, mnt, ready
        self.proc = None
        self.mount_seconds = None

    def __enter__(self):
        os.makedirs(self.mnt, exist_ok=True)
        if mounted(self.mnt):
            raise RuntimeError(f"{self.mnt} is already mounted")
        t0 = time.perf_counter()
        # A session of its own: Ctrl-C reaches the bench, which unmounts in order.
        # The daemon's messages go to a log beside the mount point.
        self.log_path = self.mnt.rstrip("/") + ".log"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.args, start_new_session=True, stdout=log, stderr=log)
        try:
            while True:
                try:
                    os.stat(self.ready)
                    break
                except OSError:
                    pass
                if self.proc.poll() is not None:
                    with open(self.log_path, errors="replace") as log:
                        tail = log.read()[-2000:].strip()
                    raise RuntimeError(f"{shlex.join(self.args)} exited with {self.proc.returncode}: {tail}")
                if time.perf_counter() - t0 > 120:
                    raise RuntimeError(f"{self.mnt} did not become usable in 120 s")
                time.sleep(0.0005)
            self.mount_seconds = time.perf_counter() - t0
        except BaseException:
            self.close()
            raise
        return self

    @property
    def pid(self):
        return self.proc.pid

    def readahead_kb(self):
        """The mount's read_ahead_kb (from its device in mountinfo), or None."""
        with open("/proc/self/mountinfo") as f:
            dev = [line.split()[2] for line in f if line.split()[4] == self.mnt]
        try:
            with open(f"/sys/class/bdi/{dev[-1]}/read_ahead_kb") as f:
                return int(f.read())
        except (OSError, IndexError, ValueError):
            return None

    def memory(self):
        """The daemon's VmHWM, VmRSS, RssAnon, RssFile in MiB."""
        return proc_memory(self.pid)

    def close(self):
        if self.proc is None:
            return
        if mounted(self.mnt):
            subprocess.run(["fusermount3", "-u", self.mnt], capture_output=True)
            if mounted(self.mnt):  # busy: detach it now, the daemon ends when idle
                subprocess.run(["fusermount3", "-uz", self.mnt], capture_output=True)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __exit__(self, *exc):
        self.close()
        return False


def vh5fs(ctx, h5, mnt=None, options=()):
    """vh5fs on `h5` (read-write, vh5fs's default), usable once versions/ stats."""
    mnt = mnt or ctx.path("mnt")
    args = [ctx.tool("vh5fs"), h5, mnt, "-f"]
    for o in options:
        args += ["-o", o]
    return Mount(args, mnt, os.path.join(mnt, "versions"))


def fuse_ceiling(ctx, size, mnt=None, entries=0):
    """bench/fuse_ceiling: a do-nothing FUSE filesystem; with `entries`, its
    directory "many" holds that many empty directories."""
    mnt = mnt or ctx.path("mnt")
    extra = [str(entries)] if entries else []
    return Mount([ctx.tool("fuse_ceiling"), mnt, str(size), *extra], mnt, os.path.join(mnt, "data"))


def proc_cpu_seconds(pid):
    """User plus system CPU time the process has used, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_memory(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                out[key] = int(value.split()[0]) / 1024
    return out


# ---- tables ----------------------------------------------------------------

def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    if unit == "s":
        return f"{v:.3f}" if v < 10 else f"{v:.1f}"
    if unit in ("ms",):
        return f"{v:.2f}" if v < 100 else f"{v:.0f}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


class Section:
    """One printed table: figures, then comparisons with targets."""

    def __init__(self, title, detail=""):
        self.title, self.detail = title, detail
        self.rows = []         # (name, value, unit, note)
        self.comparisons = []  # (name, value, target text, ok or None)
        self.notes = []

    def figure(self, name, value, unit, note=""):
        self.rows.append((name, value, unit, note))
        return value

    def compare(self, name, value, target=None, ok=None, unit="x"):
        """`value` with its target; ok=None when there is no target."""
        self.comparisons.append((name, value, unit, target or "", ok))

    def ratio(self, name, num, den, target=None, minimum=None, maximum=None):
        """num/den with an optional target: >= minimum or <= maximum."""
        value = num / den if num is not None and den else None
        ok = None
        if value is not None and minimum is not None:
            ok = value >= minimum
        if value is not None and maximum is not None:
            ok = value <= maximum
        self.compare(name, value, target, ok)
        return value

    def note(self, text):
        self.notes.append(text)

    def print(self):
        out = sys.stdout
        print(f"\n== {self.title} ==", file=out)
        if self.detail:
            print(f"   {self.detail}", file=out)
        if self.rows:
            w = max(len(r[0]) for r in self.rows)
            for name, value, unit, note in self.rows:
                tail = f"  ({note})" if note else ""
                print(f"   {name:<{w}}  {fmt(value, unit):>10} {unit}{tail}", file=out)
        if self.comparisons:
            w = max(len(c[0]) for c in self.comparisons)
            print(f"   {'comparison':<{w}}  {'value':>10}   {'target':<12} result", file=out)
            for name, value, unit, target, ok in self.comparisons:
                mark = "" if ok is None else ("pass" if ok else "MISS")
                if value is None and target:
                    mark = "not measured"
                v = fmt(value, unit) + (unit if unit == "x" and value is not None else "")
                if unit != "x" and value is not None:
                    v = f"{fmt(value, unit)} {unit}"
                print(f"   {name:<{w}}  {v:>10}   {target:<12} {mark}", file=out)
        for n in self.notes:
            print(f"   note: {n}", file=out)
        out.flush()


def peer(ctx, mode, *args, timeout=600):
    """bench/py_peers.py MODE ARGS in a child python; its key=value line."""
    env = dict(os.environ)
    if ctx.vh_path:
        env["PYTHONPATH"] = ctx.vh_path
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "py_peers.py")
    return parse_kv(run(["/usr/bin/python3", script, mode, *map(str, args)], env=env, timeout=timeout))
