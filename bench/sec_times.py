"""A file's own times (issue 16, point 7): `ls -l` of a version of 100
datasets whose mtimes come from walking prev_version, on a file of 2,000
versions (quick: 500) where one dataset changed at version 3 and the others
never: each stat walks the whole history once (memoized after)."""
import os
import shutil
import subprocess

from benchlib import Section, median, timed, vh5fs


def times_file(ctx, count):
    def make():
        h5 = ctx.path("times.h5")
        p = subprocess.run([ctx.tool("bench_gen"), "times", h5, str(count)],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"bench_gen times failed: {p.stderr.strip()}")
        return h5
    return ctx.data("times.h5", make)


def ls_l(path):
    subprocess.run(["ls", "-l", path], stdout=subprocess.DEVNULL, check=True)


def run_section(ctx):
    count = 500 if ctx.quick else 2000
    h5 = times_file(ctx, count)
    newest, oldest = f"v{count - 1:05d}", "v00000"
    reps = ctx.repeats
    s = Section(f"own times: ls -l of a 100-dataset version, {count:,} versions "
                f"({os.path.getsize(h5) / 2**20:.0f} MiB)",
                f"d000 changed in v00002, the rest never; fresh mount each time "
                f"(FILE in page cache); median of {reps}")
    fresh, warm, first_version = [], [], []
    wrong = []
    for _ in range(reps):
        with vh5fs(ctx, h5, options=("ro", "own_times")) as m:
            d = os.path.join(m.mnt, "versions", newest)
            fresh.append(timed(lambda: ls_l(d)))
            warm.append(timed(lambda: ls_l(d)))
            v2 = os.stat(os.path.join(m.mnt, "versions", "v00002")).st_mtime_ns
            v0 = os.stat(os.path.join(m.mnt, "versions", oldest)).st_mtime_ns
            if os.stat(os.path.join(d, "d000")).st_mtime_ns != v2 or \
                    os.stat(os.path.join(d, "d001")).st_mtime_ns != v0:
                wrong.append(1)
        with vh5fs(ctx, h5, options=("ro", "own_times")) as m:
            first_version.append(timed(lambda: ls_l(os.path.join(m.mnt, "versions", oldest))))
    plain = ctx.path("times-plain")
    os.makedirs(plain, exist_ok=True)
    for k in range(100):
        with open(os.path.join(plain, f"d{k:03d}"), "wb") as f:
            f.write(b"\0" * 4096)
    ls_l(plain)
    base = [timed(lambda: ls_l(plain)) for _ in range(reps)]
    shutil.rmtree(plain)
    if wrong:
        s.note("MISMATCH: d000/d001 mtimes are not v00002's/v00000's timestamps")
    f = s.figure(f"ls -l versions/{newest} (fresh mount)", median(fresh), "s")
    w = s.figure(f"ls -l versions/{newest} (again, same mount)", median(warm) * 1e3, "ms")
    b0 = s.figure(f"  baseline: ls -l versions/{oldest} (fresh mount, no history)",
                  median(first_version), "s")
    bp = s.figure("  baseline: ls -l of a local directory of 100 files", median(base) * 1e3, "ms")
    s.compare("ls -l fresh", f, "< 0.2 s", f < 0.2, unit="s")
    s.compare("ls -l warm", w, "< 20 ms", w < 20, unit="ms")
    s.ratio("fresh / no-history version", f, b0)
    s.ratio("warm / local directory", w, bp)
    s.print()
    ctx.discard("times.h5")
    return s
