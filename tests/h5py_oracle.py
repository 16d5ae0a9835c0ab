#!/usr/bin/python3
"""An independent reader for the tests: h5py (Debian's python3-h5py) reads a
versioned file directly and prints, as JSON, what each version holds and
whether every hash table row matches the SHA-256 the Python library computes.

usage: h5py_oracle.py FILE [WAIT]

WAIT: seconds to keep retrying the open while another process holds FILE's
lock (HDF5 then fails with errno 11), as a program opening FILE right after
a commit was killed would.
"""
import errno
import hashlib
import json
import struct
import sys
import time

import h5py
import numpy as np


def line(s):
    return s.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r") + "\n"


def content(ds):
    if h5py.check_string_dtype(ds.dtype) and h5py.check_string_dtype(ds.dtype).length is None:
        values = np.asarray(ds.asstr()[()]).reshape(-1)
        return "".join(line(v) for v in values).encode("utf-8")
    return np.ascontiguousarray(ds[()]).tobytes()


def chunk_hash(data):
    h = hashlib.sha256()
    if data.dtype == object:
        for v in data.flat:
            v = v.encode("utf-8") if isinstance(v, str) else v
            h.update(struct.pack("<Q", len(v)))
            h.update(v)
    else:
        h.update(np.ascontiguousarray(data))
    h.update(str(data.shape).encode("ascii"))
    return h.digest()


def attr_text(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, str):
        return v
    if isinstance(v, np.ndarray):
        return repr(v.tolist())
    return repr(v.item() if hasattr(v, "item") else v)


def open_when_unlocked(path, wait):
    deadline = time.monotonic() + wait
    while True:
        try:
            return h5py.File(path, "r")
        except OSError as e:
            locked = e.errno == errno.EAGAIN or "errno = 11" in str(e)
            if not locked or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def main(path, wait):
    f = open_when_unlocked(path, wait)
    versions = f["_version_data/versions"]
    out = {
        "current_version": versions.attrs["current_version"],
        "data_version": int(versions.attrs.get("data_version", 1)),
        "versions": {},
        "bad_hash_rows": 0,
        "hash_rows": 0,
    }
    extents = {}  # (raw_data path, start) -> extent of the chunk stored there
    for name in versions:
        if name == "__first_version__":
            continue
        group = versions[name]
        v = {"prev_version": group.attrs["prev_version"], "datasets": {}, "groups": {}}

        def visit(path, obj):
            attrs = {k: attr_text(obj.attrs[k]) for k in obj.attrs if k not in ("raw_data", "chunks")}
            if isinstance(obj, h5py.Group):
                v["groups"][path] = attrs
                return
            d = {
                "sha256": hashlib.sha256(content(obj)).hexdigest(),
                "dtype": str(obj.dtype),
                "shape": list(obj.shape),
                "attrs": attrs,
                "mappings": 0,
            }
            if obj.dtype.kind != "O":
                d["fillvalue"] = attr_text(obj.fillvalue)
            if obj.is_virtual:
                sources = obj.virtual_sources()
                d["mappings"] = len(sources)
                for m in sources:
                    lo, hi = m.src_space.get_select_bounds()
                    extents[(m.dset_name, lo[0])] = tuple(b - a + 1 for a, b in zip(lo, hi))
            v["datasets"][path] = d

        group.visititems(visit)
        out["versions"][name] = v

    # Rows in use in every dataset path's hash table.
    out["table_rows"] = {}

    def tables(name, obj):
        if isinstance(obj, h5py.Dataset) and name.endswith("/hash_table"):
            out["table_rows"][name[: -len("/hash_table")]] = int(obj.attrs["largest_index"])

    f["_version_data"].visititems(tables)

    for (raw_path, start), extent in extents.items():
        table = f[raw_path.rsplit("/", 1)[0]]["hash_table"]
        rows = table[: table.attrs["largest_index"]]
        raw = f[raw_path]
        for row in rows:
            if row["shape"][0] != start:
                continue
            out["hash_rows"] += 1
            index = tuple(slice(0, e) for e in extent[1:])
            data = raw[(slice(start, start + extent[0]),) + index]
            if raw.dtype.kind == "O":
                data = np.array([x for x in data.flat], dtype=object).reshape(data.shape)
            if chunk_hash(data) != bytes(row["hash"]):
                out["bad_hash_rows"] += 1
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0)
