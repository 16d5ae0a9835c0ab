#!/usr/bin/python3
"""The bench driver that bench/run starts: runs the sections and prints their
tables. See bench/README.md.

usage: bench.py BUILD_DIR WORK_DIR [--quick] [--repeats N] [--only SECTION,...] [--versions N]
"""
import argparse
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import benchlib  # noqa: E402
import sec_commit  # noqa: E402
import sec_defaults  # noqa: E402
import sec_history  # noqa: E402
import sec_memory  # noqa: E402
import sec_random  # noqa: E402
import sec_seq  # noqa: E402
import sec_times  # noqa: E402
import sec_versions  # noqa: E402
import sec_wide  # noqa: E402
import sec_zarr  # noqa: E402

SECTIONS = {
    "seq": sec_seq,
    "random": sec_random,
    "versions": sec_versions,
    "commit": sec_commit,
    "history": sec_history,
    "defaults": sec_defaults,
    "memory": sec_memory,
    "zarr": sec_zarr,
    "wide": sec_wide,
    "times": sec_times,
}

DEFAULT_VH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "peers")


def versioned_hdf5_path():
    """PYTHONPATH under which versioned-hdf5 imports, or None (with why)."""
    path = os.environ.get("VH5_BENCH_VERSIONED_HDF5", DEFAULT_VH)
    env = dict(os.environ, PYTHONPATH=path)
    p = subprocess.run(["/usr/bin/python3", "-c", "import versioned_hdf5"], env=env,
                       capture_output=True, text=True)
    if p.returncode == 0:
        return path, ""
    last = (p.stderr.strip().splitlines() or ["?"])[-1]
    return None, last


def main():
    # SIGTERM and SIGHUP unwind like Ctrl-C, so every mount is unmounted in order.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("work")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--only", default=",".join(SECTIONS))
    ap.add_argument("--versions", type=int, default=None)
    a = ap.parse_args()
    only = [s for s in a.only.split(",") if s]
    for s in only:
        if s not in SECTIONS:
            sys.exit(f"bench: unknown section {s} (sections: {', '.join(SECTIONS)})")
    vh, why = versioned_hdf5_path()
    ctx = benchlib.Context(a.build, a.work, a.quick, a.repeats or 3, vh)
    ctx.versions = a.versions or (1000 if a.quick else 10000)
    ctx.vh_why = why

    # Data: three 1 GiB files kept throughout, plus at most ~4 GiB in one section.
    need_gib = 2.5 if a.quick else 9
    st = os.statvfs(a.work)
    free_gib = st.f_bavail * st.f_frsize / 2**30
    if free_gib < need_gib:
        sys.exit(f"bench: {free_gib:.1f} GiB free under {a.work}; the bench needs about {need_gib} GiB"
                 " (set TMPDIR to a roomier disk)")
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(f"vh5fs bench{' --quick' if a.quick else ''}: {os.cpu_count()} cores, "
          f"load average {' '.join(load)} at start; work dir {a.work}")
    print("versioned-hdf5: " + (f"importable from {vh}" if vh else f"not importable ({why}); its figures are skipped"))
    t0 = time.perf_counter()
    for name in only:
        t = time.perf_counter()
        SECTIONS[name].run_section(ctx)
        benchlib.note(f"section {name} took {time.perf_counter() - t:.0f} s")
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(f"\ntotal {time.perf_counter() - t0:.0f} s; load average {' '.join(load)} at the end"
          " (other processes on the machine make every figure noisier)")


if __name__ == "__main__":
    main()
