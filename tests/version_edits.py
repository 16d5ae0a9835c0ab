#!/usr/bin/python3
"""rmdir and mv of versions/NAME on a vh5fs mount, against versioned-hdf5.

A file made by versioned-hdf5 (v1..v5 in a line, datasets changing on the
way) is mounted read-write: versions are renamed (not current, current),
removed (not current, current), with and without staged changes; EEXIST,
EINVAL, EBUSY, EROFS (-o ro) where the contract says. After each step the
mount shows what the file holds; in the end `vh5 verify` is clean and the
library reads every remaining version (its data, prev_version, current)
exactly as expected, then commits on the file, which vh5 verify accepts;
then `vh5 rename` renames the library's version (EEXIST refused).

Exits 77 (skipped) when versioned_hdf5 is not importable.

usage: version_edits.py VH5FS VH5
"""
import errno
import os
import shutil
import subprocess
import sys
import tempfile
import time

import peers

peers.add_to_path()
try:
    import h5py  # noqa: F401
    import numpy as np
    from versioned_hdf5 import VersionedHDF5File
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

import live_util
from live_util import check

VH5FS, VH5 = sys.argv[1], sys.argv[2]


def fails_with(fn, code, what):
    try:
        fn()
    except OSError as e:
        return check(e.errno == code, f"{what}: {errno.errorcode.get(e.errno)}")
    return check(False, f"{what}: succeeded, {errno.errorcode[code]} expected")


def prev_of(m, name):
    return os.getxattr(f"{m.root}/versions/{name}", "user.vh5.prev_version").decode()


def staging_base(m):
    return os.getxattr(f"{m.root}/staging", "user.vh5.prev_version").decode()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def verify(file, what):
    r = subprocess.run([VH5, "verify", file], capture_output=True, text=True)
    check(r.returncode == 0, f"vh5 verify after {what}: {r.stdout.strip()} {r.stderr.strip()}")


def make_file(path):
    """v1..v5; returns {version: {dataset: bytes}} and the prev chain."""
    expected = {}
    with h5py.File(path, "w") as f:
        vf = VersionedHDF5File(f)
        data = {"a": np.arange(1000, dtype="<i8"), "g/b": np.zeros(300, dtype="<f8"),
                "c": np.full(50, 7, dtype="<i4")}
        prev = None
        for i in range(1, 6):
            with vf.stage_version(f"v{i}", prev_version=prev) as sv:
                if i == 1:
                    for name, arr in data.items():
                        sv.create_dataset(name, data=arr, chunks=(100,))
                else:
                    data["a"] = data["a"].copy()
                    data["a"][i * 10] = -i
                    sv["a"][i * 10] = -i
                    if i % 2:
                        data["g/b"] = data["g/b"] + i
                        sv["g/b"][:] = data["g/b"]
            expected[f"v{i}"] = {k: v.tobytes() for k, v in data.items()}
            prev = f"v{i}"
    return expected


def check_mount_data(m, expected, what):
    # versions/ is listed with each entry's attributes (READDIRPLUS): an
    # entry's inode number is the one stat(2) gives, its mtime its timestamp.
    with os.scandir(m.root + "/versions") as it:
        entries = sorted(it, key=lambda e: e.name)
    names = [e.name for e in entries]
    check(names == sorted(expected), f"{what}: versions/ lists {names}")
    for e in entries:
        st = os.stat(e.path)
        check(e.inode() == st.st_ino and e.is_dir(),
              f"{what}: versions/{e.name} listed as inode {e.inode()}, stat says {st.st_ino}")
    for v, content in expected.items():
        for ds, b in content.items():
            if read(f"{m.root}/versions/{v}/{ds}") != b:
                check(False, f"{what}: versions/{v}/{ds} differs")
                return


