#!/usr/bin/python3
"""A wide version committed through a mount shares its unchanged datasets
with its base (one dataset object, two hard links), and the Python library
versioned-hdf5 reads, commits on and deletes versions of such a file.

versioned-hdf5 makes v1: N datasets (some in a group, some with attributes).
vh5fs commits v2 (one element of one dataset changed), v3 (an attribute of
another dataset changed, one element of a third), v4 (one element again):
every dataset whose content and attributes are its base's is the base's
object, linked (h5py: the same address, rc 2 or more). Then, each checked
against a model kept in numpy:
- the Python library reads every version, and commits v5 on top;
- vh5fs reads every version of that, and `vh5 verify` finds nothing;
- the Python library's delete_versions removes v2 then v1, and both it and
  vh5fs read what remains exactly, `vh5 verify` clean, and the library
  commits v6 on the result;
- `vh5 delete` (and `vh5 delete --repack`) does the same on copies.

Needs versioned_hdf5 in ../shared/peers, on PYTHONPATH or in
$VH5_VERSIONED_HDF5_PATH (':'-separated); exits 77 (skipped) when it is not
importable.

usage: interop_wide.py VH5FS VH5 [N]
"""
import os
import shutil
import subprocess
import sys
import tempfile

import live_util
import peers

peers.add_to_path()
try:
    import h5py
    import numpy as np
    from versioned_hdf5 import VersionedHDF5File
    from versioned_hdf5.replay import delete_versions
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

VH5FS, VH5 = sys.argv[1], sys.argv[2]
N = int(sys.argv[3]) if len(sys.argv) > 3 else 300
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def names():
    """Dataset paths of v1: most at the top, a tenth in the group g."""
    out = []
    for i in range(N):
        out.append(f"g/e{i:05d}" if i % 10 == 9 else f"d{i:05d}")
    return out


PATHS = names()
ATTRS = {p: {"units": "m"} for p in PATHS[::7]}


def initial(i):
    return np.arange(100, dtype="<f8") + 1000.0 * i


def model_copy(m):
    return {"data": {p: a.copy() for p, a in m["data"].items()},
            "attrs": {p: dict(a) for p, a in m["attrs"].items()}}


def addr(f, path):
    return h5py.h5o.get_info(f[path].id).addr


def check_python_reads(file, models, what):
    """The Python library reads every version in `models` as the model says."""
    with h5py.File(file, "r") as f:
        vf = VersionedHDF5File(f)
        bad = []
        for v, m in models.items():
            ver = vf[v]
            for p, a in m["data"].items():
                got = ver[p][()]
                if got.dtype != a.dtype or not np.array_equal(got, a):
                    bad.append(f"{v}/{p}")
                attrs = {k: (x.decode() if isinstance(x, bytes) else str(x))
                         for k, x in ver[p].attrs.items() if k not in ("raw_data", "chunks")}
                if attrs != m["attrs"].get(p, {}):
                    bad.append(f"{v}/{p} attrs {attrs}")
        check(not bad, f"{what}: the Python library reads {len(models)} versions exactly"
                       + (f" (wrong: {bad[:5]})" if bad else ""))


def check_vh5fs_reads(file, models, what):
    """vh5fs shows every version in `models` as the model says."""
    with live_util.Mount(VH5FS, file, "-o", "ro") as m:
        listed = set(os.listdir(os.path.join(m.root, "versions")))
        check(set(models) <= listed, f"{what}: vh5fs lists {sorted(models)}")
        bad = []
        for v, model in models.items():
            for p, a in model["data"].items():
                with open(os.path.join(m.root, "versions", v, p), "rb") as fh:
                    if fh.read() != a.tobytes():
                        bad.append(f"{v}/{p}")
                try:
                    units = os.getxattr(os.path.join(m.root, "versions", v, p), "user.h5.units")
                except OSError:
                    units = None
                want = model["attrs"].get(p, {}).get("units")
                if (units.decode() if units is not None else None) != want:
                    bad.append(f"{v}/{p} units {units}")
        check(not bad, f"{what}: vh5fs reads {len(models)} versions exactly"
                       + (f" (wrong: {bad[:5]})" if bad else ""))


def verify(file, what):
    r = subprocess.run([VH5, "verify", file], capture_output=True, text=True)
    check(r.returncode == 0, f"{what}: vh5 verify clean" + ("" if r.returncode == 0 else
                                                           f": {r.stdout}{r.stderr}"))


def python_commit(file, name, models, path, index, value):
    """The Python library commits `name` on current, one element changed."""
    with h5py.File(file, "r+") as f:
        vf = VersionedHDF5File(f)
        with vf.stage_version(name) as g:
            g[path][index] = value
        cur = f["_version_data/versions"].attrs["current_version"]
    base = models[list(models)[-1]]
    m = model_copy(base)
    m["data"][path][index] = value
    models[name] = m
    check(cur == name, f"the Python library committed {name}")


