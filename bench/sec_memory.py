"""Daemon memory while reading 10 GiB in total (2 GiB with --quick) through one
mount, two ways:

- across versions: a file of ten versions v1..v10 of the 1 GiB dataset, each
  changing one element of one chunk (they share all other chunks, so the file
  is ~1 GiB), read once each: ten distinct datasets, each with its own chunk
  map, as a user walking through history would;
- again and again: versions/v1/big read ten times, the FUSE file's page cache
  dropped with posix_fadvise(DONTNEED) before each pass so that every pass
  reaches the daemon.

VmHWM is the kernel's peak resident set of the daemon; RssAnon (its own heap,
sampled every 20 ms) and RssFile (mapped files) are shown beside it.

Then, bounded by the cache budget rather than by width (issue 15, point 4): a
file of 100 versions of 10,000 datasets of 100 `<f8` each (bench_gen widev),
walked version by version through one mount (`ls -l` of each version, which
opens every dataset for its size, and every 100th dataset read whole), at the
default budget (256 MiB) and at `-o cache_size=32M`: the daemon's VmHWM must
stay under 128 MiB plus the budget. `vh5 verify` of the same file runs under
/usr/bin/time -v: its maximum resident set must stay under 256 MiB.
"""
import os
import re
import subprocess
import threading
import time

from benchlib import Section, bench_read, drop_file_cache, run, vh5fs

CHUNK = 4096  # versioned-hdf5's default 1-D chunk: the most chunks per GiB


class Sampler(threading.Thread):
    """Polls the daemon's RssAnon every 20 ms; VmHWM has no RssAnon twin."""

    def __init__(self, mount):
        super().__init__(daemon=True)
        self.mount, self.peak_anon, self.stop = mount, 0.0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                self.peak_anon = max(self.peak_anon, self.mount.memory()["RssAnon"])
            except (OSError, KeyError):
                pass
            time.sleep(0.02)


def memory_file(ctx, versions):
    def make():
        h5 = ctx.path("memory.h5")
        run([ctx.tool("bench_gen"), "seq", h5, ctx.mib, CHUNK, "-", versions])
        return h5
    return ctx.data("memory.h5", make)


def available_mib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    return 0


def passes_through(ctx, s, h5, label, paths, drop, judged=True):
    bench_read(ctx, "seq", h5)  # FILE in page cache
    # The machine is shared: stop before the daemon takes a third of what is left.
    cap = min(8192, available_mib() / 3)
    kept, after = [], []
    read = 0
    with vh5fs(ctx, h5) as m:
        at_mount = m.memory()
        sampler = Sampler(m)
        sampler.start()
        t0 = time.perf_counter()
        try:
            for p in paths:
                path = os.path.join(m.mnt, p)
                if drop:
                    kept.append(drop_file_cache(ctx, path))
                read += bench_read(ctx, "seq", path)["bytes"]
                after.append(m.memory())
                if after[-1]["VmRSS"] > cap and len(after) < len(paths):
                    s.note(f"{label}: stopped after {read / 2**30:g} GiB: the daemon's VmRSS "
                           f"{after[-1]['VmRSS']:.0f} MiB passed the bench's cap of {cap:.0f} MiB")
                    break
        finally:
            sampler.stop.set()
            sampler.join()
        secs = time.perf_counter() - t0
    gib = read / 2**30
    s.figure(f"{label}: VmHWM after mounting", at_mount["VmHWM"], "MiB")
    first = s.figure(f"{label}: VmHWM after the first {ctx.mib} MiB", after[0]["VmHWM"], "MiB")
    if len(after) >= 4:
        half = len(after) // 2
        s.figure(f"{label}: VmHWM after {half * ctx.mib / 1024:g} GiB", after[half - 1]["VmHWM"], "MiB")
    last = s.figure(f"{label}: VmHWM after {gib:g} GiB", after[-1]["VmHWM"], "MiB",
                    f"RssAnon {after[-1]['RssAnon']:.0f}, RssFile {after[-1]['RssFile']:.0f} at the end")
    s.figure(f"{label}: RssAnon peak (sampled)", sampler.peak_anon, "MiB")
    s.figure(f"{label}: read throughput", read / secs / 2**20, "MiB/s")
    growth = last - first
    if judged:
        s.compare(f"{label}: VmHWM growth, first {ctx.mib} MiB to {gib:g} GiB", growth,
                  "<= 10%", growth <= 0.1 * first, unit="MiB")
    else:
        s.compare(f"{label}: VmHWM growth, first {ctx.mib} MiB to {gib:g} GiB", growth, unit="MiB")
    if any(kept):
        s.note(f"{label}: fadvise left up to {max(kept)} pages resident before a pass")
    return last


