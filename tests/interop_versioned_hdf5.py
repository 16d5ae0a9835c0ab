#!/usr/bin/python3
"""vh5fs and the Python library versioned-hdf5 take turns on one file.

vh5fs commits versions through a real mount (cp, dd, truncate, setfattr,
mkdir, rm, mv); versioned-hdf5 reads every version exactly as the mount
shows it and commits on top, deduplicating against vh5fs's chunks; vh5fs
then reads and commits on top of that, deduplicating against Python's.

Needs versioned_hdf5 (1.7.0 is pure Python and runs on Debian's h5py and
numpy) in ../shared/peers, on PYTHONPATH or in $VH5_VERSIONED_HDF5_PATH (':'-separated); exits
77 (skipped) when it is not importable.

usage: interop_versioned_hdf5.py VH5FS VH5
"""
import os
import subprocess
import sys
import tempfile
import time

import peers

peers.add_to_path()
try:
    import h5py
    import numpy as np
    from versioned_hdf5 import VersionedHDF5File
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

VH5FS, VH5 = sys.argv[1], sys.argv[2]
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


class Mount:
    def __init__(self, file, *opts):
        self.root = tempfile.mkdtemp(prefix="vh5fs-test-interop-")
        self.proc = subprocess.Popen([VH5FS, file, self.root, "-f", *opts])
        for _ in range(1000):
            with open("/proc/mounts") as f:
                if any(line.split()[1] == self.root for line in f):
                    return
            if self.proc.poll() is not None:
                raise RuntimeError("vh5fs exited")
            time.sleep(0.01)
        raise RuntimeError("no mount")

    def __enter__(self):
        return self.root

    def __exit__(self, *exc):
        subprocess.run(["fusermount3", "-u", self.root], check=False)
        self.proc.wait(timeout=60)
        os.rmdir(self.root)


def sh(*argv):
    subprocess.run(argv, check=True)


def table_rows(file):
    with h5py.File(file, "r") as f:
        out = {}

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and name.endswith("/hash_table"):
                out[name[: -len("/hash_table")]] = int(obj.attrs["largest_index"])

        f["_version_data"].visititems(visit)
        return out


def mount_view(root, version):
    """Every dataset of a version as the mount shows it: bytes and dtype."""
    out = {}
    base = os.path.join(root, "versions", version)
    for dirpath, _, files in os.walk(base):
        for name in files:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, base)
            dtype = os.getxattr(path, "user.vh5.dtype").decode()
            shape = tuple(int(x) for x in os.getxattr(path, "user.vh5.shape").decode().split(","))
            with open(path, "rb") as f:
                out[rel] = np.frombuffer(f.read(), dtype=dtype).reshape(shape)
    return out


def python_view(file, version):
    out = {}
    with h5py.File(file, "r") as f:
        vf = VersionedHDF5File(f)
        group = vf[version]

        def walk(g, prefix):
            for name in g:
                obj = g[name]
                path = prefix + name
                if isinstance(obj, h5py.Group) or hasattr(obj, "keys"):
                    walk(obj, path + "/")
                else:
                    out[path] = np.asarray(obj[()])

        walk(group, "")
    return out


def same_views(file, root, versions):
    for v in versions:
        m, p = mount_view(root, v), python_view(file, v)
        check(sorted(m) == sorted(p), f"{v}: the same datasets ({sorted(m)})")
        for path in m:
            if path in p:
                check(m[path].shape == p[path].shape and m[path].dtype == p[path].dtype
                      and m[path].tobytes() == p[path].tobytes(),
                      f"{v}/{path}: mount and versioned-hdf5 agree")


work = tempfile.mkdtemp(prefix="vh5fs-test-interop-")
file = os.path.join(work, "shared.h5")
sh(VH5, "init", file)

