#!/usr/bin/python3
"""Live mounts: vh5fs mounted while versioned-hdf5, h5py and vh5 change FILE.

One scenario per run (each a ctest, interop_live_<scenario>):

  ro_follows_python     -o ro mount; versioned-hdf5 commits versions, each in
                        its own h5py.File(FILE, 'r+'), while reader processes
                        read every listed version; every byte read equals
                        h5py's; each version is listed (and `current` follows)
                        within 1 s of the writer's close(), never before it.
  rw_beside_python      read-write mount with staged changes while
                        versioned-hdf5 reads and commits; the commit lands on
                        staging's base; -o commit_wait=2 against an h5py 'r+'
                        holder (EBUSY, staging intact, then success); EEXIST
                        for a name committed elsewhere.
  deletes_while_mounted delete_versions, vh5 delete, vh5 set-current, vh5
                        repack on a mounted file (-o ro, then read-write)
                        while readers loop; deleted versions vanish (ENOENT)
                        within 1 s; descriptors opened before read ESTALE, EIO
                        or the old bytes; the rest stays exact.
  two_rw_mounts         two read-write mounts of one FILE commit concurrently;
                        every version lands, exact, listed by both within 1 s.
  reads_beside_a_long_writer
                        an h5py 'r+' holder keeps FILE open longer than a read
                        may wait (5 s): data the mount has loaded is still
                        served, exact (checked chunk by chunk); while a holder
                        runs delete_versions (chunks move) a read gives the
                        exact bytes or EAGAIN, never others; after it, exact.

The 1 s becomes 5 s when $VH5_SANITIZED is set (sanitizer builds), which also
scales the counts down. Exits 77 (skipped) when versioned_hdf5 is not
importable (../shared/peers, PYTHONPATH or $VH5_VERSIONED_HDF5_PATH).

usage: interop_live.py SCENARIO VH5FS VH5
"""
import errno
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import peers

peers.add_to_path()
try:
    import h5py
    import numpy as np
    from versioned_hdf5 import VersionedHDF5File, delete_versions
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

import h5py_oracle
import live_util

SANITIZED = bool(os.environ.get("VH5_SANITIZED"))
LATENCY = 5.0 if SANITIZED else 1.0  # the contract's refresh bound
HOLD_LIMIT = 5.0  # a writer holding FILE longer makes EAGAIN legitimate
SELF = os.path.abspath(__file__)
# The checks' record is live_util's, shared with the other live tests.
check = live_util.check
failures = live_util.failures


def sha(data):
    return hashlib.sha256(data).hexdigest()


def ms(seconds):
    return f"{seconds * 1000:.1f} ms"


def figures(label, values):
    if values:
        print(f"figure {label}: median {ms(statistics.median(values))}, max {ms(max(values))}, "
              f"n={len(values)}", flush=True)


def run(*argv):
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True)


# --- what h5py reads: the oracle ----------------------------------------------

def h5py_versions(file):
    with h5py.File(file, "r") as f:
        g = f["_version_data/versions"]
        return {"current": g.attrs["current_version"],
                "names": [n for n in g if n != "__first_version__"],
                "prev": {n: g[n].attrs["prev_version"] for n in g if n != "__first_version__"}}


def h5py_contents(file, names=None):
    """{version: {path: bytes}}, each dataset as its file in the mount
    (h5py_oracle.content: C order, vlen strings in the line format)."""
    out = {}
    with h5py.File(file, "r") as f:
        versions = f["_version_data/versions"]
        for name in names if names is not None else versions:
            if name == "__first_version__":
                continue
            datasets = {}
            versions[name].visititems(
                lambda p, o: datasets.__setitem__(p, h5py_oracle.content(o))
                if isinstance(o, h5py.Dataset) else None)
            out[name] = datasets
    return out


