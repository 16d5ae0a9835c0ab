"""Sequential read of a 1 GiB 1-D dataset (256 MiB with --quick): read(2) of
1 MiB pieces, vh5fs against the FUSE ceiling, the plain file and h5py."""
import os

from benchlib import (Section, bench_read, drop_file_cache, fuse_ceiling, median, note, peer,
                      run, vh5fs)

# versioned-hdf5's default chunk for 1-D data (backend.DEFAULT_CHUNK_SIZE), and a larger one.
CHUNKINGS = (4096, 65536)


def seq_file(ctx, chunk):
    """The 1-D <f8 file with chunks of `chunk` elements; the same bytes (seed 1)
    whatever the chunking, so plain.bin serves every chunking."""
    def make():
        h5 = ctx.path(f"seq{chunk}.h5")
        args = [ctx.tool("bench_gen"), "seq", h5, ctx.mib, chunk]
        if not os.path.exists(ctx.path("plain.bin")):
            args.append(ctx.path("plain.bin"))
        run(args)
        return h5
    return ctx.data(f"seq{chunk}.h5", make)


def plain_file(ctx):
    seq_file(ctx, CHUNKINGS[0])
    return ctx.path("plain.bin")


def mibps(r):
    return r["bytes"] / r["seconds"] / 2**20


def run_section(ctx):
    size = ctx.mib << 20
    plain = plain_file(ctx)
    reps = ctx.repeats
    sections = []

    # Baselines that do not depend on the chunking.
    ceiling_first, ceiling_warm = [], []
    for _ in range(reps):
        with fuse_ceiling(ctx, size) as m:
            ceiling_ra = m.readahead_kb()
            data = os.path.join(m.mnt, "data")
            ceiling_first.append(mibps(bench_read(ctx, "seq", data)))
            ceiling_warm.append(mibps(bench_read(ctx, "seq", data)))
    plain_cold = []
    for _ in range(reps):
        drop_file_cache(ctx, plain)
        plain_cold.append(mibps(bench_read(ctx, "seq", plain)))
    bench_read(ctx, "seq", plain)  # into the page cache
    plain_warm = [mibps(bench_read(ctx, "seq", plain)) for _ in range(reps)]

    for chunk in CHUNKINGS:
        h5 = seq_file(ctx, chunk)
        nchunks = size // (chunk * 8)
        s = Section(
            f"sequential read, {ctx.mib} MiB 1-D <f8, chunks of {chunk} elements "
            f"({chunk * 8 // 1024} KiB, {nchunks} chunks)",
            f"read(2) of 1 MiB pieces; median of {reps}; MiB/s"
            + ("; 4096 is versioned-hdf5's default 1-D chunk" if chunk == 4096 else ""))
        first, warm, cold, hwm = [], [], [], []
        for _ in range(reps):
            bench_read(ctx, "seq", h5)  # FILE itself in the page cache
            with vh5fs(ctx, h5) as m:
                vh5fs_ra = m.readahead_kb()
                big = os.path.join(m.mnt, "versions/v1/big")
                first.append(mibps(bench_read(ctx, "seq", big)))
                warm.append(mibps(bench_read(ctx, "seq", big)))
                hwm.append(m.memory()["VmHWM"])
        for _ in range(reps):
            drop_file_cache(ctx, h5)  # FILE from disk this time
            with vh5fs(ctx, h5) as m:
                cold.append(mibps(bench_read(ctx, "seq", os.path.join(m.mnt, "versions/v1/big"))))

        bench_read(ctx, "seq", h5)  # h5py reads FILE from the page cache too
        budget = 4 if ctx.quick else 8
        whole = [mibps(peer(ctx, "h5py_whole", h5, "v1", "big")) for _ in range(reps)]
        sliced = [mibps(peer(ctx, "h5py_slices", h5, "v1", "big", 1 << 20, budget))
                  for _ in range(reps)]

        f = s.figure("vh5fs first read (fresh mount, FILE in page cache)", median(first), "MiB/s")
        w = s.figure("vh5fs warm re-read (kernel page cache)", median(warm), "MiB/s")
        c = s.figure("vh5fs first read, FILE not cached (fadvise)", median(cold), "MiB/s")
        s.figure("vh5fs daemon VmHWM after both reads", median(hwm), "MiB")
        fc = s.figure("FUSE ceiling: do-nothing FUSE fs, fresh mount", median(ceiling_first), "MiB/s",
                      f"bench/fuse_ceiling, from memory; read_ahead_kb {ceiling_ra} as vh5fs's {vh5fs_ra}")
        s.figure("FUSE ceiling, warm re-read", median(ceiling_warm), "MiB/s")
        pw = s.figure("plain file, page cache warm", median(plain_warm), "MiB/s")
        pc = s.figure("plain file, not cached (fadvise)", median(plain_cold), "MiB/s")
        hw = s.figure("h5py virtual dataset d[...] (whole)", median(whole), "MiB/s")
        hs = s.figure("h5py virtual dataset, 1 MiB slices", median(sliced), "MiB/s",
                      f"from the start for up to {budget} s")
        if ctx.vh_path:
            r = peer(ctx, "vh_open_version", h5, "v1", "big")
            s.figure("versioned-hdf5: vf['v1']['big'][...]", r["bytes"] / r["version_seconds"] / 2**20,
                     "MiB/s", "peer, one run")
        if vh5fs_ra != ceiling_ra:
            s.note(f"the mounts' read_ahead_kb differ: vh5fs {vh5fs_ra}, ceiling {ceiling_ra}")
        s.ratio("vh5fs first read / FUSE ceiling", f, fc, ">= 0.80", minimum=0.8)
        s.ratio("vh5fs warm re-read / plain file warm", w, pw, ">= 0.50", minimum=0.5)
        s.ratio("vh5fs first read / h5py whole", f, hw, ">= 10", minimum=10)
        s.ratio("vh5fs first read / h5py 1 MiB slices", f, hs, ">= 10", minimum=10)
        s.ratio("vh5fs not cached / plain not cached", c, pc)
        sections.append(s)
        s.print()
    sections.append(compressed(ctx))
    return sections


