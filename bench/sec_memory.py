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
"""
import os
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
           "read again and again); distinct versions each keep their chunk map while their tree "
           "is among the 64 cached, so that growth is bounded by the cache, not judged; the bound "
           "to state is the larger VmHWM after all reads")
    s.print()
    ctx.discard("memory.h5")
    return s
