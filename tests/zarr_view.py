#!/usr/bin/python3
"""The zarr/ view read back by zarr, xarray and h5py (SPEC "zarr/").

usage: zarr_view.py VH5FS VH5 FIXTURES_DIR

For every version of a file made here through a mount (gzip+shuffle,
uncompressed, sparse, vlen strings, attributes) and of every fixture (skipped
when FIXTURES_DIR is absent): each dataset read by zarr from
MNT/zarr/NAME/PATH equals h5py's read of the version's virtual dataset, with
the same dtype, shape, chunks, fill value and attributes; its directory holds
one file per chunk the version maps; chunks of uncompressed, gzip and shuffle
datasets are byte for byte the stored chunk (h5py's read_direct_chunk); and
xarray.open_zarr opens every version that has a dataset. Exits 77 when zarr,
xarray or h5py cannot be imported.
"""
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

try:
    import h5py
    import numpy as np
    import xarray
    import zarr
except ImportError as e:
    print(f"SKIP: {e}")
    sys.exit(77)

VH5FS = sys.argv[1]
VH5 = sys.argv[2]
FIXTURES = sys.argv[3]
failures = []
checked = {"datasets": 0, "chunks_compared": 0, "versions_xarray": 0}


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


class Mount:
    def __init__(self, file, *opts):
        self.root = tempfile.mkdtemp(prefix="zarr-view-mnt-")
        self.proc = subprocess.Popen([VH5FS, file, self.root, "-f", *opts])
        deadline = time.monotonic() + 20
        while not os.path.ismount(self.root):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("vh5fs did not mount " + file)
            time.sleep(0.02)

    def __enter__(self):
        return self.root

    def __exit__(self, *exc):
        subprocess.run(["fusermount3", "-u", self.root], check=False)
        try:
            self.proc.wait(timeout=30)
        finally:
            os.rmdir(self.root)


