"""Commits through a real mount: 1% of the chunks of the 1 GiB dataset changed,
a full rewrite with identical bytes, a full rewrite with all new bytes, each
followed by mv staging versions/NAME; baseline: coreutils cp of the same bytes
to a new file on the same disk. `sync` runs before every timed step and never
inside one: neither vh5fs's commit nor cp calls fsync."""
import os
import shutil
import subprocess

from benchlib import Section, fuse_ceiling, median, note, peer, run, timed, vh5fs
from sec_seq import plain_file, seq_file

CHUNK = 4096  # versioned-hdf5's default 1-D chunk
EVERY = 100   # one chunk in a hundred: 1%


def new_bytes(ctx):
    def make():
        path = ctx.path("new.bin")
        run([ctx.tool("bench_gen"), "raw", path, ctx.mib, 7])
        return path
    return ctx.data("new.bin", make)


def cp(src, dst):
    subprocess.run(["cp", src, dst], check=True)


def run_section(ctx):
    master = seq_file(ctx, CHUNK)
    plain = plain_file(ctx)
    new = new_bytes(ctx)
    size = ctx.mib << 20
    chunk_bytes = CHUNK * 8
    nchunks = size // chunk_bytes
    changed = len(range(0, nchunks, EVERY))
    reps = ctx.repeats
    h5 = ctx.path("commit.h5")
    s = Section(f"commit of a {ctx.mib} MiB 1-D <f8 dataset in {nchunks} chunks of {CHUNK} elements",
                f"through a mount; writes timed with the rename (mv staging versions/NAME); "
                f"sync before each step, none inside; median of {reps}; seconds")
    t = {k: [] for k in ("one", "one_mv", "same", "same_mv", "new", "new_mv", "cp", "grow_one",
                         "grow_same", "grow_new", "sink", "revert", "revert_mv", "grow_revert")}
    for r in range(reps):
        shutil.copyfile(master, h5)
        with vh5fs(ctx, h5) as m:
            staging = os.path.join(m.mnt, "staging")
            big = os.path.join(staging, "big")

            def step(name, write):
                os.sync()
                before = os.path.getsize(h5)
                tw = timed(write)
                tm = timed(lambda: os.rename(staging, os.path.join(m.mnt, "versions", f"{name}{r}")))
                t[name].append(tw + tm)
                t[name + "_mv"].append(tm)
                t["grow_" + name].append((os.path.getsize(h5) - before) / 2**20)

            def one_pct():
                fd = os.open(big, os.O_WRONLY)
                try:
                    for c in range(0, nchunks, EVERY):
                        os.pwrite(fd, b"\x01" * 8, c * chunk_bytes)
                finally:
                    os.close(fd)
            # Identical bytes first, while the base is still v1 (the same bytes).
            step("same", lambda: cp(plain, big))
            step("one", one_pct)
            step("new", lambda: cp(new, big))
            # Back to the first bytes with cp inside the mount (copy_file_range in vh5fs).
            step("revert", lambda: cp(os.path.join(m.mnt, "versions", f"same{r}", "big"), big))
        os.sync()
        dst = ctx.path("cp-copy.bin")
        t["cp"].append(timed(lambda: cp(plain, dst)))
        os.remove(dst)
        # What any FUSE filesystem costs cp: a do-nothing one that keeps nothing.
        with fuse_ceiling(ctx, 1 << 20) as m:
            sink = os.path.join(m.mnt, "sink")
            os.sync()
            t["sink"].append(timed(lambda: cp(plain, sink)))
    os.remove(h5)
    med = {k: median(v) for k, v in t.items()}
    one = s.figure(f"1% of chunks changed ({changed} pwrites of 8 bytes) + mv", med["one"], "s")
    s.figure("  of which mv (the commit)", med["one_mv"], "s", f"FILE grew {med['grow_one']:.1f} MiB")
    same = s.figure("full rewrite, identical bytes (cp) + mv", med["same"], "s")
    s.figure("  of which mv (the commit)", med["same_mv"], "s", f"FILE grew {med['grow_same']:.1f} MiB")
    newv = s.figure("full rewrite, all new bytes (cp) + mv", med["new"], "s")
    s.figure("  of which mv (the commit)", med["new_mv"], "s", f"FILE grew {med['grow_new']:.0f} MiB")
    rev = s.figure("revert: cp versions/OLD/big staging/big + mv", med["revert"], "s",
                   "inside the mount: copy_file_range, served by vh5fs")
    s.figure("  of which mv (the commit)", med["revert_mv"], "s", f"FILE grew {med['grow_revert']:.1f} MiB")
    base = s.figure("plain cp of the same bytes (baseline)", med["cp"], "s", "coreutils cp to a new file")
    sink = s.figure("cp into a do-nothing FUSE fs (FUSE write ceiling)", med["sink"], "s",
                    "bench/fuse_ceiling's sink: accepts writes, keeps nothing")
    peer_secs = None
    if ctx.vh_path:
        lib = ctx.path("lib.h5")
        shutil.copyfile(master, lib)
        os.sync()
        peer_secs = peer(ctx, "vh_commit_fraction", lib, "big", EVERY, "lib1")["seconds"]
        os.remove(lib)
        s.figure("versioned-hdf5: the same 1% change, stage_version", peer_secs, "s", "peer, one run")
    else:
        s.note(f"versioned-hdf5 not importable ({ctx.vh_why}): its 1% commit skipped")
    s.compare("1% change + commit", one, "< 0.3 s", one < 0.3, unit="s")
    s.ratio("identical rewrite + commit / plain cp", same, base, "<= 1.2", maximum=1.2)
    s.ratio("identical rewrite + commit / FUSE write ceiling", same, sink)
    s.ratio("new-bytes rewrite + commit / plain cp", newv, base)
    s.ratio("revert inside the mount + commit / plain cp", rev, base)
    if peer_secs:
        s.ratio("vh5fs 1% commit speed / versioned-hdf5's", peer_secs, one)
    s.print()
    ctx.discard("new.bin")
    return s