WIDE_DATASETS, WIDE_VERSIONS = 10000, 100


def wide_file(ctx):
    def make():
        h5 = ctx.path("wide.h5")
        run([ctx.tool("bench_gen"), "widev", h5, WIDE_DATASETS, WIDE_VERSIONS])
        return h5
    return ctx.data("wide.h5", make)


def walk_wide(mnt):
    """Every version: every dataset stat'ed (opened), every 100th read whole."""
    read = 0
    root = os.path.join(mnt, "versions")
    for name in sorted(os.listdir(root)):
        with os.scandir(os.path.join(root, name)) as it:
            entries = sorted(it, key=lambda e: e.name)
        for i, e in enumerate(entries):
            e.stat()
            if i % 100 == 0:
                with open(e.path, "rb") as f:
                    read += len(f.read())
    return read


def wide_walks(ctx, s, h5):
    for budget_mib, options in ((256, ()), (32, ("cache_size=32M",))):
        label = f"walk of {WIDE_VERSIONS} versions, budget {budget_mib} MiB"
        with vh5fs(ctx, h5, options=options) as m:
            at_mount = m.memory()
            t0 = time.perf_counter()
            walk_wide(m.mnt)
            secs = time.perf_counter() - t0
            end = m.memory()
        s.figure(f"{label}: VmHWM after mounting", at_mount["VmHWM"], "MiB")
        s.figure(f"{label}: time", secs, "s", f"{WIDE_VERSIONS * WIDE_DATASETS / secs:.0f} stats/s")
        peak = s.figure(f"{label}: VmHWM after the walk", end["VmHWM"], "MiB",
                        f"RssAnon {end['RssAnon']:.0f}, RssFile {end['RssFile']:.0f} at the end")
        s.compare(f"{label}: daemon VmHWM", peak, f"< {128 + budget_mib} MiB",
                  peak < 128 + budget_mib, unit="MiB")


def verify_memory(ctx, s, h5):
    p = subprocess.run(["/usr/bin/time", "-v", ctx.tool("vh5"), "verify", h5],
                       capture_output=True, text=True)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    if not m:
        s.note(f"vh5 verify: no maximum resident set size (exit {p.returncode})")
        return
    rss = int(m.group(1)) / 1024
    s.figure(f"vh5 verify of the wide file: exit status", p.returncode, "")
    s.compare("vh5 verify of the wide file: maximum resident set", rss, "< 256 MiB", rss < 256,
              unit="MiB")


def run_section(ctx):
    total_gib = 2 if ctx.quick else 10
    count = total_gib * 1024 // ctx.mib
    h5 = memory_file(ctx, count)
    s = Section(f"daemon memory while reading {total_gib} GiB through one mount",
                f"read(2) of 1 MiB pieces over {ctx.mib} MiB datasets in chunks of {CHUNK}; MiB")
    a = passes_through(ctx, s, h5, f"{count} versions once",
                       [f"versions/v{k}/big" for k in range(1, count + 1)], False, judged=False)
    b = passes_through(ctx, s, h5, f"v1 {count} times", ["versions/v1/big"] * count, True)
    s.compare("bound: the larger VmHWM after all reads", max(a, b), "state it", None, unit="MiB")
    s.note("bounded means the peak stops growing once the first dataset is read (one version "
           "read again and again); distinct versions each keep their chunk map while it fits the "
           "cache budget, so that growth is bounded by the budget, not judged; the bound "
           "to state is the larger VmHWM after all reads")
    ctx.discard("memory.h5")
    h5 = wide_file(ctx)
    wide_walks(ctx, s, h5)
    verify_memory(ctx, s, h5)
    s.print()
    ctx.discard("wide.h5")
    return s
