#!/usr/bin/python3
"""The Python baselines, each run in a child process of its own so that its
imports and memory stay out of the bench: h5py reading a version's virtual
dataset, numpy on a plain file, and the versioned-hdf5 library. Prints one
line "key=value ..." per mode.

usage: py_peers.py MODE ARGS...  (see the functions below)
"""
import os
import sys
import time

import numpy as np

VDS = "_version_data/versions/{version}/{path}"


def open_vds(h5, version, path):
    import h5py

    f = h5py.File(h5, "r")
    return f, f[VDS.format(version=version, path=path)]


def h5py_whole(h5, version, path):
    """d[...] of the whole dataset."""
    f, d = open_vds(h5, version, path)
    t0 = time.perf_counter()
    a = d[...]
    secs = time.perf_counter() - t0
    print(f"bytes={a.nbytes} seconds={secs:.6f}")


def h5py_slices(h5, version, path, piece, budget):
    """d[i:i+n] of `piece` bytes from the start, until the end or `budget` s."""
    f, d = open_vds(h5, version, path)
    step = int(piece) // d.dtype.itemsize
    done, t0 = 0, time.perf_counter()
    for i in range(0, d.shape[0], step):
        done += d[i : i + step].nbytes
        if time.perf_counter() - t0 > float(budget):
            break
    print(f"bytes={done} seconds={time.perf_counter() - t0:.6f}")


def h5py_random(h5, version, path, elements, budget, seed):
    """d[i:i+elements] at random element-aligned offsets, for `budget` s."""
    f, d = open_vds(h5, version, path)
    n = int(elements)
    rng = np.random.default_rng(int(seed))
    slots = d.shape[0] // n
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < float(budget):
        i = int(rng.integers(0, slots)) * n
        d[i : i + n]
        done += 1
    print(f"reads={done} seconds={time.perf_counter() - t0:.6f}")


def slab_list(spec):
    """'row:START:COUNT,col:START:COUNT,...' -> [(kind, start, count)]"""
    out = []
    for item in spec.split(","):
        kind, start, count = item.split(":")
        out.append((kind, int(start), int(count)))
    return out


def time_slabs(d, spec, copy=False):
    """Row slabs d[r:r+k, :] and column slabs d[:, c:c+k] of an array-like;
    prints the median seconds per slab of each kind."""
    times = {"row": [], "col": []}
    for kind, start, count in slab_list(spec):
        t0 = time.perf_counter()
        a = d[start : start + count, :] if kind == "row" else d[:, start : start + count]
        if copy:
            a = np.array(a)
        times[kind].append(time.perf_counter() - t0)
        assert a.size == count * (d.shape[1] if kind == "row" else d.shape[0])
    print(" ".join(f"{k}={sorted(v)[len(v) // 2]:.6f}" for k, v in times.items() if v))


def h5py_slabs(h5, version, path, spec):
    """Row slabs d[r:r+k, :] and column slabs d[:, c:c+k]; seconds per slab."""
    f, d = open_vds(h5, version, path)
    time_slabs(d, spec)


def numpy_slabs(raw, rows, cols, dtype, spec):
    """The same slabs from the file as numpy.memmap (a copy of each slab)."""
    m = np.memmap(raw, dtype=dtype, mode="r", shape=(int(rows), int(cols)))
    time_slabs(m, spec, copy=True)


def zarr_slabs(array_dir, spec):
    """The same slabs through zarr from a zarr/ array directory of a mount."""
    import zarr

    time_slabs(zarr.open_array(array_dir, mode="r"), spec)


def zarr_whole(array_dir):
    """z[...] of a zarr/ array directory of a mount."""
    import zarr

    z = zarr.open_array(array_dir, mode="r")
    t0 = time.perf_counter()
    a = z[...]
    print(f"bytes={a.nbytes} seconds={time.perf_counter() - t0:.6f}")


def h5py_list_versions(h5):
    """Open the file with h5py and list _version_data/versions."""
    t0 = time.perf_counter()
    import h5py

    t_import = time.perf_counter()
    with h5py.File(h5, "r") as f:
        names = list(f["_version_data/versions"])
    t1 = time.perf_counter()
    print(f"versions={len(names) - 1} seconds={t1 - t_import:.6f} import_seconds={t_import - t0:.6f}")


def vh_timestamps(h5):
    """Every version's timestamp as the library reads them (its
    get_version_by_timestamp loops over all_versions the same way)."""
    import h5py
    from versioned_hdf5.versions import all_versions

    t0 = time.perf_counter()
    with h5py.File(h5, "r") as f:
        versions = f["_version_data/versions"]
        stamps = [versions[v].attrs["timestamp"] for v in all_versions(f)]
    print(f"versions={len(stamps)} seconds={time.perf_counter() - t0:.6f}")


