"""Random 4 KiB reads of the 1-D dataset, and row and column slabs of a 2-D
dataset, through vh5fs on a fresh mount against the plain file and h5py."""
import os
import random

from benchlib import Section, bench_read, drop_file_cache, median, peer, run, vh5fs
from sec_seq import CHUNKINGS, plain_file, seq_file

SLAB = 64      # rows or columns per slab
SLABS = 5      # slabs of each kind, median time


def grid_file(ctx):
    """8192 x 8192 <f4 (256 MiB; 4096 x 4096 with --quick) in chunks of 64 x 64:
    4096 elements, like versioned-hdf5's 1-D default (the library has no 2-D
    default: it requires chunks for multi-dimensional data)."""
    n = 4096 if ctx.quick else 8192

    def make():
        h5 = ctx.path("grid.h5")
        run([ctx.tool("bench_gen"), "grid", h5, n, n, 64, 64, ctx.path("grid.bin")])
        return h5
    return ctx.data("grid.h5", make), ctx.path("grid.bin"), n


def rate(results):
    return median(x["reads"] / x["seconds"] for x in results)


def random_reads(ctx):
    reps = ctx.repeats
    budget = 1 if ctx.quick else 4
    plain = plain_file(ctx)
    few = (ctx.mib << 20) // 4096 // 16  # reads touching ~6% of the pages: few repeats
    s = Section(f"random 4 KiB reads of the {ctx.mib} MiB 1-D dataset",
                f"pread(2) at random 4 KiB-aligned offsets for {budget} s of reading; \"cold\": the "
                f"file's page cache dropped (fadvise, not timed) before every read, so each read "
                f"reaches vh5fs (or the disk); FILE in page cache; median of {reps}; reads/s")
    bench_read(ctx, "seq", plain)
    warm = [bench_read(ctx, "rand", plain, 4096, 10**9, budget, 100 + r) for r in range(reps)]
    cold = [bench_read(ctx, "rand", plain, 4096, 10**9, budget, 200 + r, 1) for r in range(reps)]
    pw = s.figure("plain file, page cache warm", rate(warm), "reads/s")
    pc = s.figure("plain file, cold (from disk)", rate(cold), "reads/s")
    for chunk in CHUNKINGS:
        h5 = seq_file(ctx, chunk)
        bench_read(ctx, "seq", h5)
        first, kept, ttfb = [], [], []
        for r in range(reps):
            with vh5fs(ctx, h5) as m:
                big = os.path.join(m.mnt, "versions/v1/big")
                ttfb.append(bench_read(ctx, "slab", big, 0, 0, 4096, 1)["seconds"])
                first.append(bench_read(ctx, "rand", big, 4096, 10**9, budget, 300 + r, 1))
            with vh5fs(ctx, h5) as m:
                big = os.path.join(m.mnt, "versions/v1/big")
                bench_read(ctx, "slab", big, 0, 0, 4096, 1)
                kept.append(bench_read(ctx, "rand", big, 4096, few, 60, 500 + r))
        h = [peer(ctx, "h5py_random", h5, "v1", "big", 512, budget, 400 + r) for r in range(reps)]
        s.figure(f"vh5fs, chunks of {chunk}: first 4 KiB read after mounting", median(ttfb) * 1e3, "ms",
                 "open + pread: loads the dataset")
        v = s.figure(f"vh5fs, chunks of {chunk}: cold random reads", rate(first), "reads/s")
        s.figure(f"vh5fs, chunks of {chunk}: first {few:,} reads, cache kept", rate(kept), "reads/s",
                 "fresh mount, no drops: readahead and cache hits as a user gets them")
        hv = s.figure(f"h5py virtual dataset, chunks of {chunk}: 512-element slices", rate(h), "reads/s")
        s.ratio(f"vh5fs / plain file warm, chunks of {chunk}", v, pw)
        s.ratio(f"vh5fs / plain file cold, chunks of {chunk}", v, pc)
        s.ratio(f"vh5fs / h5py, chunks of {chunk}", v, hv)
    s.note("the issue sets no target for random reads")
    s.print()
    return s


def slabs(ctx):
    h5, raw, n = grid_file(ctx)
    rowbytes = n * 4
    rng = random.Random(7)
    spec = [("row", rng.randrange(0, n - SLAB), SLAB) for _ in range(SLABS)]
    spec += [("col", rng.randrange(0, n - SLAB), SLAB) for _ in range(SLABS)]
    spec_text = ",".join(f"{k}:{a}:{c}" for k, a, c in spec)
    slab_mib = SLAB * rowbytes / 2**20
    s = Section(f"row and column slabs of a {n} x {n} <f4 dataset in 64 x 64 chunks",
                f"{SLAB} rows or {SLAB} columns ({slab_mib:.0f} MiB of elements) at {SLABS} random "
                "places each; median ms per slab; vh5fs: fresh mount, its file's page cache "
                "dropped (fadvise) before each slab; plain file and FILE in page cache")

    def preads(path, drop):
        out = {"row": [], "col": []}
        for kind, start, count in spec:
            if drop:
                drop_file_cache(ctx, path)
            if kind == "row":
                r = bench_read(ctx, "slab", path, start * rowbytes, 0, count * rowbytes, 1)
            else:
                r = bench_read(ctx, "slab", path, start * 4, rowbytes, count * 4, n)
            out[kind].append(r["seconds"])
        return {k: median(v) for k, v in out.items()}

    def memmap(path, drop):
        # numpy.memmap in a child; per-slab cache drops are not possible there,
        # so each slab is read in a process of its own.
        out = {"row": [], "col": []}
        for kind, start, count in spec:
            if drop:
                drop_file_cache(ctx, path)
            r = peer(ctx, "numpy_slabs", path, n, n, "<f4", f"{kind}:{start}:{count}")
            out[kind].append(r[kind])
        return {k: median(v) for k, v in out.items()}

    bench_read(ctx, "seq", raw)
    bench_read(ctx, "seq", h5)
    with vh5fs(ctx, h5) as m:
        vp = preads(os.path.join(m.mnt, "versions/v1/grid"), True)
    with vh5fs(ctx, h5) as m:
        vm = memmap(os.path.join(m.mnt, "versions/v1/grid"), True)
    pp = preads(raw, False)
    pm = memmap(raw, False)
    hp = peer(ctx, "h5py_slabs", h5, "v1", "grid", spec_text)
    for kind, label in (("row", "row slab"), ("col", "column slab")):
        how = "one pread" if kind == "row" else "one pread per row"
        v = s.figure(f"{label}: vh5fs, {how}", vp[kind] * 1e3, "ms")
        s.figure(f"{label}: vh5fs, numpy.memmap", vm[kind] * 1e3, "ms")
        p = s.figure(f"{label}: plain file, {how}", pp[kind] * 1e3, "ms")
        pn = s.figure(f"{label}: plain file, numpy.memmap", pm[kind] * 1e3, "ms")
        h = s.figure(f"{label}: h5py virtual dataset", hp[kind] * 1e3, "ms")
        # Ratios of speed: baseline time / vh5fs time.
        s.ratio(f"{label}: vh5fs pread speed / plain pread", p, v)
        s.ratio(f"{label}: vh5fs memmap speed / plain memmap", pn, vm[kind] * 1e3)
        s.ratio(f"{label}: vh5fs pread speed / h5py", h, v)
    s.note("the issue sets no target for slabs; a column slab is strided in the file view, "
           "so every row's page is read")
    s.print()
    return s


def run_section(ctx):
    out = [random_reads(ctx), slabs(ctx)]
    ctx.discard("grid.h5", "grid.bin")
    return out