# 1. vh5fs writes two versions with shell tools.
with Mount(file) as root:
    st = os.path.join(root, "staging")
    values = np.arange(100000, dtype="<f8")
    values.tofile(os.path.join(st, "values"))
    os.setxattr(os.path.join(st, "values"), "user.vh5.dtype", b"<f8")
    os.setxattr(os.path.join(st, "values"), "user.vh5.chunks", b"4096")
    os.mkdir(os.path.join(st, "grid"))
    m = np.arange(60 * 7, dtype="<i4").reshape(60, 7)
    m.tofile(os.path.join(st, "grid/m"))
    for k, v in (("dtype", b"<i4"), ("chunks", b"16,4"), ("fillvalue", b"-1"), ("shape", b"60,7")):
        os.setxattr(os.path.join(st, "grid/m"), "user.vh5." + k, v)
    os.setxattr(os.path.join(st, "grid"), "user.h5.desc", b"a group")
    os.rename(st, os.path.join(root, "versions", "fs1"))
    # fs2: one element, rows added, a trailing dimension resized.
    with open(os.path.join(st, "values"), "r+b") as f:
        f.seek(8 * 5000)
        f.write(np.array([-1.0]).tobytes())
    os.truncate(os.path.join(st, "values"), 8 * 100500)
    os.setxattr(os.path.join(st, "grid/m"), "user.vh5.shape", b"61,9")
    os.rename(st, os.path.join(root, "versions", "fs2"))
rows_fs = table_rows(file)
print("hash table rows after vh5fs:", rows_fs)

# 2. versioned-hdf5 reads both as the mount shows them, and commits on top.
with Mount(file, "-o", "ro") as root:
    same_views(file, root, ["fs1", "fs2"])
with h5py.File(file, "r+") as f:
    vf = VersionedHDF5File(f)
    with vf.stage_version("py1") as g:
        g["values"][7] = 123.0          # one chunk changes
        g["grid/m"][0, 0] = 5           # one chunk changes
        g.create_dataset("py_new", data=np.arange(10, dtype="<i8"), chunks=(4,))
rows_py = table_rows(file)
print("hash table rows after versioned-hdf5:", rows_py)
check(rows_py["values"] == rows_fs["values"] + 1, "versioned-hdf5 stored one new chunk of values")
check(rows_py["grid/m"] == rows_fs["grid/m"] + 1, "versioned-hdf5 stored one new chunk of grid/m")

# 3. vh5fs reads py1 as Python wrote it and commits on top: copying py1's
# data back unchanged, and a plain copy of fs1's values, store nothing.
# (A read-write mount holds HDF5's file lock: h5py reads beside -o ro only.)
with Mount(file, "-o", "ro") as root:
    same_views(file, root, ["fs1", "fs2", "py1"])
with Mount(file) as root:
    st = os.path.join(root, "staging")
    check(os.getxattr(st, "user.vh5.prev_version") == b"py1", "staging is based on py1")
    sh("cp", os.path.join(root, "versions/py1/values"), os.path.join(st, "values"))
    sh("cp", "-a", os.path.join(root, "versions/py1/grid/m"), os.path.join(st, "grid/m2"))
    with open(os.path.join(st, "py_new"), "r+b") as f:
        f.seek(8 * 9)
        f.write(np.array([99], dtype="<i8").tobytes())
    os.rename(st, os.path.join(root, "versions", "fs3"))
rows_fs3 = table_rows(file)
print("hash table rows after vh5fs again:", rows_fs3)
check(rows_fs3["values"] == rows_py["values"], "vh5fs stored nothing for an unchanged values")
check(rows_fs3["py_new"] == rows_py["py_new"] + 1, "vh5fs stored one new chunk of py_new")

# 4. versioned-hdf5 reads everything once more and commits again.
with Mount(file, "-o", "ro") as root:
    same_views(file, root, ["fs1", "fs2", "py1", "fs3"])
with h5py.File(file, "r+") as f:
    vf = VersionedHDF5File(f)
    with vf.stage_version("py2") as g:
        g["grid/m2"].resize((70, 9))
        g["grid/m2"][65, 8] = 1
    check(vf["py2"]["grid/m2"][65, 8] == 1 and vf["py2"]["grid/m2"][64, 8] == -1,
          "versioned-hdf5 resized a dataset vh5fs wrote, fill -1")
with Mount(file, "-o", "ro") as root:
    same_views(file, root, ["py2"])

subprocess.run(["rm", "-rf", work])
print(f"{len(failures)} failures")
sys.exit(1 if failures else 0)