def jsonable(v):
    """An HDF5 attribute as the JSON .zattrs holds."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray):
        return [jsonable(x) for x in v.tolist()]
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    if hasattr(v, "item"):
        return jsonable(v.item())
    return v


def same(a, b):
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


# The format's bookkeeping, not shown (as in versions/).
BOOKKEEPING = ("raw_data", "chunks", "committed", "prev_version", "timestamp")


def attrs_of(obj):
    return {k: jsonable(obj.attrs[k]) for k in obj.attrs if k not in BOOKKEEPING}


def same_attrs(zattrs, obj, what):
    z = {k: v for k, v in zattrs.asdict().items() if k != "_ARRAY_DIMENSIONS"}
    h = attrs_of(obj)
    check(z.keys() == h.keys() and all(same(z[k], h[k]) for k in h), f"{what}: attrs {z} != {h}")


def same_values(a, b):
    if a.dtype.kind == "f" or a.dtype.kind == "c":
        return np.array_equal(a, b, equal_nan=True)
    return np.array_equal(a, b)


def is_string(dtype):
    s = h5py.check_string_dtype(dtype)
    return s is not None and s.length is None


def check_dataset(f, mnt, version, path, h):
    what = f"{os.path.basename(f.filename)} {version}/{path}"
    checked["datasets"] += 1
    zdir = os.path.join(mnt, "zarr", version, path)
    z = zarr.open_array(zdir, mode="r")
    check(z.shape == h.shape, f"{what}: shape {z.shape} != {h.shape}")
    same_attrs(z.attrs, h, what)
    raw = f["_version_data"][path]["raw_data"] if path in f["_version_data"] else None
    # The chunks versioned-hdf5 stores the path's data in (raw_data's).
    chunks = raw.chunks if raw is not None else (h.chunks or h.shape)
    check(z.chunks == tuple(max(c, 1) for c in chunks), f"{what}: chunks {z.chunks} != {chunks}")
    if is_string(h.dtype):
        check(z.dtype == object, f"{what}: dtype {z.dtype} for strings")
        want = np.asarray(h.asstr()[()], dtype=object)
        got = np.asarray(z[...], dtype=object)
        check(want.shape == got.shape and all(a == b for a, b in zip(want.flat, got.flat)),
              f"{what}: strings differ")
    else:
        check(z.dtype == h.dtype, f"{what}: dtype {z.dtype} != {h.dtype}")
        check(same_values(z[...], h[()]), f"{what}: values differ")
        fz, fh = np.array(z.fill_value, dtype=h.dtype), np.array(h.fillvalue, dtype=h.dtype)
        check(fz.tobytes() == fh.tobytes(), f"{what}: fill value {z.fill_value!r} != {h.fillvalue!r}")
    # One file per chunk the version maps: sparse stays sparse.
    files = sorted(n for n in os.listdir(zdir) if not n.startswith("."))
    if h.is_virtual:
        keys = {}
        for m in h.virtual_sources():
            vlo, _ = m.vspace.get_select_bounds()
            slo, _ = m.src_space.get_select_bounds()
            keys[".".join(str(a // c) for a, c in zip(vlo, chunks))] = tuple(slo)
        check(sorted(keys) == files, f"{what}: chunk files {files} != mapped {sorted(keys)}")
        # Stored as they are: byte for byte the stored chunk.
        filters = set(raw._filters) if raw is not None else set()
        if raw is not None and not is_string(h.dtype) and filters <= {"gzip", "shuffle"}:
            for key, slo in keys.items():
                mask, stored = raw.id.read_direct_chunk(slo)
                if mask:
                    continue
                with open(os.path.join(zdir, key), "rb") as chunk:
                    got = chunk.read()
                checked["chunks_compared"] += 1
                check(got == stored, f"{what}: chunk {key} is not the stored chunk")


def check_file(path):
    with h5py.File(path, "r") as f, Mount(path, "-o", "ro") as mnt:
        versions = [v for v in f["_version_data/versions"] if v != "__first_version__"]
        current = f["_version_data/versions"].attrs["current_version"]
        links = ["current"] if current != "__first_version__" else []
        check(sorted(os.listdir(os.path.join(mnt, "zarr"))) == sorted(versions + links),
              f"{path}: zarr/ lists {os.listdir(os.path.join(mnt, 'zarr'))}")
        for version in versions:
            group = f["_version_data/versions"][version]
            datasets = []

            def visit(name, obj):
                zpath = os.path.join(mnt, "zarr", version, name)
                if isinstance(obj, h5py.Group):
                    same_attrs(zarr.open_group(zpath, mode="r").attrs, obj, f"{path} {version}/{name}")
                else:
                    datasets.append(name)
                    check_dataset(f, mnt, version, name, obj)

            same_attrs(zarr.open_group(os.path.join(mnt, "zarr", version), mode="r").attrs, group,
                       f"{path} {version}")
            group.visititems(visit)
            if datasets:
                ds = xarray.open_zarr(os.path.join(mnt, "zarr", version), consolidated=False,
                                      mask_and_scale=False)
                top = sorted(n for n in datasets if "/" not in n)
                check(sorted(ds.data_vars) + sorted(ds.coords) == top or
                      sorted(list(ds.data_vars) + list(ds.coords)) == top,
                      f"{path} {version}: xarray sees {list(ds.data_vars)}, want {top}")
                for name in top:
                    if not is_string(group[name].dtype):
                        check(same_values(ds[name].values, group[name][()]),
                              f"{path} {version}: xarray reads {name} otherwise")
                checked["versions_xarray"] += 1
        if links:
            check(os.readlink(os.path.join(mnt, "zarr", "current")) == current, "zarr/current")


def write_dataset(staging, path, array, chunks, compression="none", fill=None, attrs=()):
    file = os.path.join(staging, path)
    os.makedirs(os.path.dirname(file), exist_ok=True)
    if array.dtype == object:
        data = "".join(s.replace("\\", "\\\\").replace("\n", "\\n") + "\n" for s in array.flat)
        dtype = "vlen-str"
        with open(file, "w") as out:
            out.write(data)
    else:
        dtype = array.dtype.str
        with open(file, "wb") as out:
            out.write(np.ascontiguousarray(array).tobytes())
    os.setxattr(file, "user.vh5.dtype", dtype.encode())
    os.setxattr(file, "user.vh5.shape", ",".join(map(str, array.shape)).encode())
    os.setxattr(file, "user.vh5.chunks", ",".join(map(str, chunks)).encode())
    if fill is not None:
        os.setxattr(file, "user.vh5.fillvalue", fill.encode())
    os.setxattr(file, "user.vh5.compression", compression.encode())
    for name, text, typ in attrs:
        os.setxattr(file, "user.h5." + name, text.encode())
        if typ:
            os.setxattr(file, "user.vh5.h5type." + name, typ.encode())


def own_file(tmp):
    """A file made through a mount: two versions, sparse, gzip+shuffle, strings."""
    path = os.path.join(tmp, "own.h5")
    rng = np.random.default_rng(7)
    a = rng.standard_normal((100, 37)).astype("<f4")
    a[16:48, :] = 0  # whole chunks of fill: not stored
    b = np.arange(50, dtype="<i8")
    b[8:24] = 7
    s = np.array([f"s{i}\u00e9" if i % 5 else "" for i in range(30)], dtype=object)
    subprocess.run([VH5, "init", path], check=True)
    with Mount(path) as mnt:
        staging = os.path.join(mnt, "staging")
        write_dataset(staging, "a", a, (16, 16), "gzip:4,shuffle",
                      attrs=[("units", "m", ""), ("scale", "0.5", "<f8")])
        write_dataset(staging, "g/b", b, (8,), "none", fill="7")
        write_dataset(staging, "g/s", s, (8,))
        os.setxattr(os.path.join(staging, "g"), "user.h5.title", b"group g")
        os.rename(staging, os.path.join(mnt, "versions", "v1"))
        with open(os.path.join(staging, "a"), "r+b") as out:
            out.seek(4 * 37 * 99)
            out.write(np.full(37, 2.5, dtype="<f4").tobytes())
        os.rename(staging, os.path.join(mnt, "versions", "v2"))
    return path


def main():
    tmp = tempfile.mkdtemp(prefix="zarr-view-")
    try:
        own = own_file(tmp)
        check_file(own)
        with Mount(own, "-o", "ro,nozarr") as mnt:
            check(sorted(os.listdir(mnt)) == ["at", "current", "prev", "versions"],
                  "-o nozarr lists zarr/")
            check(not os.path.exists(os.path.join(mnt, "zarr", "v1")), "-o nozarr shows zarr/v1")
        files = []
        for sub in ("", "legacy"):
            d = os.path.join(FIXTURES, sub)
            if os.path.isdir(d):
                files += [os.path.join(d, n) for n in sorted(os.listdir(d)) if n.endswith(".h5")]
        if not files:
            print(f"no fixtures in {FIXTURES}: only the file made here")
        for fixture in files:
            copy = os.path.join(tmp, os.path.basename(fixture))
            shutil.copyfile(fixture, copy)
            check_file(copy)
            os.unlink(copy)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(checked)
    check(checked["chunks_compared"] > 0, "no stored chunk compared")
    if failures:
        print(f"{len(failures)} failures")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
