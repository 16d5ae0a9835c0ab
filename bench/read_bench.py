#!/usr/bin/python3
"""Sequential-read benchmark of vh5fs against baselines measured in the same
run: the FUSE ceiling (a do-nothing FUSE filesystem serving the same size from
memory), the same bytes in a plain file, and h5py reading the version's
virtual dataset. Prints a table of medians and ratios.

usage: read_bench.py BUILD_DIR WORK_DIR MIB [REPEATS] [CHUNK_ELEMENTS]
"""
import os
import statistics
import subprocess
import sys
import time

import h5py
import numpy as np

build, work, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 3
chunk = int(sys.argv[5]) if len(sys.argv) > 5 else 65536
size = mib << 20
h5file = os.path.join(work, "bench.h5")
plain = os.path.join(work, "plain.bin")
mnt = os.path.join(work, "mnt")
os.makedirs(mnt, exist_ok=True)


def read_all(path, bufsize=1 << 20):
    fd = os.open(path, os.O_RDONLY)
    total, t0 = 0, time.perf_counter()
    while True:
        b = os.read(fd, bufsize)
        if not b:
            break
        total += len(b)
    dt = time.perf_counter() - t0
    os.close(fd)
    assert total == size, (path, total, size)
    return size / dt / 2**20


def mounted():
    with open("/proc/mounts") as f:
        return any(line.split()[1] == mnt for line in f)


def wait_mount():
    for _ in range(500):
        if mounted():
            return
        time.sleep(0.01)
    raise RuntimeError("mount did not appear")


def unmount(proc=None):
    subprocess.run(["fusermount3", "-u", mnt], check=False)
    if proc:
        proc.wait(timeout=10)


def fresh_vh5fs():
    proc = subprocess.Popen([f"{build}/fs/vh5fs", h5file, mnt, "-f"])
    wait_mount()
    return proc


if not os.path.exists(h5file):
    subprocess.run([f"{build}/bench/make_bench_file", h5file, str(mib), str(chunk)], check=True)

results = {}
first, warm = [], []
for _ in range(repeats):
    p = fresh_vh5fs()
    try:
        first.append(read_all(f"{mnt}/versions/v1/big"))
        warm.append(read_all(f"{mnt}/versions/v1/big"))
        if not os.path.exists(plain):
            with open(f"{mnt}/versions/v1/big", "rb") as src, open(plain, "wb") as dst:
                dst.write(src.read())
    finally:
        unmount(p)
results["vh5fs first read (fresh mount)"] = statistics.median(first)
results["vh5fs warm re-read"] = statistics.median(warm)

ceiling = []
for _ in range(repeats):
    p = subprocess.Popen([f"{build}/bench/fuse_ceiling", mnt, str(size)])
    wait_mount()
    try:
        ceiling.append(read_all(f"{mnt}/data"))
    finally:
        unmount(p)
results["FUSE ceiling (memory, first read)"] = statistics.median(ceiling)

read_all(plain)  # into the page cache
results["plain file (page cache)"] = statistics.median(read_all(plain) for _ in range(repeats))

whole, sliced = [], []
with h5py.File(h5file, "r") as f:
    d = f["_version_data/versions/v1/big"]
    for _ in range(repeats):
        t0 = time.perf_counter()
        a = d[:]
        whole.append(a.nbytes / (time.perf_counter() - t0) / 2**20)
        step = (1 << 20) // 8
        t0 = time.perf_counter()
        for i in range(0, d.shape[0], step):
            d[i : i + step]
        sliced.append(size / (time.perf_counter() - t0) / 2**20)
results["h5py virtual dataset, whole read"] = statistics.median(whole)
results["h5py virtual dataset, 1 MiB slices"] = statistics.median(sliced)

nchunks = size // (chunk * 8)
print(f"\nsequential read of a {mib} MiB <f8 dataset in {nchunks} chunks of {chunk} elements,"
      f" median of {repeats} (MiB/s)")
for name, v in results.items():
    print(f"  {name:40s} {v:9.0f}")
vf = results["vh5fs first read (fresh mount)"]
print("ratios:")
print(f"  vh5fs first read / FUSE ceiling          {vf / results['FUSE ceiling (memory, first read)']:.2f}")
print(f"  vh5fs warm re-read / plain file          {results['vh5fs warm re-read'] / results['plain file (page cache)']:.2f}")
print(f"  vh5fs first read / h5py whole read       {vf / results['h5py virtual dataset, whole read']:.2f}")
print(f"  vh5fs first read / h5py 1 MiB slices     {vf / results['h5py virtual dataset, 1 MiB slices']:.2f}")