def main():
    tmp = tempfile.mkdtemp(prefix="vh5fs-test-wide-")
    try:
        run(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"{len(failures)} failure(s)")
        sys.exit(1)
    print("all ok")


def run(tmp):
    file = os.path.join(tmp, "wide.h5")
    with h5py.File(file, "w") as f:
        vf = VersionedHDF5File(f)
        with vf.stage_version("v1") as g:
            for i, p in enumerate(PATHS):
                g.create_dataset(p, data=initial(i), chunks=(64,))
                for k, x in ATTRS.get(p, {}).items():
                    g[p].attrs[k] = x
    m1 = {"data": {p: initial(i) for i, p in enumerate(PATHS)},
          "attrs": {p: dict(a) for p, a in ATTRS.items()}}
    models = {"v1": m1}

    # vh5fs commits three versions, each changing little.
    changes = [("v2", [("d00001", 3, -1.0)], None),
               ("v3", [(PATHS[9], 70, -2.0)], (PATHS[14], "km")),
               ("v4", [("d00001", 99, -3.0)], None)]
    with live_util.Mount(VH5FS, file) as m:
        for name, writes, attr in changes:
            model = model_copy(models[list(models)[-1]])
            st = os.path.join(m.root, "staging")
            for p, index, value in writes:
                fd = os.open(os.path.join(st, p), os.O_WRONLY)
                os.pwrite(fd, np.array([value], "<f8").tobytes(), index * 8)
                os.close(fd)
                model["data"][p][index] = value
            if attr:
                os.setxattr(os.path.join(st, attr[0]), "user.h5.units", attr[1].encode())
                model["attrs"].setdefault(attr[0], {})["units"] = attr[1]
            os.rename(st, os.path.join(m.root, "versions", name))
            models[name] = model

    # What is shared: everything but what each commit changed.
    with h5py.File(file, "r") as f:
        vs = "_version_data/versions/"
        changed = {"v2": {"d00001"}, "v3": {PATHS[9], PATHS[14]}, "v4": {"d00001"}}
        for v, prev in (("v2", "v1"), ("v3", "v2"), ("v4", "v3")):
            shared = [p for p in PATHS if addr(f, vs + v + "/" + p) == addr(f, vs + prev + "/" + p)]
            want = [p for p in PATHS if p not in changed[v]]
            check(shared == want, f"{v} shares the {len(want)} datasets it did not change with "
                                  f"{prev} (shares {len(shared)})")
        check(h5py.h5o.get_info(f[vs + "v4/d00000"].id).rc == 4,
              "an untouched dataset is one object linked from 4 versions")

    check_python_reads(file, models, "after vh5fs's commits")
    check_vh5fs_reads(file, models, "after vh5fs's commits")
    verify(file, "after vh5fs's commits")

    # The Python library commits on top (it copies the datasets it keeps).
    python_commit(file, "v5", models, "d00002", 5, -5.0)
    check_python_reads(file, models, "after the library's commit")
    check_vh5fs_reads(file, models, "after the library's commit")
    verify(file, "after the library's commit")

    before_delete = os.path.join(tmp, "before-delete.h5")
    shutil.copyfile(file, before_delete)
    models_kept = {v: model_copy(models[v]) for v in ("v3", "v4", "v5")}

    # The Python library deletes versions whose objects later versions share.
    for doomed in ("v2", "v1"):
        with h5py.File(file, "r+") as f:
            delete_versions(f, [doomed])
        del models[doomed]
        check_python_reads(file, models, f"after the library deleted {doomed}")
        check_vh5fs_reads(file, models, f"after the library deleted {doomed}")
        verify(file, f"after the library deleted {doomed}")
    python_commit(file, "v6", models, PATHS[9], 0, -6.0)
    check_python_reads(file, models, "after the library's commit past its deletes")
    check_vh5fs_reads(file, models, "after the library's commit past its deletes")

    # vh5's own delete, and delete --repack, on copies of the same file.
    for extra in ([], ["--repack"]):
        copy = os.path.join(tmp, "vh5-delete.h5")
        shutil.copyfile(before_delete, copy)
        r = subprocess.run([VH5, "delete", copy, "v2", "v1", *extra], capture_output=True,
                           text=True)
        what = "vh5 delete " + " ".join(["v2", "v1", *extra])
        check(r.returncode == 0, what + (f": {r.stdout}{r.stderr}" if r.returncode else ""))
        check_python_reads(copy, models_kept, "after " + what)
        check_vh5fs_reads(copy, models_kept, "after " + what)
        verify(copy, "after " + what)
        os.remove(copy)


if __name__ == "__main__":
    main()