def read_fully(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        parts = []
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                return b"".join(parts)
            parts.append(b)
    finally:
        os.close(fd)


def tree_contents(base):
    """{path relative to `base`: bytes} of every file under `base`."""
    out = {}
    for dirpath, _, files in os.walk(base):
        for name in files:
            path = os.path.join(dirpath, name)
            out[os.path.relpath(path, base)] = read_fully(path)
    return out


def mount_contents(root, version):
    return tree_contents(os.path.join(root, "versions", version))


def first_difference(a, b):
    for i in range(min(len(a), len(b))):
        if a[i] != b[i]:
            return i
    return min(len(a), len(b))


def compare_tree(label, got, want):
    """got, want: {path: bytes}; one line per difference."""
    ok = check(sorted(got) == sorted(want),
               f"{label}: datasets {sorted(got)} (h5py: {sorted(want)})")
    for p in sorted(set(got) & set(want)):
        if got[p] != want[p]:
            d = first_difference(got[p], want[p])
            check(False, f"{label}/{p}: {len(got[p])} bytes, expected {len(want[p])}, first "
                         f"difference at byte {d}: {got[p][d:d + 24]!r} instead of "
                         f"{want[p][d:d + 24]!r}")
            ok = False
    return ok


# --- watching a mount ----------------------------------------------------------

class Poller(threading.Thread):
    """Lists versions/ and reads `current` every ~2 ms; records, per name, the
    end of the first listing that held it, and the first time `current`
    named each version."""

    def __init__(self, root):
        super().__init__(daemon=True)
        self.root = root
        self.first_seen, self.current_first = {}, {}
        self.errors = []
        self.polls = 0
        self._halt = threading.Event()

    def run(self):
        versions, current = os.path.join(self.root, "versions"), os.path.join(self.root, "current")
        while not self._halt.is_set():
            try:
                names = os.listdir(versions)
            except OSError as e:
                self.errors.append(("listdir", e.errno, time.monotonic()))
                names = None
            try:
                target = os.readlink(current)
            except OSError as e:
                target = None
                if e.errno != errno.ENOENT:
                    self.errors.append(("readlink", e.errno, time.monotonic()))
            t = time.monotonic()
            self.polls += 1
            if names is not None:
                for n in names:
                    self.first_seen.setdefault(n, t)
            if target and target.startswith("versions/"):
                self.current_first.setdefault(target[len("versions/"):], t)
            self._halt.wait(0.002)

    def stop(self):
        self._halt.set()
        self.join()


def wait_until(predicate, timeout):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


# --- reader processes ----------------------------------------------------------

class Readers:
    """N processes (this script's `_reader`), each looping over every version
    listed in versions/ and reading every dataset file fully with
    os.open/os.read. Each records every read's SHA-256 and every error; every
    distinct content goes to a samples directory, for diagnosis."""

    def __init__(self, root, n, work):
        self.dir = tempfile.mkdtemp(prefix="readers-", dir=work)
        self.samples = os.path.join(self.dir, "samples")
        os.mkdir(self.samples)
        self.stopfile = os.path.join(self.dir, "stop")
        self.procs = [subprocess.Popen([sys.executable, SELF, "_reader", root, self.stopfile,
                                        os.path.join(self.dir, f"r{i}"), self.samples])
                      for i in range(n)]
        self.results = None

    def loops(self, i):
        try:
            with open(os.path.join(self.dir, f"r{i}.loops")) as f:
                return int(f.read() or 0)
        except (OSError, ValueError):
            return 0

    def wait_full_loops(self, count=2, timeout=180):
        """Waits until every reader started `count` more loops: one loop
        wholly after this call."""
        start = [self.loops(i) for i in range(len(self.procs))]
        return wait_until(lambda: all(self.loops(i) >= s + count for i, s in enumerate(start)),
                          timeout)

    def stop(self):
        with open(self.stopfile, "w"):
            pass
        self.results = []
        for i, p in enumerate(self.procs):
            try:
                p.wait(timeout=120)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                check(False, f"reader {i} still running 120 s after being told to stop")
            try:
                with open(os.path.join(self.dir, f"r{i}.json")) as f:
                    self.results.append(json.load(f))
            except OSError:
                check(False, f"reader {i} left no results (exit status {p.returncode})")
                self.results.append({"reads": [], "errors": [], "trees": [], "loops": 0})
        return self.results

    def sample(self, digest):
        try:
            with open(os.path.join(self.samples, digest), "rb") as f:
                return f.read()
        except OSError:
            return None

    def kill(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    def judge(self, expected, allowed_errors=lambda version, err, t: False):
        """expected: {version: {path: bytes}}. Every read content must be
        h5py's; every error must be allowed (version, errno, time).
        Returns (reads, bytes, errors)."""
        want = {(v, p): sha(b) for v, d in expected.items() for p, b in d.items()}
        reads = nbytes = 0
        bad_reads, bad_errors, bad_trees = [], [], []
        for i, r in enumerate(self.results):
            for v, p, digest, size, count in r["reads"]:
                reads += count
                nbytes += size * count
                if want.get((v, p)) != digest:
                    bad_reads.append((i, v, p, digest, size, count))
            for v, p, err, count, first, last in r["errors"]:
                if not allowed_errors(v, err, first):
                    bad_errors.append((i, v, p, errno.errorcode.get(err, err), count))
            for v, files, count in r["trees"]:
                if v not in expected or sorted(files) != sorted(expected[v]):
                    bad_trees.append((i, v, sorted(files), count))
        for i, v, p, digest, size, count in bad_reads[:20]:
            got = self.sample(digest)
            exp = expected.get(v, {}).get(p)
            if exp is None:
                detail = "h5py has no such dataset"
            elif got is None:
                detail = "no sample kept"
            else:
                detail = (f"h5py {len(exp)} bytes, first difference at byte "
                          f"{first_difference(got, exp)}")
            print(f"  reader {i}: {v}/{p}: {count} read(s) of {size} bytes differ from h5py: "
                  f"{detail}")
        for e in bad_errors[:20]:
            print(f"  reader {e[0]}: {e[1]}/{e[2]}: {e[3]} ({e[4]}x)")
        for i, v, files, count in bad_trees[:10]:
            print(f"  reader {i}: {v} listed {files} ({count}x), h5py "
                  f"{sorted(expected.get(v, {}))}")
        check(not bad_reads, f"readers: every byte read equals h5py's ({len(bad_reads)} "
                             f"distinct wrong contents)")
        check(not bad_errors, f"readers: no errors ({sum(e[4] for e in bad_errors)})")
        check(not bad_trees, f"readers: every version's tree is h5py's ({len(bad_trees)} wrong)")
        loops = [r["loops"] for r in self.results]
        print(f"figure readers: {reads} reads, {nbytes / 1e6:.1f} MB, loops per reader {loops}",
              flush=True)
        return reads, nbytes, len(bad_errors)


def reader_main(root, stopfile, out, samples):
    versions = os.path.join(root, "versions")
    reads, trees, errors = {}, {}, {}  # errors: (version, path, errno) -> [count, first, last]
    loops = 0

    def error(v, rel, err):
        t = time.monotonic()
        e = errors.setdefault((v, rel, err), [0, t, t])
        e[0] += 1
        e[2] = t

    def stopped():
        return os.path.exists(stopfile)

    while not stopped():
        loops += 1
        with open(out + ".loops.tmp", "w") as f:
            f.write(str(loops))
        os.replace(out + ".loops.tmp", out + ".loops")
        try:
            names = sorted(os.listdir(versions))
        except OSError as e:
            error("", "", e.errno)
            time.sleep(0.01)
            continue
        for v in names:
            if stopped():
                break
            base = os.path.join(versions, v)
            files = []
            walk_failed = []

            def onerror(e, v=v, base=base):
                walk_failed.append(1)
                error(v, os.path.relpath(e.filename or base, base), e.errno)

            for dirpath, _, fnames in os.walk(base, onerror=onerror):
                files += [os.path.relpath(os.path.join(dirpath, n), base) for n in fnames]
            if not walk_failed:
                key = (v, "\n".join(sorted(files)))
                trees[key] = trees.get(key, 0) + 1
            for rel in files:
                try:
                    data = read_fully(os.path.join(base, rel))
                except OSError as e:
                    error(v, rel, e.errno)
                    continue
                digest = sha(data)
                key = (v, rel, digest, len(data))
                if key not in reads:
                    sample = os.path.join(samples, digest)
                    if not os.path.exists(sample):
                        with open(sample + f".{os.getpid()}", "wb") as f:
                            f.write(data)
                        os.replace(sample + f".{os.getpid()}", sample)
                reads[key] = reads.get(key, 0) + 1
    with open(out + ".json", "w") as f:
        json.dump({"reads": [[*k, c] for k, c in reads.items()],
                   "trees": [[v, files.split("\n") if files else [], c]
                             for (v, files), c in trees.items()],
                   "errors": [[*k, *c] for k, c in errors.items()], "loops": loops}, f)


# --- versioned-hdf5 writers ----------------------------------------------------

def make_first_version(file, name="v000"):
    rng = np.random.default_rng(20261207)
    with h5py.File(file, "w") as f:
        vf = VersionedHDF5File(f)
        with vf.stage_version(name) as g:
            g.create_dataset("grid", data=rng.standard_normal((200, 100)), chunks=(50, 25))
            g.create_dataset("ints", data=np.arange(40000, dtype="<i4"), chunks=(4096,))
            g.create_dataset("packed", data=(np.arange(30000, dtype="<i8") % 97), chunks=(5000,),
                             compression="gzip", compression_opts=4)
            g.create_group("grp")
            g["grp"].create_dataset(
                "labels", data=np.array([b"l%05d" % i for i in range(1000)], dtype="S8"),
                chunks=(256,))


def change_version(g, i, rng):
    """What the i-th commit of ro_follows_python changes: a few chunks of
    each dataset; every 5th adds a dataset, every 7th removes one it added;
    `ints` is removed at 20 and made again at 30."""
    for _ in range(3):
        g["grid"][int(rng.integers(200)), int(rng.integers(100))] = float(rng.standard_normal())
    if "ints" in g:
        s = int(rng.integers(40000 - 100))
        g["ints"][s:s + 100] = rng.integers(-2**31, 2**31 - 1, size=100, dtype="<i4")
    g["packed"][int(rng.integers(30000))] = int(rng.integers(1 << 40))
    g["grp/labels"][int(rng.integers(1000))] = b"w%07d" % i
    if i % 5 == 0:
        g.create_dataset(f"extra{i:03d}", data=rng.integers(0, 1000, size=3000).astype("<i2"),
                         chunks=(1024,))
    if i % 7 == 0:
        added = sorted(n for n in g if n.startswith("extra"))
        if added:
            del g[added[0]]
    if i == 20 and "ints" in g:
        del g["ints"]
    if i == 30:
        g.create_dataset("ints", data=np.arange(40000, dtype="<i4") * i, chunks=(4096,))


def writer_main(file, count):
    """Commits v001..v<count>, each in its own r+ open; one JSON line per
    commit: when the open began, when close began and when it returned."""
    rng = np.random.default_rng(7)
    for i in range(1, count + 1):
        name = f"v{i:03d}"
        t_open = time.monotonic()
        with h5py.File(file, "r+") as f:
            t_opened = time.monotonic()
            vf = VersionedHDF5File(f)
            with vf.stage_version(name) as g:
                change_version(g, i, rng)
            t_closing = time.monotonic()
        t_closed = time.monotonic()
        print(json.dumps({"name": name, "open": t_open, "opened": t_opened,
                          "closing": t_closing, "closed": t_closed}), flush=True)


def holder_main(file):
    """Holds FILE open with h5py 'r+' until stdin closes."""
    with h5py.File(file, "r+"):
        print("held", flush=True)
        sys.stdin.read()


def commit_python(file, name, change):
    """One versioned-hdf5 commit in its own r+ open; returns close()'s return time."""
    with h5py.File(file, "r+") as f:
        vf = VersionedHDF5File(f)
        with vf.stage_version(name) as g:
            change(g)
    return time.monotonic()


# --- scenarios -----------------------------------------------------------------

def ro_follows_python(work, vh5fs, vh5):
    count, nreaders = (15, 2) if SANITIZED else (50, 4)
    file = os.path.join(work, "live.h5")
    make_first_version(file)
    with live_util.Mount(vh5fs, file, "-o", "ro") as m:
        poller = Poller(m.root)
        poller.start()
        readers = Readers(m.root, nreaders, work)
        try:
            check(wait_until(lambda: "v000" in poller.first_seen, LATENCY),
                  "the first version is listed")
            writer = subprocess.Popen([sys.executable, SELF, "_writer", file, str(count)],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            commits = [json.loads(line) for line in writer.stdout]
            err = writer.stderr.read()
            writer.wait()
            check(writer.returncode == 0 and len(commits) == count,
                  f"versioned-hdf5 committed {len(commits)} of {count} versions while mounted "
                  f"-o ro (status {writer.returncode}) {' / '.join(err.strip().splitlines()[-2:])}")
            names = [c["name"] for c in commits]
            all_listed = wait_until(
                lambda: all(n in poller.first_seen for n in names)
                and (not names or names[-1] in poller.current_first), LATENCY + 5)
            check(all_listed, "every committed version is listed and `current` reached the last")
            check(readers.wait_full_loops(), "every reader read every version after the last commit")
        finally:
            readers.stop()
            poller.stop()
            readers.kill()
        holds = [c["closed"] - c["open"] for c in commits]
        figures("writer open..close", holds)
        figures("writer h5py.File(r+) open", [c["opened"] - c["open"] for c in commits])
        listing, current = [], []
        for k, c in enumerate(commits):
            n = c["name"]
            if n in poller.first_seen:
                t = poller.first_seen[n]
                check(t >= c["closing"], f"{n} not listed before its writer closed FILE")
                listing.append(t - c["closed"])
            # `current` follows when it names this version or a later one
            # (the next writer may open FILE before the mount read this one).
            later = [poller.current_first[c2["name"]] for c2 in commits[k:]
                     if c2["name"] in poller.current_first]
            if later:
                current.append(min(later) - c["closed"])
            hold = c["closed"] - c["open"]
            if (hold > 1 or n not in poller.first_seen or n not in poller.current_first
                    or poller.first_seen[n] - c["closed"] > LATENCY):
                print(f"  {n}: writer open..close {ms(hold)} (open(2) took "
                      f"{ms(c['opened'] - c['open'])}, closing took "
                      f"{ms(c['closed'] - c['closing'])}), listed "
                      f"{ms(poller.first_seen[n] - c['closed']) if n in poller.first_seen else 'never'}"
                      f", current "
                      f"{ms(poller.current_first[n] - c['closed']) if n in poller.current_first else 'never (a later one)'}"
                      f" after close")
        figures("listing latency (close -> versions/)", listing)
        figures("current latency (close -> readlink)", current)
        print(f"figure poller: {poller.polls} polls", flush=True)
        check(len(listing) == len(commits) and all(t < LATENCY for t in listing),
              f"each version listed within {LATENCY:g} s of close() "
              f"(max {ms(max(listing)) if listing else '-'})")
        check(len(current) == len(commits) and all(t < LATENCY for t in current),
              f"`current` followed within {LATENCY:g} s of close() "
              f"(max {ms(max(current)) if current else '-'})")
        check(not poller.errors, f"listing and readlink never failed: {poller.errors[:5]}")
    check(m.status == 0, f"vh5fs exited 0 after the unmount ({m.status})")
    expected = h5py_contents(file)
    check(sorted(expected) == sorted(["v000"] + [c["name"] for c in commits]),
          f"h5py reads {len(expected)} versions")
    long_hold = any(h > HOLD_LIMIT for h in holds)
    opens = [c["opened"] - c["open"] for c in commits]
    check(not long_hold, f"no writer's open..close took {HOLD_LIMIT:g} s or more (longest "
                         f"{ms(max(holds)) if holds else '-'}, of which its h5py.File(r+) open "
                         f"{ms(max(opens)) if opens else '-'}: the mount's lease break)")
    readers.judge(expected)  # EAGAIN counts: no writer held FILE > 5 s


def staged_view(root):
    return tree_contents(os.path.join(root, "staging"))


def stage_changes(root, tag, base_values):
    """A new dataset (<i8, shape 500) and 8 bytes changed in `values`;
    returns the expected staging content changes {path: bytes}."""
    st = os.path.join(root, "staging")
    added = (np.arange(500, dtype="<i8") * 3 + len(tag)).tobytes()
    path = os.path.join(st, f"added_{tag}")
    with open(path, "wb") as f:
        f.write(added)
    os.setxattr(path, "user.vh5.dtype", b"<i8")
    os.setxattr(path, "user.vh5.chunks", b"128")
    with open(os.path.join(st, "values"), "r+b") as f:
        f.seek(8 * 1234)
        f.write(np.array([-7.5], dtype="<f8").tobytes())
    values = bytearray(base_values)
    values[8 * 1234:8 * 1235] = np.array([-7.5], dtype="<f8").tobytes()
    return {f"added_{tag}": added, "values": bytes(values)}


def rw_beside_python(work, vh5fs, vh5):
    file = os.path.join(work, "live.h5")
    with h5py.File(file, "w") as f:
        vf = VersionedHDF5File(f)
        with vf.stage_version("p1") as g:
            g.create_dataset("values", data=np.arange(10000, dtype="<f8"), chunks=(1000,))
            g.create_dataset("m", data=np.arange(60 * 7, dtype="<i4").reshape(60, 7),
                             chunks=(16, 4), fillvalue=-1)
    commit_python(file, "p2", lambda g: g["values"].__setitem__(5, 55.0))
    base = h5py_contents(file, ["p2"])["p2"]
    shown = {}  # version -> what the mount showed
    with live_util.Mount(vh5fs, file, "-o", "commit_wait=2") as m:
        st, versions = os.path.join(m.root, "staging"), os.path.join(m.root, "versions")
        check(os.getxattr(st, "user.vh5.prev_version") == b"p2", "staging is based on p2")
        staged = dict(base)
        staged.update(stage_changes(m.root, "x", base["values"]))
        check(staged_view(m.root) == staged, "staging shows the staged changes")

        # versioned-hdf5 reads and commits while the mount has changes staged.
        try:
            with h5py.File(file, "r") as f:
                check(np.array_equal(VersionedHDF5File(f)["p2"]["values"][:], np.frombuffer(
                    base["values"], "<f8")), "versioned-hdf5 reads p2 beside the mount")
        except OSError as e:
            check(False, f"versioned-hdf5 opens FILE 'r' beside a read-write mount: {e}")
        t = None
        try:
            commit_python(file, "p3", lambda g: g["values"].__setitem__(slice(0, 3), -1.0))
            t = commit_python(file, "p4", lambda g: g["m"].__setitem__((0, 0), 99))
        except OSError as e:
            check(False, f"versioned-hdf5 commits beside a read-write mount: {e}")
        if t is not None:
            check(wait_until(lambda: "p4" in os.listdir(versions), LATENCY),
                  "the mount lists p3 and p4 within the latency bound")
            check(os.readlink(os.path.join(m.root, "current")) == "versions/p4",
                  "`current` follows to p4")
        check(os.getxattr(st, "user.vh5.prev_version") == b"p2", "staging is still based on p2")
        check(staged_view(m.root) == staged, "staging still shows exactly the staged content")

        os.rename(st, os.path.join(versions, "X"))
        check(os.getxattr(os.path.join(versions, "X"), "user.vh5.prev_version") == b"p2",
              "X's prev_version is p2, staging's base")
        compare_tree("X through the mount = p2 + staged", mount_contents(m.root, "X"), staged)

        # A commit waits for an h5py 'r+' holder up to commit_wait, then EBUSY.
        base = mount_contents(m.root, "X")
        staged = dict(base)
        staged.update(stage_changes(m.root, "y", base["values"]))
        holder = subprocess.Popen([sys.executable, SELF, "_holder", file], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        try:
            check(holder.stdout.readline().strip() == "held",
                  "a child process holds FILE open with h5py 'r+' beside the mount")
            t0 = time.monotonic()
            try:
                os.rename(st, os.path.join(versions, "Y"))
                got = "success"
            except OSError as e:
                got = errno.errorcode.get(e.errno, str(e.errno))
            waited = time.monotonic() - t0
            print(f"figure commit against a holder: {got} after {waited:.2f} s (commit_wait=2)")
            check(got == "EBUSY", f"mv staging versions/Y while h5py holds FILE: {got}")
            check(waited >= 1.0, f"the commit waited for the holder ({waited:.2f} s)")
            check(not os.path.exists(os.path.join(versions, "Y")), "Y does not exist")
            # (its data is read once the holder is gone: while another process
            # has FILE open for writing, unloaded data may wait and EAGAIN)
            check(sorted(os.listdir(st)) == sorted(staged), "staging keeps its names after EBUSY")
        finally:
            holder.stdin.close()
            holder.wait()
        check(staged_view(m.root) == staged, "staging intact after EBUSY")
        if not os.path.exists(os.path.join(versions, "Y")):
            os.rename(st, os.path.join(versions, "Y"))
        compare_tree("Y through the mount = X + staged", mount_contents(m.root, "Y"), staged)

        # A name committed elsewhere meanwhile: EEXIST, staging intact.
        base = mount_contents(m.root, "Y")
        staged = dict(base)
        staged.update(stage_changes(m.root, "z", base["values"]))
        commit_python(file, "pz", lambda g: g["values"].__setitem__(9, 9.0))
        check(wait_until(lambda: "pz" in os.listdir(versions), LATENCY), "the mount lists pz")
        try:
            os.rename(st, os.path.join(versions, "pz"))
            got = "success"
        except OSError as e:
            got = errno.errorcode.get(e.errno, str(e.errno))
        check(got == "EEXIST", f"mv staging versions/pz (committed by Python): {got}")
        check(staged_view(m.root) == staged, "staging intact after EEXIST")
        os.rename(st, os.path.join(versions, "Z"))
        check(os.getxattr(os.path.join(versions, "Z"), "user.vh5.prev_version") == b"Y",
              "Z's prev_version is Y")
        for v in os.listdir(versions):
            shown[v] = mount_contents(m.root, v)
    check(m.status == 0, f"vh5fs exited 0 after the unmount ({m.status})")
    r = run(vh5, "verify", file)
    check(r.returncode == 0, f"vh5 verify: {r.stdout.strip()} {r.stderr.strip()}")
    check(sorted(shown) == sorted(["p1", "p2", "p3", "p4", "X", "Y", "pz", "Z"]),
          f"the mount listed {sorted(shown)}")
    # versioned-hdf5 reads every version as the mount showed it.
    with h5py.File(file, "r") as f:
        vf = VersionedHDF5File(f)
        for v, tree in shown.items():
            for p, data in tree.items():
                got = np.ascontiguousarray(vf[v][p][()]).tobytes()
                check(got == data, f"versioned-hdf5 reads {v}/{p} as the mount showed it")


def deletes_sequence(work, vh5fs, vh5, mode):
    file = os.path.join(work, f"live-{mode}.h5")
    names = [f"d{i:02d}" for i in range(12)]
    make_first_version(file, names[0])
    rng = np.random.default_rng(11)
    for i, n in enumerate(names[1:], 1):
        commit_python(file, n, lambda g, i=i: change_version(g, i, rng))
    expected = h5py_contents(file)  # a version's content never changes
    deleted = {}  # name -> when the command deleting it returned
    opts = ["-o", "ro"] if mode == "ro" else []
    print(f"-- deletes_while_mounted, mount {'-o ro' if mode == 'ro' else 'read-write'}")
    remaining = list(names)
    with live_util.Mount(vh5fs, file, *opts) as m:
        versions = os.path.join(m.root, "versions")
        readers = Readers(m.root, 1 if SANITIZED else 2, work)
        try:
            check(readers.wait_full_loops(1, 60), "readers started")

            def delete(label, gone, action):
                # Descriptors opened before: on the versions deleted, and on
                # every other one (whose chunks a delete or repack may move).
                held = {}
                try:
                    for v in remaining:
                        for p in expected[v]:
                            held[(v, p)] = os.open(os.path.join(versions, v, p), os.O_RDONLY)
                    action()
                except Exception as e:  # noqa: BLE001 - reported as a failure
                    for fd in held.values():
                        os.close(fd)
                    check(False, f"{label}: {e}")
                    return
                t = time.monotonic()
                for v in gone:
                    deleted[v] = t
                    remaining.remove(v)

                unlisted, enoent = {}, {}  # when each way of asking first said gone

                def vanished():
                    listed = set(os.listdir(versions))
                    now = time.monotonic()
                    for v in gone:
                        if v not in listed:
                            unlisted.setdefault(v, now)
                        try:
                            os.stat(os.path.join(versions, v))
                        except FileNotFoundError:
                            enoent.setdefault(v, time.monotonic())
                    return len(unlisted) == len(enoent) == len(gone)

                ok = wait_until(vanished, LATENCY)
                if not ok:
                    wait_until(vanished, 10)  # only to report when it happens
                if gone:
                    print(f"figure {label}: gone from listdir after "
                          f"{ms(max(unlisted.values()) - t) if len(unlisted) == len(gone) else 'never (10 s)'}"
                          f", stat ENOENT after "
                          f"{ms(max(enoent.values()) - t) if len(enoent) == len(gone) else 'never (10 s)'}",
                          flush=True)
                check(ok, f"{label}: {', '.join(gone)} ENOENT within {LATENCY:g} s")
                outcomes = {}
                for (v, p), fd in held.items():
                    want = expected[v][p]
                    try:
                        got = os.pread(fd, len(want) + 1, 0)
                        while len(got) < len(want) + 1:
                            more = os.pread(fd, len(want) + 1 - len(got), len(got))
                            if not more:
                                break
                            got += more
                        what = "old bytes" if got == want else "OTHER BYTES"
                    except OSError as e:
                        what = errno.errorcode.get(e.errno, str(e.errno))
                    finally:
                        os.close(fd)
                    kind = "deleted" if v in gone else "kept"
                    outcomes.setdefault(f"{kind}: {what}", []).append(f"{v}/{p}")
                print(f"  {label}: descriptors opened before: "
                      f"{ {k: len(v) for k, v in outcomes.items()} }")
                bad = {k: v for k, v in outcomes.items()
                       if k.split(": ")[1] not in ("old bytes", "ESTALE", "EIO")}
                check(not bad, f"{label}: descriptors opened before read ESTALE, EIO or the old "
                               f"bytes: "
                               f"{ {k: v[:3] for k, v in bad.items()} }")
                listed = sorted(os.listdir(versions))
                check(listed == sorted(remaining), f"{label}: versions/ lists {listed}")
                for v in remaining:
                    compare_tree(f"{label}: {v}", mount_contents(m.root, v), expected[v])

            def python_delete():
                with h5py.File(file, "r+") as f:
                    delete_versions(f, ["d01", "d02"])

            def vh5_command(*args):
                def action():
                    r = run(vh5, *args)
                    if r.returncode != 0:
                        raise RuntimeError(f"vh5 {' '.join(args[:1])} exited {r.returncode}: "
                                           f"{r.stderr.strip()}")
                return action

            delete("delete_versions(d01, d02)", ["d01", "d02"], python_delete)
            delete("vh5 delete d04", ["d04"], vh5_command("delete", file, "d04"))
            t = time.monotonic()
            r = run(vh5, "set-current", file, "d06")
            check(r.returncode == 0, f"vh5 set-current d06: {r.stderr.strip()}")
            follows = wait_until(
                lambda: os.readlink(os.path.join(m.root, "current")) == "versions/d06", LATENCY)
            print(f"figure set-current: `current` followed after {ms(time.monotonic() - t)}")
            check(follows, f"`current` follows set-current within {LATENCY:g} s")
            delete("vh5 repack", [], vh5_command("repack", file))
            delete("vh5 delete d08 after the repack", ["d08"], vh5_command("delete", file, "d08"))
            if mode == "rw":
                st = os.path.join(m.root, "staging")
                check(os.getxattr(st, "user.vh5.prev_version") == b"d11",
                      "staging is still based on d11")
                with open(os.path.join(st, "after"), "wb") as f:
                    f.write(b"after the deletes\n")
                try:
                    os.rename(st, os.path.join(versions, "after"))
                    want = dict(expected["d11"], after=b"after the deletes\n")
                    compare_tree("after (commit through the mount)",
                                 mount_contents(m.root, "after"), want)
                    expected["after"] = want
                    remaining.append("after")
                except OSError as e:
                    check(False, f"mv staging versions/after: {e}")
            check(readers.wait_full_loops(), "readers went through every version once more")
        finally:
            readers.stop()
            readers.kill()
    check(m.status == 0, f"vh5fs exited 0 after the unmount ({m.status})")

    def allowed(v, err, t):
        # A deleted version's names may vanish under a reader, or its open
        # files go stale, from the moment its delete began.
        return v in deleted and err in (errno.ENOENT, errno.ESTALE, errno.EIO)

    readers.judge(expected, allowed)
    now = h5py_versions(file)
    check(sorted(now["names"]) == sorted(remaining), f"h5py lists {sorted(now['names'])}")
    for v in remaining:
        compare_tree(f"h5py after everything: {v}", h5py_contents(file, [v])[v], expected[v])
    r = run(vh5, "verify", file)
    check(r.returncode == 0, f"vh5 verify: {r.stdout.strip()} {r.stderr.strip()}")


def deletes_while_mounted(work, vh5fs, vh5):
    deletes_sequence(work, vh5fs, vh5, "ro")
    deletes_sequence(work, vh5fs, vh5, "rw")


def two_rw_mounts(work, vh5fs, vh5):
    count = 6 if SANITIZED else 20
    file = os.path.join(work, "live.h5")
    make_first_version(file, "base")
    commits = {}  # name -> (mount tag, when rename returned)
    ebusy = {"a": 0, "b": 0}
    # commit_wait=10 (not 30): a commit that waits for nothing fails sooner.
    with live_util.Mount(vh5fs, file, "-o", "commit_wait=10") as ma:
        with live_util.Mount(vh5fs, file, "-o", "commit_wait=10") as mb:
            mounts = {"a": ma, "b": mb}
            pollers = {k: Poller(mm.root) for k, mm in mounts.items()}
            for p in pollers.values():
                p.start()

            def committer(tag):
                root = mounts[tag].root
                st = os.path.join(root, "staging")
                for i in range(count):
                    name, data = f"{tag}-{i:02d}", (f"{tag} {i}\n" * (100 + i)).encode()
                    try:
                        with open(os.path.join(st, f"{tag}_{i:02d}"), "wb") as f:
                            f.write(data)
                        while True:
                            t = time.monotonic()
                            try:
                                os.rename(st, os.path.join(root, "versions", name))
                                if time.monotonic() - t > 1:
                                    print(f"  {name}: the commit took {time.monotonic() - t:.2f} s")
                                break
                            except OSError as e:
                                if e.errno != errno.EBUSY:
                                    raise
                                print(f"  {name}: EBUSY after {time.monotonic() - t:.2f} s "
                                      f"(commits so far: {sorted(commits)[-3:]})", flush=True)
                                ebusy[tag] += 1
                                if read_fully(os.path.join(st, f"{tag}_{i:02d}")) != data:
                                    check(False, f"{name}: staging lost its change on EBUSY")
                                    return
                        commits[name] = (tag, time.monotonic())
                    except OSError as e:
                        check(False, f"mount {tag}: commit {name}: "
                                     f"{errno.errorcode.get(e.errno, e.errno)} {e}")
                        return

            threads = [threading.Thread(target=committer, args=(t,)) for t in mounts]
            t0 = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.monotonic() - t0
            print(f"figure two mounts: {len(commits)} commits in {elapsed:.1f} s, EBUSY retries "
                  f"{ebusy}", flush=True)
            check(len(commits) == 2 * count, f"{len(commits)} of {2 * count} commits landed")
            everything = set(commits) | {"base"}
            for k, p in pollers.items():
                wait_until(lambda p=p: everything <= set(p.first_seen), LATENCY + 5)
            for p in pollers.values():
                p.stop()
            lat = []
            for name, (tag, t) in commits.items():
                other = "b" if tag == "a" else "a"
                seen = pollers[other].first_seen.get(name)
                lat.append(seen - t if seen is not None else float("inf"))
            figures("the other mount lists a commit", [x for x in lat if x != float("inf")])
            check(all(x < LATENCY for x in lat),
                  f"each commit listed by the other mount within {LATENCY:g} s "
                  f"({sum(x == float('inf') for x in lat)} never)")
            for k, mm in mounts.items():
                listed = set(os.listdir(os.path.join(mm.root, "versions")))
                check(everything <= listed, f"mount {k} lists all {len(everything)} versions "
                                            f"(missing {sorted(everything - listed)[:5]})")
            shown = {k: {v: mount_contents(mm.root, v) for v in sorted(everything)}
                     for k, mm in mounts.items()}
    check(ma.status == 0 and mb.status == 0, f"both vh5fs exited 0 ({ma.status}, {mb.status})")
    info = h5py_versions(file)
    check(everything <= set(info["names"]), "h5py lists every committed version")
    expected = h5py_contents(file)
    for name in sorted(commits):
        tag, i = name.split("-")
        prev = info["prev"].get(name)
        want = dict(expected.get(prev, {}))
        want[f"{tag}_{i}"] = (f"{tag} {int(i)}\n" * (100 + int(i))).encode()
        compare_tree(f"{name} (prev {prev}) = its base + its one dataset",
                     expected.get(name, {}), want)
    for k in shown:
        for v, tree in shown[k].items():
            compare_tree(f"mount {k} showed {v}", tree, expected.get(v, {}))
    r = run(vh5, "verify", file)
    check(r.returncode == 0, f"vh5 verify: {r.stdout.strip()} {r.stderr.strip()}")


def holder_run(file, seconds, delete=None):
    """Holds FILE open 'r+' for `seconds` (after delete_versions(`delete`))."""
    with h5py.File(file, "r+") as f:
        if delete:
            delete_versions(f, delete)
        print("held", flush=True)
        time.sleep(float(seconds))


def uncached_read(path):
    """The file's bytes from vh5fs, not from the page cache."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return read_fully(path)


def reads_beside_a_long_writer(work, vh5fs, vh5):
    file = os.path.join(work, "live.h5")
    make_first_version(file)
    rng = np.random.default_rng(11)
    for i in range(1, 5):
        commit_python(file, f"v{i:03d}", lambda g, i=i: change_version(g, i, rng))
    hold = HOLD_LIMIT + 3  # longer than any read may wait for a writer
    with live_util.Mount(vh5fs, file, "-o", "ro") as m:
        want = h5py_contents(file)
        check(set(want) == set(os.listdir(os.path.join(m.root, "versions"))), "versions listed")
        for version in want:  # loads every dataset's layout
            check(mount_contents(m.root, version) == want[version], f"{version} exact")

        def during(label, delete, allowed):
            holder = subprocess.Popen([sys.executable, SELF, "_hold_for", file, str(hold)]
                                      + list(delete), stdout=subprocess.PIPE, text=True)
            try:
                check(holder.stdout.readline().strip() == "held", f"{label}: the holder holds FILE")
                start = time.monotonic()
                served = wrong = 0
                errors = {}
                for version in sorted(want):
                    for path, content in sorted(want[version].items()):
                        if version in delete:
                            continue
                        try:
                            got = uncached_read(os.path.join(m.root, "versions", version, path))
                        except OSError as e:
                            errors[errno.errorcode[e.errno]] = errors.get(errno.errorcode[e.errno], 0) + 1
                            continue
                        if got == content:
                            served += 1
                        else:
                            wrong += 1
                            print(f"  {label}: {version}/{path}: {first_difference(got, content)}")
                reading = time.monotonic() - start
                # Moved chunks (delete_versions) may wait for the writer: only
                # reads that need nothing moved must end while it still holds FILE.
                if not delete:
                    check(holder.poll() is None, f"{label}: the holder still held FILE when the "
                          f"reads ended ({reading:.2f} s)")
                print(f"figure {label}: {served} files exact, {wrong} wrong, errors {errors}, "
                      f"in {reading:.2f} s while FILE was held")
                check(wrong == 0, f"{label}: no byte other than the version's")
                check(set(errors) <= allowed, f"{label}: errors only {sorted(allowed)}: {errors}")
                return served
            finally:
                holder.wait(timeout=60)

        served = during("plain holder", [], set())
        check(served > 0, "data served while another process held FILE")
        during("delete_versions holder", ["v002"], {"EAGAIN", "ESTALE"})
        after = h5py_contents(file)
        check(wait_until(lambda: "v002" not in os.listdir(os.path.join(m.root, "versions")), LATENCY),
              "v002 gone")
        for version in after:
            check(mount_contents(m.root, version) == after[version], f"{version} exact after the delete")


SCENARIOS = {f.__name__: f for f in (ro_follows_python, rw_beside_python, deletes_while_mounted,
                                     two_rw_mounts, reads_beside_a_long_writer)}


def main(argv):
    if argv[1:2] == ["_reader"]:
        return reader_main(*argv[2:6])
    if argv[1:2] == ["_writer"]:
        return writer_main(argv[2], int(argv[3]))
    if argv[1:2] == ["_holder"]:
        return holder_main(argv[2])
    if argv[1:2] == ["_hold_for"]:
        return holder_run(argv[2], argv[3], argv[4:])
    if len(argv) != 4 or argv[1] not in SCENARIOS:
        sys.exit(f"usage: {argv[0]} {{{'|'.join(SCENARIOS)}}} VH5FS VH5")
    work = tempfile.mkdtemp(prefix="vh5fs-test-live-work-")
    try:
        SCENARIOS[argv[1]](work, argv[2], argv[3])
    except Exception as e:  # noqa: BLE001 - a scenario stops at its first surprise
        import traceback
        traceback.print_exc()
        failures.append(f"{type(e).__name__}: {e}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(failures)} failures")
    for f in failures:
        print("  " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main(sys.argv)