def main():
    tmp = tempfile.mkdtemp(prefix="vh5-version-edits-")
    try:
        file = os.path.join(tmp, "data.h5")
        expected = make_file(file)
        with live_util.Mount(VH5FS, file, "-o", "ro") as m:
            fails_with(lambda: os.rmdir(m.root + "/versions/v1"), errno.EROFS, "-o ro: rmdir")
            fails_with(lambda: os.rename(m.root + "/versions/v1", m.root + "/versions/x"),
                       errno.EROFS, "-o ro: mv")
        with live_util.Mount(VH5FS, file) as m:
            V = m.root + "/versions/"
            # A reader of v2's content, opened before it is renamed.
            held = open(V + "v2/a", "rb")
            # mv of a version that is not current, no staged changes.
            os.rename(V + "v2", V + "w2")
            expected["w2"] = expected.pop("v2")
            check(prev_of(m, "v3") == "w2", "mv v2 w2: v3's prev_version is w2")
            check(prev_of(m, "w2") == "v1", "mv v2 w2: w2's prev_version is still v1")
            check_mount_data(m, expected, "mv v2 w2")
            fails_with(lambda: os.stat(V + "v2"), errno.ENOENT, "mv v2 w2: versions/v2")
            # As after another process's delete: ESTALE, or the bytes it had
            # (the kernel's page cache of a committed file), never others.
            try:
                held.seek(0)
                got = held.read()
                check(got == expected["w2"]["a"], "mv v2 w2: a file opened before reads "
                      "the bytes it had")
            except OSError as e:
                check(e.errno in (errno.ESTALE, errno.ENOENT),
                      f"mv v2 w2: a file opened before reads {errno.errorcode[e.errno]}")
            held.close()
            fails_with(lambda: os.rename(V + "v3", V + "v4"), errno.EEXIST, "mv v3 onto v4")
            fails_with(lambda: os.rename(V + "v3", V + "__first_version__"), errno.EINVAL,
                       "mv v3 __first_version__")
            fails_with(lambda: os.rename(V + "nope", V + "x"), errno.ENOENT, "mv of no version")
            # mv of the current version: current and staging's base follow it.
            os.rename(V + "v5", V + "w5")
            expected["w5"] = expected.pop("v5")
            check(os.readlink(m.root + "/current") == "versions/w5", "mv v5 w5: current -> w5")
            check(staging_base(m) == "w5", "mv v5 w5: staging/ is based on w5")
            check(read(m.root + "/staging/a") == expected["w5"]["a"], "mv v5 w5: staging/a")
            # rmdir of a version that is not current (a non-empty directory).
            os.rmdir(V + "v3")
            del expected["v3"]
            check(prev_of(m, "v4") == "w2", "rmdir v3: v4's prev_version is w2")
            check_mount_data(m, expected, "rmdir v3")
            verify(file, "mv and rmdir")
            # Staged changes on w5: it cannot be removed or renamed.
            with open(m.root + "/staging/c", "r+b") as f:
                f.write(b"\x01\x00\x00\x00")
            fails_with(lambda: os.rmdir(V + "w5"), errno.EBUSY, "rmdir of staging's base")
            fails_with(lambda: os.rename(V + "w5", V + "x5"), errno.EBUSY, "mv of staging's base")
            # ... others can, and the staged changes stay.
            os.rename(V + "v4", V + "w4")
            expected["w4"] = expected.pop("v4")
            check(prev_of(m, "w5") == "w4", "mv v4 w4 beside staged changes: w5's prev is w4")
            os.rmdir(V + "w2")
            del expected["w2"]
            check(prev_of(m, "w4") == "v1", "rmdir w2 beside staged changes: w4's prev is v1")
            c = np.frombuffer(expected["w5"]["c"], dtype="<i4").copy()
            c[0] = 1
            check(read(m.root + "/staging/c") == c.tobytes(), "staged change kept")
            os.rename(m.root + "/staging", V + "v6")
            expected["v6"] = dict(expected["w5"], c=c.tobytes())
            check(os.readlink(m.root + "/current") == "versions/v6", "commit v6 after edits")
            # rmdir of the current version: current moves to its prev_version.
            os.rmdir(V + "v6")
            del expected["v6"]
            check(os.readlink(m.root + "/current") == "versions/w5", "rmdir v6: current -> w5")
            check(staging_base(m) == "w5", "rmdir v6: staging/ is based on w5")
            check_mount_data(m, expected, "rmdir v6")
        verify(file, "every edit")
        # Another mount sees the same.
        with live_util.Mount(VH5FS, file, "-o", "ro") as m:
            check_mount_data(m, expected, "after remount")
        # The library reads every version, then commits on the file.
        with h5py.File(file, "r") as f:
            vf = VersionedHDF5File(f)
            check(sorted(vf._versions) == sorted(expected) + ["__first_version__"]
                  or sorted(n for n in vf._versions if n != "__first_version__") == sorted(expected),
                  f"library lists {sorted(vf._versions)}")
            check(vf.current_version == "w5", f"library: current {vf.current_version}")
            check(vf["w5"].attrs["prev_version"] == "w4", "library: w5's prev is w4")
            check(vf["w4"].attrs["prev_version"] == "v1", "library: w4's prev is v1")
            for v, content in expected.items():
                for ds, b in content.items():
                    if vf[v][ds][()].tobytes() != b:
                        check(False, f"library: {v}/{ds} differs")
        with h5py.File(file, "r+") as f:
            vf = VersionedHDF5File(f)
            with vf.stage_version("py7") as sv:
                sv["a"][0] = 12345
        with h5py.File(file, "r") as f:
            vf = VersionedHDF5File(f)
            a = vf["py7"]["a"][()]
            check(a[0] == 12345 and vf["py7"].attrs["prev_version"] == "w5",
                  "library commits on the file")
        verify(file, "the library's commit")
        # vh5 rename: the same engine call, offline.
        r = subprocess.run([VH5, "rename", file, "py7", "w5"], capture_output=True, text=True)
        check(r.returncode == 1 and "exists" in r.stderr, f"vh5 rename onto w5: {r.stderr.strip()}")
        r = subprocess.run([VH5, "rename", file, "py7", "py8"], capture_output=True, text=True)
        check(r.returncode == 0, f"vh5 rename py7 py8: {r.stderr.strip()}")
        with h5py.File(file, "r") as f:
            vf = VersionedHDF5File(f)
            check(vf.current_version == "py8" and vf["py8"]["a"][0] == 12345
                  and "py7" not in vf._versions, "library after vh5 rename: current py8")
        verify(file, "vh5 rename")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return live_util.report()


if __name__ == "__main__":
    sys.exit(main())
