"""The zarr/ view against h5py: 64 whole columns and the whole array of an
8192 x 8192 <f4 dataset in 512 x 512 chunks, zarr reading MNT/zarr/v1/grid
and h5py the version's virtual dataset (issue #17's targets)."""
import os
import random
import shutil

from benchlib import Section, bench_read, median, peer, run, vh5fs

SLAB = 64   # columns per slab
SLABS = 5   # slabs, median time


def grid512_file(ctx):
    n = 4096 if ctx.quick else 8192

    def make():
        h5 = ctx.path("grid512.h5")
        run([ctx.tool("bench_gen"), "grid", h5, n, n, 512, 512, ctx.path("grid512.bin")])
        os.remove(ctx.path("grid512.bin"))
        return h5
    return ctx.data("grid512.h5", make), n


def run_section(ctx):
    h5, n = grid512_file(ctx)
    rng = random.Random(17)
    spec = ",".join(f"col:{rng.randrange(0, n - SLAB)}:{SLAB}" for _ in range(SLABS))
    s = Section(f"zarr/ view: {SLAB} whole columns and the whole {n} x {n} <f4 array in 512 x 512 chunks",
                f"zarr (python3-zarr) on MNT/zarr/v1/grid on a fresh mount against h5py on the "
                f"version's virtual dataset; FILE in page cache; {SLABS} column slabs at random "
                f"places, median ms; whole array median of {ctx.repeats}")
    bench_read(ctx, "seq", h5)
    # zarr's own cost, no filesystem of ours: the same store copied to a
    # local directory, in the page cache. zarr reads whole chunks (16 MiB
    # for 64 columns of 512 x 512 <f4 chunks); h5py reads only the columns.
    local = ctx.path("grid512.zarr")
    with vh5fs(ctx, h5, options=("ro",)) as m:
        shutil.copytree(os.path.join(m.mnt, "zarr/v1/grid"), local)
    os.sync()  # the copy's pages clean before it is timed
    cols_l, whole_l = [], []
    cols_z, cols_h, whole_z, whole_h = [], [], [], []
    cols_again, whole_again = [], []
    for _ in range(ctx.repeats):
        # Fresh: a new mount, nothing of it in the page cache. Again: the
        # same reads by a new process on the same mount, which finds the
        # chunk files' pages that the kernel keeps (keep_cache: a version
        # never changes), as h5py finds FILE's.
        with vh5fs(ctx, h5, options=("ro",)) as m:
            grid = os.path.join(m.mnt, "zarr/v1/grid")
            cols_z.append(peer(ctx, "zarr_slabs", grid, spec)["col"])
            cols_again.append(peer(ctx, "zarr_slabs", grid, spec)["col"])
        with vh5fs(ctx, h5, options=("ro",)) as m:
            grid = os.path.join(m.mnt, "zarr/v1/grid")
            whole_z.append(peer(ctx, "zarr_whole", grid)["seconds"])
            whole_again.append(peer(ctx, "zarr_whole", grid)["seconds"])
        cols_h.append(peer(ctx, "h5py_slabs", h5, "v1", "grid", spec)["col"])
        whole_h.append(peer(ctx, "h5py_whole", h5, "v1", "grid")["seconds"])
        cols_l.append(peer(ctx, "zarr_slabs", local, spec)["col"])
        whole_l.append(peer(ctx, "zarr_whole", local)["seconds"])
    zc = s.figure("64 columns: zarr through zarr/ (fresh mount)", median(cols_z) * 1e3, "ms")
    zc2 = s.figure("64 columns: zarr through zarr/ (again, same mount)",
                   median(cols_again) * 1e3, "ms")
    hc = s.figure("64 columns: h5py virtual dataset", median(cols_h) * 1e3, "ms")
    zw = s.figure("whole array: zarr through zarr/ (fresh mount)", median(whole_z) * 1e3, "ms")
    zw2 = s.figure("whole array: zarr through zarr/ (again, same mount)",
                   median(whole_again) * 1e3, "ms")
    hw = s.figure("whole array: h5py virtual dataset", median(whole_h) * 1e3, "ms")
    lc = s.figure("  64 columns: zarr on a local copy of the store", median(cols_l) * 1e3, "ms",
                  "zarr's own cost: no FUSE")
    lw = s.figure("  whole array: zarr on a local copy of the store", median(whole_l) * 1e3, "ms",
                  "zarr's own cost: no FUSE")
    # Speed ratios (time of h5py / time of zarr): above 1, zarr is faster.
    s.ratio("64 columns: zarr speed / h5py speed (fresh)", hc, zc, ">= 1.0x", minimum=1.0)
    s.ratio("whole array: zarr speed / h5py speed (fresh)", hw, zw, ">= 0.8x", minimum=0.8)
    s.ratio("64 columns: zarr speed / h5py speed (again)", hc, zc2, ">= 1.0x", minimum=1.0)
    s.ratio("whole array: zarr speed / h5py speed (again)", hw, zw2, ">= 0.8x", minimum=0.8)
    s.ratio("64 columns: zarr on a local copy / h5py (speed)", hc, lc)
    s.ratio("whole array: zarr on a local copy / h5py (speed)", hw, lw)
    s.print()
    shutil.rmtree(local, ignore_errors=True)
    ctx.discard("grid512.h5")
    return s
