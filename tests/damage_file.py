#!/usr/bin/python3
"""Damages a versioned file on purpose, with plain h5py, for the tests of
`vh5 verify` (never run it on a file you care about).

usage: damage_file.py FILE KIND ARGS...
  hash-row PATH ROW                      flip a bit of the hash in row ROW of PATH's hash table
  mapping-shift VERSION DATASET I ROWS   move mapping I's source box ROWS rows along axis 0
  del-version VERSION                    delete the version's group, as a careless h5py user would
  current-version NAME                   set current_version
  data-version N                         set data_version
  prev-version VERSION NAME              set a version's prev_version
  del-hash-table PATH                    delete PATH's hash table
  drop-hash-row PATH ROW                 remove row ROW from PATH's hash table
  group-cycle GROUP                      add GROUP/loop holding hard links to GROUP ("up")
                                         and to itself ("self"): a cycle, walked forever
                                         by a reader that follows links blindly
  deep-groups GROUP N                    nest N groups "d" below GROUP (a walk recursing
                                         once per level runs out of stack)
"""
import sys

import h5py
import numpy as np


def mapping_shift(f, version, dataset, index, rows):
    old = f["_version_data/versions"][version][dataset]
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_fill_value(np.array([old.fillvalue], dtype=old.dtype))
    for i, m in enumerate(old.virtual_sources()):
        src = m.src_space
        if i == index:
            lo, hi = src.get_select_bounds()
            dims = tuple(src.shape)
            # An extent large enough to hold the shifted box: HDF5 accepts it
            # (raw_data may grow), only its real shape says it is out of range.
            grown = (dims[0] + abs(rows) + hi[0] + 1,) + dims[1:]
            src = h5py.h5s.create_simple(grown, (h5py.h5s.UNLIMITED,) + dims[1:])
            count = tuple(b - a + 1 for a, b in zip(lo, hi))
            src.select_hyperslab((lo[0] + rows,) + tuple(lo[1:]), count)
        dcpl.set_virtual(m.vspace, m.file_name.encode(), m.dset_name.encode(), src)
    attrs = dict(old.attrs)
    parent, name = old.parent, old.name.rsplit("/", 1)[1]
    tid, space = old.id.get_type(), old.id.get_space()
    del parent[name]
    new = h5py.Dataset(h5py.h5d.create(parent.id, name.encode(), tid, space, dcpl=dcpl))
    for k, v in attrs.items():
        new.attrs[k] = v


def main(path, kind, *args):
    with h5py.File(path, "r+") as f:
        versions = f["_version_data/versions"]
        if kind == "hash-row":
            table = f["_version_data"][args[0]]["hash_table"]
            row = table[int(args[1])]
            row["hash"][0] ^= 1
            table[int(args[1])] = row
        elif kind == "mapping-shift":
            mapping_shift(f, args[0], args[1], int(args[2]), int(args[3]))
        elif kind == "del-version":
            del versions[args[0]]
        elif kind == "current-version":
            versions.attrs["current_version"] = args[0]
        elif kind == "data-version":
            versions.attrs["data_version"] = np.int64(args[0])
        elif kind == "prev-version":
            versions[args[0]].attrs["prev_version"] = args[1]
        elif kind == "drop-hash-row":
            table = f["_version_data"][args[0]]["hash_table"]
            n = int(table.attrs["largest_index"])
            rows = np.delete(table[:n], int(args[1]))
            table[: n - 1] = rows
            table.attrs["largest_index"] = np.int64(n - 1)
        elif kind == "del-hash-table":
            del f["_version_data"][args[0]]["hash_table"]
        elif kind == "group-cycle":
            group = f[args[0]]
            loop = group.create_group("loop")
            loop["up"] = group
            loop["self"] = loop
        elif kind == "deep-groups":
            group = f[args[0]].id
            for _ in range(int(args[1])):
                group = h5py.h5g.create(group, b"d")
        else:
            sys.exit("unknown damage " + kind)


if __name__ == "__main__":
    main(*sys.argv[1:])
