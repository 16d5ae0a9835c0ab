#!/usr/bin/python3
"""A committed dataset's own times, and inode numbers that outlive a mount.

A file made by versioned-hdf5: 100 datasets at the root and a group g with
two more, over versions v1..v3 with timestamps a day apart (v2 changes d005
and g/y, v3 only an attribute of d010). On a read-write mount:

- every dataset's and group's mtime and ctime, in current/ and in older
  versions, are the timestamp of the version that last changed it (a
  group: the newest of its own change and its children's);
- `rsync -a --stats` of current/ to a local directory, a commit through
  staging/ that changes one dataset of the hundred, and rsync again:
  exactly one regular file transferred, and the copy equals current/;
- st_ino of every node of every version is the same after a remount (and
  no two nodes share one).

Exits 77 (skipped) when versioned_hdf5 is not importable or rsync is missing.

usage: own_times.py VH5FS
"""
import datetime
import os
import re
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
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)
if shutil.which("rsync") is None:
    print("skipped: no rsync")
    sys.exit(77)

import live_util
from live_util import check

VH5FS = sys.argv[1]
DAY0 = datetime.datetime(2024, 3, 1, 9, 0, 0, 250000, tzinfo=datetime.timezone.utc)


def to_ns(text):
    dt = datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f%z")
    return int(dt.replace(microsecond=0).timestamp()) * 10**9 + dt.microsecond * 1000


def make_file(path):
    times = {}
    with h5py.File(path, "w") as f:
        vf = VersionedHDF5File(f)
        for i in range(1, 4):
            ts = DAY0 + datetime.timedelta(days=i - 1)
            times[f"v{i}"] = ts
            with vf.stage_version(f"v{i}", timestamp=ts) as sv:
                if i == 1:
                    for k in range(100):
                        sv.create_dataset(f"d{k:03}", data=np.arange(100) + k, chunks=(50,))
                    sv.create_group("g")
                    sv["g"].create_dataset("x", data=np.zeros(10), chunks=(10,))
                    sv["g"].create_dataset("y", data=np.ones(10), chunks=(10,))
                elif i == 2:
                    sv["d005"][3] = -1
                    sv["g/y"][0] = 5
                else:
                    sv["d010"].attrs["unit"] = "m"
    return times


def stat_ns(path):
    st = os.stat(path)
    return st.st_mtime_ns, st.st_ctime_ns


def inodes(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            out[os.path.relpath(p, root)] = os.lstat(p).st_ino
    return out


def rsync(src, dst):
    r = subprocess.run(["rsync", "-a", "--stats", src + "/", dst + "/"],
                       capture_output=True, text=True)
    check(r.returncode == 0, f"rsync exit {r.returncode}: {r.stderr.strip()}")
    m = re.search(r"Number of regular files transferred: ([\d,]+)", r.stdout)
    return int(m.group(1).replace(",", "")) if m else -1


def main():
    tmp = tempfile.mkdtemp(prefix="vh5-own-times-")
    try:
        file = os.path.join(tmp, "data.h5")
        times = make_file(file)
        with h5py.File(file, "r") as f:  # as stored, to the ns the mount parses
            stored = {v: f["_version_data/versions"][v].attrs["timestamp"] for v in times}
        tns = {v: to_ns(s if isinstance(s, str) else s.decode()) for v, s in stored.items()}
        want = {v: {f"d{k:03}": tns["v1"] for k in range(100)} for v in times}
        for v in ("v2", "v3"):
            want[v]["d005"] = tns["v2"]
        want["v3"]["d010"] = tns["v3"]
        for v in times:
            want[v]["g/x"] = tns["v1"]
            want[v]["g/y"] = tns[v] if v == "v1" else tns["v2"]
            want[v]["g"] = want[v]["g/y"]
        copy = os.path.join(tmp, "copy")
        os.mkdir(copy)
        with live_util.Mount(VH5FS, file, "-o", "own_times") as m:
            for v in times:
                bad = [p for p, t in want[v].items()
                       if stat_ns(f"{m.root}/versions/{v}/{p}") != (t, t)]
                check(not bad, f"versions/{v}: mtime and ctime are the last change's "
                               f"timestamp (wrong: {bad[:5]})")
            check(rsync(m.root + "/current", copy) == 102, "first rsync copies 102 files")
            with open(m.root + "/staging/d042", "r+b") as f:
                f.seek(8)
                f.write(np.array([-42], dtype="<i8").tobytes())
            os.rename(m.root + "/staging", m.root + "/versions/v4")
            v4 = os.stat(m.root + "/versions/v4").st_mtime_ns
            check(stat_ns(m.root + "/current/d042") == (v4, v4), "d042's mtime is v4's timestamp")
            check(stat_ns(m.root + "/current/d041") == (tns["v1"], tns["v1"]),
                  "d041's mtime is still v1's timestamp")
            check(rsync(m.root + "/current", copy) == 1,
                  "rsync after a commit changing one dataset transfers exactly one file")
            r = subprocess.run(["diff", "-r", m.root + "/current/", copy + "/"],
                               capture_output=True)
            check(r.returncode == 0, "the copy equals current/")
            before = {v: inodes(f"{m.root}/versions/{v}") for v in list(times) + ["v4"]}
        with live_util.Mount(VH5FS, file, "-o", "ro,own_times") as m:
            after = {v: inodes(f"{m.root}/versions/{v}") for v in before}
            check(after == before, "st_ino of every node is the same after a remount")
            every = [i for v in after.values() for i in v.values()]
            check(len(set(every)) == len(every), f"{len(every)} nodes, all distinct st_ino")
            check(stat_ns(m.root + "/versions/v4/d005") == (tns["v2"], tns["v2"]),
                  "after a remount: v4/d005's mtime is v2's timestamp")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return live_util.report()


if __name__ == "__main__":
    sys.exit(main())
