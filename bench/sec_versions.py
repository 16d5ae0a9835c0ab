"""A file of 10,000 versions (1,000 with --quick): vh5fs mount time, ls of
versions/, stat in the oldest version, daemon memory; against h5py listing
the versions and versioned-hdf5 opening the file and a version."""
import datetime
import os
import re
import subprocess
import time

from benchlib import Section, fuse_ceiling, median, peer, timed, vh5fs

OLDEST = "v00000"
PATH = "data/series"


def versions_file(ctx):
    def make():
        h5 = ctx.path("versions.h5")
        t0 = time.perf_counter()
        p = subprocess.run([ctx.tool("bench_gen"), "versions", h5, str(ctx.versions)],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"bench_gen versions failed: {p.stderr.strip()}")
        ctx.versions_gen = (time.perf_counter() - t0, p.stderr)
        return h5
    return ctx.data("versions.h5", make)


def ls(path, *flags):
    return subprocess.run(["ls", *flags, path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          check=True).stdout


LOOKUPS = 1000  # at/TIME lookups per warm figure


def at_moments(versions_dir, oldest, newest, k):
    """k moments spread over the file's history (ISO, as at/ reads them)."""
    fmt = "%Y-%m-%d %H:%M:%S.%f%z"
    t0, t1 = (datetime.datetime.strptime(
        os.getxattr(os.path.join(versions_dir, v), "user.vh5.timestamp").decode(), fmt)
        for v in (oldest, newest))
    return [(t0 + (t1 - t0) * i / (k - 1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ") for i in range(k)]


def readlinks(paths):
    """Each a lookup and a readlink through FUSE (links time out at once)."""
    for p in paths:
        os.readlink(p)


def run_section(ctx):
    h5 = versions_file(ctx)
    n = ctx.versions
    gen_secs, gen_log = ctx.versions_gen
    laps = [float(x) for x in re.findall(r"at ([0-9.]+) ms each", gen_log)]
    reps = ctx.repeats
    s = Section(f"a file of {n:,} versions ({os.path.getsize(h5) / 2**20:.0f} MiB)",
                f"each version changes one chunk of {PATH} and an attribute of a group; "
                f"fresh mount each time (FILE in page cache); median of {reps}")
    mount, ls1, ls2, lsl, st_old, st_new, rd_old, mem = [], [], [], [], [], [], [], []
    at_first, at_warm, cur_warm, prev_deep = [], [], [], []
    newest = f"v{n - 1:05d}"
    for _ in range(reps):
        with vh5fs(ctx, h5) as m:
            mount.append(m.mount_seconds)
            v = os.path.join(m.mnt, "versions")
            ls1.append(timed(lambda: ls(v)))
            lsl.append(timed(lambda: ls(v, "-l")))
            ls2.append(timed(lambda: ls(v)))
            st_old.append(timed(lambda: os.stat(os.path.join(v, OLDEST, PATH))))
            st_new.append(timed(lambda: os.stat(os.path.join(v, newest, PATH))))

            def read_old():
                with open(os.path.join(v, OLDEST, PATH), "rb") as f:
                    f.read()
            rd_old.append(timed(read_old))
            # at/TIME: each lookup a binary search of the index (built on the
            # first, cold one, below). Baseline: readlink of current, the
            # same two FUSE requests with no index behind them.
            times = at_moments(v, OLDEST, newest, LOOKUPS)
            at = [os.path.join(m.mnt, "at", t) for t in times]
            os.readlink(at[0])
            at_warm.append(timed(lambda: readlinks(at)) / LOOKUPS)
            cur = [os.path.join(m.mnt, "current")] * LOOKUPS
            cur_warm.append(timed(lambda: readlinks(cur)) / LOOKUPS)
            deep = os.path.join(m.mnt, "prev", str(n - 1))
            os.readlink(deep)  # the chain, walked once
            prev_deep.append(timed(lambda: readlinks([deep] * LOOKUPS)) / LOOKUPS)
            mem.append(m.memory())
            listed = len(ls(v).split())
            if listed != n:
                s.note(f"ls versions listed {listed} names, expected {n}")

    # The first at/ lookup on a fresh mount reads every version's timestamp
    # (nothing else has read them yet) to build the index.
    for _ in range(reps):
        with vh5fs(ctx, h5) as m:
            at_first.append(timed(lambda: os.readlink(os.path.join(m.mnt, "at", times[len(times) // 2]))))

    floor = []
    for _ in range(reps):
        with fuse_ceiling(ctx, 1 << 20) as m:
            floor.append(m.mount_seconds)
    # The same ls then ls -l on a do-nothing filesystem's directory of as
    # many entries, listed with their attributes as versions/ is: what is
    # left is ls's three getxattr per entry, each a FUSE round trip.
    lsl_floor = []
    for _ in range(reps):
        with fuse_ceiling(ctx, 1 << 20, entries=n) as m:
            many = os.path.join(m.mnt, "many")
            ls(many)
            lsl_floor.append(timed(lambda: ls(many, "-l")))
    hl = [peer(ctx, "h5py_list_versions", h5) for _ in range(reps)]
    mt = s.figure("vh5fs mount (launch until stat versions/ succeeds)", median(mount), "s")
    fl = s.figure("  floor: bench/fuse_ceiling launch until usable", median(floor), "s",
                  "FUSE mount of a do-nothing filesystem")
    l1 = s.figure("ls versions (first, after mount)", median(ls1), "s")
    s.figure("ls versions (again)", median(ls2), "s")
    ll = s.figure("ls -l versions (fresh mount: the first ls -l)", median(lsl), "s")
    llf = s.figure(f"  floor: the same on a do-nothing FUSE directory of {n:,} entries",
                   median(lsl_floor), "s", "bench/fuse_ceiling, READDIRPLUS, no xattrs")
    s.figure(f"stat versions/{OLDEST}/{PATH} (oldest)", median(st_old) * 1e3, "ms")
    s.figure(f"stat versions/{newest}/{PATH} (newest)", median(st_new) * 1e3, "ms")
    s.figure(f"read versions/{OLDEST}/{PATH} (64 KiB)", median(rd_old) * 1e3, "ms")
    s.figure("at/TIME: first lookup on a fresh mount (index built)", median(at_first) * 1e3, "ms")
    aw = s.figure(f"at/TIME: warm lookup + readlink, {LOOKUPS} moments", median(at_warm) * 1e3, "ms")
    cw = s.figure("  baseline: readlink current (no index)", median(cur_warm) * 1e3, "ms")
    s.figure(f"prev/{n - 1}: warm lookup + readlink (chain cached)", median(prev_deep) * 1e3, "ms")
    s.figure("daemon VmRSS after these", median(x["VmRSS"] for x in mem), "MiB")
    s.figure("daemon VmHWM after these", median(x["VmHWM"] for x in mem), "MiB")
    h = s.figure("h5py: open FILE and list _version_data/versions", median(x["seconds"] for x in hl), "s",
                 "import not counted")
    vo = vt = None
    if ctx.vh_path:
        vh = [peer(ctx, "vh_open_version", h5, OLDEST, PATH) for _ in range(reps)]
        vo = s.figure("versioned-hdf5: VersionedHDF5File(f)", median(x["open_seconds"] for x in vh), "s",
                      "import not counted")
        s.figure(f"versioned-hdf5: vf['{OLDEST}']['{PATH}'][...]", median(x["version_seconds"] for x in vh), "s")
        ts = [peer(ctx, "vh_timestamps", h5) for _ in range(reps)]
        vt = s.figure("versioned-hdf5: every version's timestamp (all_versions)",
                      median(x["seconds"] for x in ts), "s", "open included, import not counted")
    else:
        s.note(f"versioned-hdf5 not importable ({ctx.vh_why}): its figures skipped")
    per_commit = f"{median(laps):.1f} ms per commit, last thousand {laps[-1]:.1f} ms" if laps else ""
    s.figure(f"making the file: bench_gen, {n:,} commits through one VersionedFile", gen_secs, "s",
             per_commit)
    s.compare("vh5fs mount", mt, "< 0.5 s", mt < 0.5, unit="s")
    s.compare("ls versions", l1, "< 0.2 s", l1 < 0.2, unit="s")
    s.compare("at/TIME warm lookup", aw, "< 1 ms", aw < 1.0, unit="ms")
    s.ratio("at/TIME warm lookup / readlink current", aw, cw)
    s.ratio("vh5fs mount time / FUSE floor", mt, fl)
    s.ratio("vh5fs mount time / h5py open + list", mt, h)
    s.ratio("ls versions time / h5py open + list", l1, h)
    s.ratio("ls -l versions (fresh) / FUSE floor", ll, llf)
    if vo:
        s.ratio("vh5fs mount time / versioned-hdf5 open", mt, vo)
        s.ratio("ls -l versions (fresh) / versioned-hdf5 timestamps", ll, vt, "<= 1.0x", maximum=1.0)
    s.print()
    ctx.discard("versions.h5")
    return s
