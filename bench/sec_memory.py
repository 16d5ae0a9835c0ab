"""Daemon memory while reading 10 GiB in total (2 GiB with --quick) through one
mount: the 1 GiB dataset read again and again, its page cache in the kernel
dropped with posix_fadvise(DONTNEED) on the FUSE file before each pass so
that every pass reaches the daemon."""
import os
import threading
import time

from benchlib import Section, bench_read, drop_file_cache, note, vh5fs
from sec_seq import seq_file

CHUNK = 4096


class Sampler(threading.Thread):
    """Polls the daemon's RssAnon, the part of its memory that is its own
    (RssFile is page cache it has mapped), every 20 ms."""

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


def run_section(ctx):
    h5 = seq_file(ctx, CHUNK)
    total_gib = 2 if ctx.quick else 10
    passes = total_gib * 1024 // ctx.mib
    s = Section(f"daemon memory while reading {total_gib} GiB through one mount",
                f"{passes} passes of read(2) in 1 MiB pieces over the {ctx.mib} MiB dataset (chunks of "
                f"{CHUNK}), the FUSE file's page cache dropped (fadvise DONTNEED) before each; MiB")
    bench_read(ctx, "seq", h5)
    kept = []
    with vh5fs(ctx, h5) as m:
        big = os.path.join(m.mnt, "versions/v1/big")
        at_mount = m.memory()
        sampler = Sampler(m)
        sampler.start()
        after = []
        read = 0
        t0 = time.perf_counter()
        try:
            for _ in range(passes):
                kept.append(drop_file_cache(ctx, big))
                read += bench_read(ctx, "seq", big)["bytes"]
                after.append(m.memory())
        finally:
            sampler.stop.set()
            sampler.join()
        secs = time.perf_counter() - t0
    s.figure("VmHWM after mounting", at_mount["VmHWM"], "MiB")
    first = s.figure(f"VmHWM after the first {ctx.mib} MiB", after[0]["VmHWM"], "MiB")
    last = s.figure(f"VmHWM after {read / 2**30:.0f} GiB", after[-1]["VmHWM"], "MiB")
    s.figure(f"VmRSS after {read / 2**30:.0f} GiB", after[-1]["VmRSS"], "MiB",
             f"RssAnon {after[-1]['RssAnon']:.0f}, RssFile {after[-1]['RssFile']:.0f}")
    s.figure("RssAnon peak (sampled every 20 ms)", sampler.peak_anon, "MiB")
    s.figure("read throughput over all passes", read / secs / 2**20, "MiB/s")
    growth = last - first
    s.compare(f"VmHWM growth from {ctx.mib} MiB to {read / 2**30:.0f} GiB read", growth,
              "<= 10% of it", growth <= 0.1 * first, unit="MiB")
    s.compare("bound: VmHWM after all passes", last, "stated", None, unit="MiB")
    if any(kept):
        s.note(f"fadvise left pages resident before some passes ({max(kept)} pages at most): "
               "those passes read partly from the kernel cache")
    s.note("bounded means the peak does not grow with the amount read once the first pass "
           "is done; the bound to state is the VmHWM after all passes")
    s.print()
    return s
