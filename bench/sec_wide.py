"""A wide version (issue 15, point 2): version v1 of COUNT datasets of 100
`<f8` (bench_gen wide), then N commits through a mount, each changing one
element of one dataset (pwrite of 8 bytes, mv staging versions/NAME); beside
versioned-hdf5 doing the same on a copy of the same file (stage_version,
file kept open). Figures: the mv (the commit) per commit, FILE's growth per
commit, the daemon's CPU per commit, its VmHWM after all of them."""
import os
import shutil

from benchlib import Section, median, note, peer, proc_cpu_seconds, run, timed, vh5fs

ELEMENTS = 100


def wide_file(ctx, count):
    def make():
        path = ctx.path(f"wide{count}.h5")
        run([ctx.tool("bench_gen"), "wide", path, count, ELEMENTS])
        return path
    return ctx.data(f"wide{count}.h5", make)


def run_section(ctx):
    count = 10000
    commits = 3 if ctx.quick else 5
    peer_commits = 1 if ctx.quick else 3
    master = wide_file(ctx, count)
    h5 = ctx.path("wide-commit.h5")
    shutil.copyfile(master, h5)
    s = Section(f"commits on a version of {count} datasets of {ELEMENTS} <f8 (issue 15, point 2)",
                f"one element of one dataset changed per commit, through a mount (pwrite + mv); "
                f"{commits} commits, medians; versioned-hdf5: {peer_commits} stage_version "
                f"commits on a copy of the same file, kept open")
    secs, cpu, grow = [], [], []
    with vh5fs(ctx, h5) as m:
        for k in range(commits):
            staging = os.path.join(m.mnt, "staging")
            fd = os.open(os.path.join(staging, f"d{k:05d}"), os.O_WRONLY)
            try:
                os.pwrite(fd, b"\x01" * 8, 0)
            finally:
                os.close(fd)
            os.sync()
            before = os.path.getsize(h5)
            c0 = proc_cpu_seconds(m.pid)
            secs.append(timed(lambda: os.rename(staging, os.path.join(m.mnt, "versions", f"w{k}"))))
            cpu.append(proc_cpu_seconds(m.pid) - c0)
            grow.append((os.path.getsize(h5) - before) / 1024)
        hwm = m.memory()["VmHWM"]
    os.remove(h5)
    note(f"vh5fs wide commits: {', '.join(f'{x:.3f}' for x in secs)} s; "
         f"{', '.join(f'{g:.0f}' for g in grow)} KiB")
    t = s.figure("vh5fs: commit (mv) of one changed element", median(secs), "s")
    s.figure("vh5fs: daemon CPU per commit", median(cpu), "s", "user + system: what the load cannot inflate")
    g = s.figure("vh5fs: FILE growth per commit", median(grow), "KiB")
    s.figure("vh5fs: daemon VmHWM after the commits", hwm, "MiB")
    peer_t = peer_g = None
    if ctx.vh_path:
        lib = ctx.path("wide-lib.h5")
        shutil.copyfile(master, lib)
        r = peer(ctx, "vh_wide_commits", lib, peer_commits, timeout=1800)
        os.remove(lib)
        peer_t, peer_g = r["seconds"], r["kib"]
        s.figure("versioned-hdf5: the same commit", peer_t, "s", "peer, median")
        s.figure("versioned-hdf5: FILE growth per commit", peer_g, "KiB", "peer, file kept open")
    else:
        s.note(f"versioned-hdf5 not importable ({ctx.vh_why}): its wide commits skipped")
    s.compare("commit of one changed element", t, "< 0.3 s", t < 0.3, unit="s")
    s.compare("FILE growth per commit", g, "< 200 KiB", g < 200, unit="KiB")
    s.compare("daemon VmHWM", hwm, "< 384 MiB", hwm < 384, unit="MiB")
    if peer_t:
        s.ratio("vh5fs commit speed / versioned-hdf5's", peer_t, t)
        s.ratio("vh5fs growth / versioned-hdf5's", g, peer_g, "<= 1", maximum=1.0)
    s.print()
    return s
