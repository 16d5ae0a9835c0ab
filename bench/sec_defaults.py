"""New datasets with no chunks given (issue #15): N files of 100 <f8 each
written into staging/ (user.vh5.dtype set, nothing else) and committed;
the file's size beside versioned-hdf5 creating the same datasets with its
default chunks (create_dataset with no chunks), in the same run."""
import os
import struct
import time

from benchlib import Section, note, peer, run, vh5fs

ELEMENTS = 100


def run_section(ctx):
    n = 2000 if ctx.quick else 10000
    h5 = ctx.path("defaults.h5")
    run([ctx.tool("vh5"), "init", h5])
    empty = os.path.getsize(h5)
    s = Section(f"{n:,} new datasets of {ELEMENTS} <f8, chunks not given",
                "written through a mount (bytes, then user.vh5.dtype), one commit; "
                "versioned-hdf5: create_dataset(data=...) in one stage_version")
    with vh5fs(ctx, h5) as m:
        staging = os.path.join(m.mnt, "staging")
        t0 = time.perf_counter()
        for i in range(n):
            path = os.path.join(staging, f"d{i:05d}")
            with open(path, "wb") as f:
                f.write(struct.pack(f"<{ELEMENTS}d", *(float(i + k) for k in range(ELEMENTS))))
            os.setxattr(path, "user.vh5.dtype", b"<f8")
        write_secs = time.perf_counter() - t0
        chunks = os.getxattr(os.path.join(staging, "d00000"), "user.vh5.chunks").decode()
        t0 = time.perf_counter()
        os.rename(staging, os.path.join(m.mnt, "versions", "v1"))
        commit_secs = time.perf_counter() - t0
    size = os.path.getsize(h5) - empty
    s.figure("writing the files", write_secs, "s", f"chunks chosen: {chunks}")
    s.figure("commit (mv staging versions/v1)", commit_secs, "s")
    s.figure("FILE size", size / 2**20, "MiB", "over an empty versioned file")
    os.remove(h5)
    if ctx.vh_path:
        lib = ctx.path("defaults-lib.h5")
        got = peer(ctx, "vh_new_datasets", lib, n, ELEMENTS, timeout=3600)
        s.figure("versioned-hdf5: FILE size", got["bytes"] / 2**20, "MiB",
                 f"commit {got['seconds']:.1f} s, chunks {got['chunks']}")
        s.ratio("FILE size / versioned-hdf5's", size, got["bytes"], "<= 1.0", maximum=1.0)
        os.remove(lib)
    else:
        note(f"versioned-hdf5 not importable ({ctx.vh_why}): its figures skipped")
    s.print()
    return s
