"""Commits over a long history (issue #15): N one-element commits through a
mount on a 1M-element <f8 dataset in versioned-hdf5's 4096-element chunks.
For the first and the last 20 commits: the daemon's CPU (/proc/PID/stat),
its read(2) calls and bytes (/proc/PID/io: syscr, rchar), the time of the
rename, and FILE's growth; beside versioned-hdf5 making the same commits with
its file kept open (h5py 'r+'), in the same run."""
import os
import struct
import time

from benchlib import Section, median, note, peer, run, vh5fs

ELEMENTS = 1 << 20
CHUNK = 4096
WINDOW = 20
TICK = os.sysconf("SC_CLK_TCK")


def proc_counters(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK  # utime + stime
    io = {}
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            k, v = line.split(":")
            io[k] = int(v)
    return {"cpu": cpu, "syscr": io["syscr"], "rchar": io["rchar"]}


def window(samples):
    """Per-commit means over a window of (counters before, after, secs, growth)."""
    n = len(samples)
    return {
        "cpu_ms": sum(b["cpu"] - a["cpu"] for a, b, _, _ in samples) / n * 1000,
        "syscr": sum(b["syscr"] - a["syscr"] for a, b, _, _ in samples) / n,
        "rchar_kib": sum(b["rchar"] - a["rchar"] for a, b, _, _ in samples) / n / 1024,
        "ms": median([secs * 1000 for _, _, secs, _ in samples]),
        "grow_kib": sum(g for _, _, _, g in samples) / n / 1024,
    }


def run_section(ctx):
    n = 500 if ctx.quick else 2000
    h5 = ctx.path("history.h5")
    run([ctx.tool("bench_gen"), "seq", h5, ELEMENTS * 8 >> 20, CHUNK])
    base = os.path.getsize(h5)
    s = Section(f"{n:,} one-element commits on a 1M-element <f8 dataset in {CHUNK}-element chunks",
                "through a mount: pwrite of 8 bytes to staging/big, mv staging versions/NAME; "
                f"per commit, means over the first and the last {WINDOW}")
    samples = []
    with vh5fs(ctx, h5) as m:
        staging = os.path.join(m.mnt, "staging")
        big = os.path.join(staging, "big")
        for i in range(n):
            fd = os.open(big, os.O_WRONLY)
            try:
                os.pwrite(fd, struct.pack("<d", i + 0.5), (i * 7919 % ELEMENTS) * 8)
            finally:
                os.close(fd)
            size0 = os.path.getsize(h5)
            c0 = proc_counters(m.pid)
            t0 = time.perf_counter()
            os.rename(staging, os.path.join(m.mnt, "versions", f"h{i:05d}"))
            secs = time.perf_counter() - t0
            c1 = proc_counters(m.pid)
            if i < WINDOW or i >= n - WINDOW:
                samples.append((c0, c1, secs, os.path.getsize(h5) - size0))
        mem = m.memory()
    first, last = window(samples[:WINDOW]), window(samples[WINDOW:])
    for key, label, unit in (("ms", "commit (rename) time, median", "ms"),
                             ("cpu_ms", "daemon CPU per commit", "ms"),
                             ("syscr", "daemon read calls per commit", ""),
                             ("rchar_kib", "daemon bytes read per commit", "KiB"),
                             ("grow_kib", "FILE growth per commit", "KiB")):
        s.figure(f"{label}: first {WINDOW} / last {WINDOW}", first[key], unit,
                 f"last {WINDOW}: {last[key]:.1f} {unit}")
    s.figure("FILE size after all commits", (os.path.getsize(h5) - base) / 2**20, "MiB",
             f"daemon VmHWM {mem['VmHWM']:.0f} MiB")
    s.ratio("CPU per commit, last / first", last["cpu_ms"], first["cpu_ms"], "<= 1.2", maximum=1.2)
    s.ratio("bytes read per commit, last / first", last["rchar_kib"], first["rchar_kib"], "<= 1.2",
            maximum=1.2)
    os.remove(h5)
    if ctx.vh_path:
        lib = ctx.path("history-lib.h5")
        got = peer(ctx, "vh_one_element_commits", lib, ELEMENTS, CHUNK, n, WINDOW, timeout=3600)
        s.figure(f"versioned-hdf5 growth per commit: first {WINDOW} / last {WINDOW}",
                 got["grow_first_kib"], "KiB", f"last {WINDOW}: {got['grow_last_kib']:.1f} KiB "
                 "(file kept open)")
        s.figure(f"versioned-hdf5 commit time, median: first {WINDOW} / last {WINDOW}",
                 got["ms_first"], "ms", f"last {WINDOW}: {got['ms_last']:.1f} ms")
        s.ratio("vh5fs growth per commit / versioned-hdf5's (last window)", last["grow_kib"],
                got["grow_last_kib"], "<= 1.0", maximum=1.0)
        s.ratio("vh5fs growth per commit / versioned-hdf5's (first window)", first["grow_kib"],
                got["grow_first_kib"], "<= 1.0", maximum=1.0)
        os.remove(lib)
    else:
        note(f"versioned-hdf5 not importable ({ctx.vh_why}): its commits skipped")
    s.print()
    return s
