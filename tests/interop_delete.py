#!/usr/bin/python3
"""`vh5 delete` against the Python library versioned-hdf5.

For fixtures the library can handle (no variable-length strings: Debian's
h5py 3.7 crashes on their fill value), one copy goes through the library's
delete_versions and another through `vh5 delete`; h5py must see the same
file in both (versions, prev_version, current_version, every dataset's
mappings, attributes, fill value and content, raw_data shapes and every
hash table row). Then the library opens the vh5 result, reads every
remaining version exactly as h5py reads /_version_data/versions/<name>/...,
and commits a version on top, which `vh5 verify` accepts; the same after
`vh5 delete --repack`.

Needs versioned_hdf5 in ../shared/peers, on PYTHONPATH or in $VH5_VERSIONED_HDF5_PATH
(':'-separated); exits 77 (skipped) when it is not importable, or when the
shared fixtures are absent.

usage: interop_delete.py VH5 FIXTURES_DIR
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

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

VH5, FIXTURES = sys.argv[1], sys.argv[2]
if not os.path.exists(os.path.join(FIXTURES, "manifest.json")):
    print(f"skipped: no fixtures in {FIXTURES}")
    sys.exit(77)
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def box(space):
    if space.get_select_type() == h5py.h5s.SEL_ALL:
        return tuple((0, d) for d in space.shape)
    lo, hi = space.get_select_bounds()
    return tuple((a, b + 1) for a, b in zip(lo, hi))


def dump(path):
    """Everything about a versioned file that delete_versions decides."""
    out = {}
    with h5py.File(path, "r") as f:
        versions = f["_version_data/versions"]
        out["current_version"] = versions.attrs["current_version"]
        for name in versions:
            group = versions[name]
            out["version " + name] = {k: str(group.attrs[k]) for k in group.attrs}

            def visit(p, obj):
                if not isinstance(obj, h5py.Dataset):
                    return
                d = {"dtype": str(obj.dtype), "shape": obj.shape, "virtual": obj.is_virtual,
                     "attrs": {k: str(obj.attrs[k]) for k in obj.attrs},
                     "fill": str(obj.fillvalue),
                     "sha256": hashlib.sha256(np.ascontiguousarray(obj[()]).tobytes()).hexdigest()}
                if obj.is_virtual:
                    d["mappings"] = sorted((box(m.vspace), m.dset_name, box(m.src_space))
                                           for m in obj.virtual_sources())
                out["dataset " + name + "/" + p] = d

            group.visititems(visit)

        def data(p, obj):
            if isinstance(obj, h5py.Dataset) and p.endswith("/hash_table"):
                n = int(obj.attrs["largest_index"])
                out["hash_table " + p] = [(bytes(r["hash"]).hex(), tuple(r["shape"])) for r in obj[:n]]
            if isinstance(obj, h5py.Dataset) and p.endswith("/raw_data"):
                out["raw_data " + p] = (obj.shape, obj.chunks, obj.compression)

        f["_version_data"].visititems(data)
    return out


def library_reads_and_commits(path, label):
    """The library reads every version as h5py does, then commits on top."""
    with h5py.File(path, "r+") as f:
        vf = VersionedHDF5File(f)
        raw = f["_version_data/versions"]
        for name in vf.versions:
            group = vf[name]
            paths = []
            raw[name].visititems(lambda p, o: paths.append(p) if isinstance(o, h5py.Dataset) else None)
            for p in paths:
                same = np.array_equal(np.asarray(group[p][()]), raw[name][p][()])
                check(same, f"{label}: the library reads {name}/{p} as h5py does")
        current = vf.current_version
        if current == "__first_version__":
            return
        expected = {}
        with vf.stage_version("after_vh5") as g:
            names = []
            g.visititems(lambda p, o: names.append(p) if hasattr(o, "dtype") else None)
            for p in names:
                d = g[p]
                if d.size and d.dtype.kind in "fiu":
                    d[(0,) * d.ndim] = d[(0,) * d.ndim] + 1
                    expected[p] = np.array(d[()])
            g.create_dataset("added_after_vh5", data=np.arange(10, dtype="<i8"), chunks=(4,))
    with h5py.File(path, "r") as f:
        vf = VersionedHDF5File(f)
        check(vf.current_version == "after_vh5", f"{label}: the library committed on top")
        check(vf["after_vh5"]["added_after_vh5"][9] == 9, f"{label}: and reads its commit back")
        # Unchanged chunks deduplicated against the chunks vh5 moved: wrong
        # hash table rows would map them to other data.
        for p, want in expected.items():
            check(np.array_equal(f["_version_data/versions/after_vh5"][p][()], want),
                  f"{label}: after_vh5/{p} holds what the library staged")
    r = subprocess.run([VH5, "verify", path], capture_output=True, text=True)
    check(r.returncode == 0, f"{label}: vh5 verify after the library's commit: {r.stdout.strip()}")


CASES = [
    ("basic.h5", ["v2"]), ("basic.h5", ["v1", "v4"]), ("basic.h5", ["v1", "v2", "v3", "v4"]),
    ("branches.h5", ["left"]), ("branches.h5", ["base"]), ("branches.h5", ["right", "ünïcode-ψ"]),
    ("compressed.h5", ["v1"]), ("deleted_versions.h5", ["a"]), ("dtypes.h5", ["v1"]),
    ("empty_version.h5", ["zero_len"]), ("fillvalue.h5", ["v2"]), ("groups.h5", ["v1", "v3"]),
    ("many_versions.h5", ["r0000", "r0150", "r0299"]), ("multidim.h5", ["v2"]),
    ("multidim.h5", ["v1", "v3"]),
]

work = tempfile.mkdtemp(prefix="vh5fs-test-interop-delete-")
try:
    for i, (fixture, names) in enumerate(CASES):
        label = f"{fixture} delete {' '.join(names)}"
        lib, ours = os.path.join(work, f"lib{i}.h5"), os.path.join(work, f"vh5{i}.h5")
        for copy in (lib, ours):
            shutil.copy(os.path.join(FIXTURES, fixture), copy)
            os.chmod(copy, 0o644)
        with h5py.File(lib, "r+") as f:
            delete_versions(f, names)
        r = subprocess.run([VH5, "delete", ours, *names], capture_output=True, text=True)
        check(r.returncode == 0, f"{label}: vh5 delete: {r.stderr.strip()}")
        a, b = dump(lib), dump(ours)
        differ = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        check(not differ, f"{label}: the same file as the library's delete_versions {differ[:3]}")
        library_reads_and_commits(ours, label)
        if i % 3 == 0:
            packed = os.path.join(work, f"packed{i}.h5")
            shutil.copy(os.path.join(FIXTURES, fixture), packed)
            os.chmod(packed, 0o644)
            r = subprocess.run([VH5, "delete", packed, *names, "--repack"], capture_output=True,
                               text=True)
            check(r.returncode == 0, f"{label} --repack: {r.stderr.strip()}")
            check(dump(packed) == b, f"{label} --repack: the same content after repacking")
            library_reads_and_commits(packed, label + " --repack")
finally:
    shutil.rmtree(work)
print(f"{len(failures)} failures")
sys.exit(1 if failures else 0)