def compressed(ctx):
    """gzip:4 chunks: decoded by vh5fs outside HDF5, requests served in parallel."""
    chunk = CHUNKINGS[0]
    mib = min(ctx.mib, 256)

    def make():
        h5 = ctx.path("seqgzip.h5")
        run([ctx.tool("bench_gen"), "seq", h5, mib, chunk, "-", 1, "gzip:4"])
        return h5
    h5 = ctx.data("seqgzip.h5", make)
    reps = ctx.repeats
    s = Section(f"sequential read, {mib} MiB 1-D <f8, gzip:4, chunks of {chunk} elements",
                f"read(2) of 1 MiB pieces; median of {reps}; MiB/s; the elements are pseudo-random, so "
                f"gzip stores them nearly as they are but every chunk is still inflated")
    first, warm, whole = [], [], []
    for _ in range(reps):
        bench_read(ctx, "seq", h5)
        with vh5fs(ctx, h5) as m:
            big = os.path.join(m.mnt, "versions/v1/big")
            first.append(mibps(bench_read(ctx, "seq", big)))
            warm.append(mibps(bench_read(ctx, "seq", big)))
        whole.append(mibps(peer(ctx, "h5py_whole", h5, "v1", "big")))
    f = s.figure("vh5fs first read (fresh mount, FILE in page cache)", median(first), "MiB/s")
    s.figure("vh5fs warm re-read (kernel page cache)", median(warm), "MiB/s")
    hw = s.figure("h5py virtual dataset d[...] (whole)", median(whole), "MiB/s")
    s.ratio("vh5fs first read / h5py whole, gzip", f, hw)
    s.note("the issue's targets are for unfiltered data (the tables above)")
    s.print()
    ctx.discard("seqgzip.h5")
    return s
