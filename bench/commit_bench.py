#!/usr/bin/python3
"""Commit benchmark: staging/ changes committed by rename, against plain cp of
the same bytes measured in the same run (coreutils cp on both sides).

usage: commit_bench.py BUILD_DIR WORK_DIR MIB [REPEATS]
"""
import os
import shutil
import statistics
import subprocess
import sys
import time

build, work, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 3
size = mib << 20
mnt = os.path.join(work, "mnt")
os.makedirs(mnt, exist_ok=True)
chunk_bytes = 65536 * 8


def wait_mount():
    for _ in range(500):
        with open("/proc/mounts") as f:
            if any(line.split()[1] == mnt for line in f):
                return
        time.sleep(0.01)
    raise RuntimeError("mount did not appear")


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def fresh(name):
    path = os.path.join(work, name)
    if os.path.exists(path):
        os.remove(path)
    subprocess.run([f"{build}/bench/make_bench_file", path, str(mib)], check=True)
    return path


results = {"one_pct": [], "rewrite": [], "cp": []}
for r in range(repeats):
    h5 = fresh("bench.h5")
    proc = subprocess.Popen([f"{build}/fs/vh5fs", h5, mnt, "-f"])
    wait_mount()
    try:
        big = f"{mnt}/staging/big"
        plain = os.path.join(work, "plain.bin")
        shutil.copyfile(f"{mnt}/versions/v1/big", plain)

        def one_pct():
            with open(big, "r+b") as f:  # 1% of the chunks: one element each
                for c in range(0, size // chunk_bytes, 100):
                    f.seek(c * chunk_bytes)
                    f.write(b"\x01" * 8)
            os.rename(f"{mnt}/staging", f"{mnt}/versions/one{r}")

        results["one_pct"].append(timed(one_pct))

        def rewrite():
            subprocess.run(["cp", plain, big], check=True)
            os.rename(f"{mnt}/staging", f"{mnt}/versions/same{r}")

        results["rewrite"].append(timed(rewrite))
        os.sync()
        results["cp"].append(timed(lambda: subprocess.run(["cp", plain, plain + ".copy"], check=True)))
        os.remove(plain + ".copy")
    finally:
        subprocess.run(["fusermount3", "-u", mnt], check=False)
        proc.wait(timeout=30)

med = {k: statistics.median(v) for k, v in results.items()}
print(f"\ncommit of a {mib} MiB <f8 dataset in {size // chunk_bytes} chunks, median of {repeats} (s)")
print(f"  1% of chunks changed (dd + mv)           {med['one_pct']:.3f}")
print(f"  full identical rewrite (cp + mv)         {med['rewrite']:.3f}")
print(f"  plain cp of the same bytes (baseline)    {med['cp']:.3f}")
print("ratios:")
print(f"  1% commit / plain cp                     {med['one_pct'] / med['cp']:.2f}")
print(f"  identical rewrite + commit / plain cp    {med['rewrite'] / med['cp']:.2f}")