def vh_open_version(h5, version, path):
    """versioned-hdf5: VersionedHDF5File(f), then vf[version][path][...]."""
    import h5py

    t_import0 = time.perf_counter()
    from versioned_hdf5 import VersionedHDF5File

    t0 = time.perf_counter()
    with h5py.File(h5, "r") as f:
        vf = VersionedHDF5File(f)
        t1 = time.perf_counter()
        a = vf[version][path][...]
        t2 = time.perf_counter()
        n = len(vf.versions) if hasattr(vf, "versions") else -1
    print(f"open_seconds={t1 - t0:.6f} version_seconds={t2 - t1:.6f} versions={n}"
          f" import_seconds={t0 - t_import0:.6f} bytes={a.nbytes}")


def vh_commit_fraction(h5, path, every_chunk, name):
    """versioned-hdf5: stage_version changing one element in every
    `every_chunk`-th chunk of `path` (1% for 100)."""
    import h5py
    from versioned_hdf5 import VersionedHDF5File

    every = int(every_chunk)
    with h5py.File(h5, "r+") as f:
        vf = VersionedHDF5File(f)
        t0 = time.perf_counter()
        with vf.stage_version(name) as g:
            d = g[path]
            chunk = d.chunks[0]
            changed = 0
            for c in range(0, d.shape[0] // chunk, every):
                d[c * chunk] = -1.0
                changed += 1
        secs = time.perf_counter() - t0
    print(f"seconds={secs:.6f} chunks={changed}")


def vh_one_element_commits(h5, elements, chunk, count, window):
    """versioned-hdf5: `count` commits each changing one element of a 1-D <f8
    dataset, the file kept open ('r+') throughout; growth and time per commit
    for the first and the last `window` commits."""
    import h5py
    import numpy as np
    from versioned_hdf5 import VersionedHDF5File

    elements, chunk, count, window = int(elements), int(chunk), int(count), int(window)
    with h5py.File(h5, "w") as f:
        vf = VersionedHDF5File(f)
        with vf.stage_version("v1") as g:
            g.create_dataset("big", data=np.random.default_rng(1).random(elements), chunks=(chunk,))
    grow, secs = [], []
    with h5py.File(h5, "r+") as f:
        vf = VersionedHDF5File(f)
        for i in range(count):
            measured = i < window or i >= count - window
            if measured:
                f.flush()
            size0 = f.id.get_filesize()
            t0 = time.perf_counter()
            with vf.stage_version(f"h{i:05d}") as g:
                g["big"][i * 7919 % elements] = i + 0.5
            t = time.perf_counter() - t0
            if measured:
                f.flush()
                grow.append(f.id.get_filesize() - size0)
                secs.append(t)

    def med(v):
        v = sorted(v)
        return v[len(v) // 2]
    print(f"grow_first_kib={sum(grow[:window]) / window / 1024:.3f} "
          f"grow_last_kib={sum(grow[window:]) / window / 1024:.3f} "
          f"ms_first={med(secs[:window]) * 1000:.3f} ms_last={med(secs[window:]) * 1000:.3f}")


def vh_new_datasets(h5, count, elements):
    """versioned-hdf5: `count` datasets of `elements` <f8 made in one version
    with no chunks given; the file's size over an empty versioned file."""
    import h5py
    from versioned_hdf5 import VersionedHDF5File

    count, elements = int(count), int(elements)
    with h5py.File(h5, "w") as f:
        VersionedHDF5File(f)
    empty = os.path.getsize(h5)
    with h5py.File(h5, "r+") as f:
        vf = VersionedHDF5File(f)
        t0 = time.perf_counter()
        with vf.stage_version("v1") as g:
            for i in range(count):
                g.create_dataset(f"d{i:05d}", data=np.arange(i, i + elements, dtype="<f8"))
        secs = time.perf_counter() - t0
    with h5py.File(h5, "r") as f:
        chunks = ",".join(map(str, f["_version_data/d00000/raw_data"].chunks))
    print(f"bytes={os.path.getsize(h5) - empty} seconds={secs:.3f} chunks={chunks}")


def vh_wide_commits(h5, commits):
    """versioned-hdf5: `commits` versions on a file kept open, each changing
    element 0 of dataset d<k>; the median seconds and KiB of growth."""
    import h5py
    from versioned_hdf5 import VersionedHDF5File

    secs, kib = [], []
    with h5py.File(h5, "r+") as f:
        vf = VersionedHDF5File(f)
        for k in range(int(commits)):
            f.flush()
            before = os.path.getsize(h5)
            t0 = time.perf_counter()
            with vf.stage_version(f"w{k}") as g:
                g[f"d{k:05d}"][0] = -1.0
            secs.append(time.perf_counter() - t0)
            f.flush()
            kib.append((os.path.getsize(h5) - before) / 1024)
    secs.sort()
    kib.sort()
    print(f"seconds={secs[len(secs) // 2]:.6f} kib={kib[len(kib) // 2]:.1f}")


def vh_importable():
    try:
        import versioned_hdf5  # noqa: F401
    except Exception as e:  # report why, do not fail
        print(f"ok=0 # {type(e).__name__}: {e}".replace("\n", " "))
        return
    print("ok=1")


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    globals()[mode.replace("-", "_")](*args)
    sys.stdout.flush()
    os._exit(0)  # skip freeing big arrays
