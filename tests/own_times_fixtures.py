#!/usr/bin/python3
"""Own times on files the Python library wrote, against h5py as the oracle.

For every file in the shared fixtures (legacy ones included), mounted
`-o ro,own_times`: each dataset's and group's mtime in every version is the
timestamp of the version that last changed it, found here with h5py alone
by walking prev_version while the node reads the same: a dataset's dtype,
shape, fill value, attributes and virtual mappings; a group's attributes
and its children's names and kinds (a group's time is the newest of its
own change and its children's). The mount computes this from the file's
bytes; h5py reads the same facts through HDF5.

Exits 77 (skipped) when the fixtures or h5py are absent.

usage: own_times_fixtures.py VH5FS FIXTURES_DIR
"""
import glob
import os
import shutil
import sys
import tempfile

try:
    import h5py
    import numpy as np
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

import live_util
from live_util import check

VH5FS, FIXTURES = sys.argv[1], sys.argv[2]


def attrs_facts(obj):
    out = []
    for name in sorted(obj.attrs):
        value = obj.attrs[name]
        arr = np.asarray(value)
        out.append((name, str(arr.dtype), repr(arr.tolist())))
    return tuple(out)


def selection(space):
    if space.get_select_type() == h5py.h5s.SEL_HYPERSLABS and space.is_regular_hyperslab():
        return ("h", space.get_regular_hyperslab())
    return ("b", space.get_select_bounds())


def node_facts(obj):
    """What a reader of the node sees of it, children aside."""
    if isinstance(obj, h5py.Group):
        kids = tuple(sorted((k, "g" if obj.get(k, getclass=True) is h5py.Group else "d")
                            for k in obj))
        return ("g", kids, attrs_facts(obj))
    # h5py crashes asking a variable-length string dataset for its fill value.
    fill = None if obj.dtype.kind == "O" else repr(np.asarray(obj.fillvalue).tolist())
    maps = None
    if obj.is_virtual:
        maps = tuple((selection(m.vspace), m.file_name, m.dset_name, selection(m.src_space))
                     for m in obj.virtual_sources())
    return ("d", str(obj.dtype), obj.shape, fill, attrs_facts(obj), maps)


def expected_times(path, names, ts):
    """{version: {node path: ns}} by h5py alone."""
    with h5py.File(path, "r") as f:
        vg = f["_version_data/versions"]
        prev = {}
        for v in names:
            p = vg[v].attrs.get("prev_version")
            prev[v] = p.decode() if isinstance(p, bytes) else p
        facts = {}  # (version, node) -> facts, or None when absent

        def facts_of(v, node):
            key = (v, node)
            if key not in facts:
                obj = vg[v].get(node) if node else vg[v]
                facts[key] = None if obj is None else node_facts(obj)
            return facts[key]

        own = {}

        def own_time(v, node):
            key = (v, node)
            if key in own:
                return own[key]
            mine = facts_of(v, node)
            p = prev.get(v)
            if p in names and facts_of(p, node) == mine:
                t = own_time(p, node)
            else:
                t = ts[v]
            own[key] = t
            return t

        out = {}
        for v in names:
            nodes = []
            vg[v].visit(nodes.append)
            times = {}
            for node in sorted(nodes, key=lambda n: -n.count("/")):  # children first
                t = own_time(v, node)
                if isinstance(vg[v][node], h5py.Group):
                    t = max([t] + [times[node + "/" + k] for k in vg[v][node]])
                times[node] = t
            out[v] = times
    return out


def main():
    files = sorted(glob.glob(os.path.join(FIXTURES, "*.h5")) +
                   glob.glob(os.path.join(FIXTURES, "legacy", "*.h5")))
    if not files:
        print(f"skipped: no fixtures in {FIXTURES}")
        return 77
    tmp = tempfile.mkdtemp(prefix="vh5-own-times-fixtures-")
    try:
        for src in files:
            name = os.path.relpath(src, FIXTURES)
            file = os.path.join(tmp, os.path.basename(src))
            shutil.copyfile(src, file)
            with live_util.Mount(VH5FS, file, "-o", "ro,own_times") as m:
                names = sorted(os.listdir(m.root + "/versions"))
                ts = {v: os.stat(f"{m.root}/versions/{v}").st_mtime_ns for v in names}
                want = expected_times(file, set(names), ts)
                wrong, nodes = [], 0
                for v in names:
                    for node, t in want[v].items():
                        nodes += 1
                        st = os.stat(f"{m.root}/versions/{v}/{node}")
                        if (st.st_mtime_ns, st.st_ctime_ns) != (t, t):
                            wrong.append(f"{v}/{node}: {st.st_mtime_ns} != {t}")
                check(not wrong, f"{name}: {nodes} nodes over {len(names)} versions carry "
                                 f"the time of their last change (wrong: {wrong[:4]})")
            os.remove(file)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return live_util.report()


if __name__ == "__main__":
    sys.exit(main())
