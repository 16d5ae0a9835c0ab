#!/usr/bin/python3
"""prev/N, at/TIME, an empty base, -o create, and EEXIST for a commit onto a
taken name (issue 16, points 1, 2, 4, 5, 6; vh5fs(1) HISTORY).

On a copy of every fixture versioned-hdf5 wrote (../shared/fixtures, legacy/
too), mounted read-only:
  - prev/ lists 0..K-1 and prev/N links to ../versions/NAME where NAME is the
    library's own file[-N] (VersionedHDF5File, every N until it raises);
    prev/K is missing.
  - at/TIME, for moments before, at, 1 us after, between and after every
    version's timestamp, links to the version the documented rule gives
    (the latest timestamp not after TIME over all versions; of equal ones the
    first by name) or is missing before the first; and to the library's own
    file[datetime] wherever its loop can find it (the answer is not a version
    back-dated before __first_version__'s timestamp). The same moments in
    other spellings (@EPOCH, +01:00, a space, no fraction) answer the same.
  - at/ lists one canonical name per distinct timestamp, each naming back a
    version of exactly that timestamp.
On a file made by `vh5fs -o create`:
  - the Python library opens it as an empty versioned file; prev/ and at/
    are empty; prev/0 follows each commit here and one the library makes
    beside the mount; at/ knows each new timestamp.
  - setfattr user.vh5.prev_version '' empties staging/; the commit has no
    previous version: the library reads prev_version '__first_version__' with
    the very HDF5 type it writes for stage_version(name, prev_version=''),
    file[-1] raises IndexError for it, and the library commits on top.
  - rename(staging, versions/EXISTING) after a commit answers EEXIST, not
    ESTALE, whatever was looked up before (the issue's sequence, and others).
  - -o create on an existing file mounts it unchanged; on a file that is not
    HDF5 it is refused and the file is left as it was.

And `vh5 log --prev` (text and JSON) names each version's N of prev/N.

usage: history_paths.py VH5FS VH5 FIXTURES_DIR
Exits 77 (skipped) only when FIXTURES_DIR (../shared) is absent. With
VH5_SANITIZED=1 (sanitizer builds), at/ is asked around the first and last 8
timestamps of a file only.
"""
import datetime
import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import live_util
import peers
from live_util import check

VH5FS, VH5, FIXTURES = sys.argv[1], sys.argv[2], sys.argv[3]
if not os.path.exists(os.path.join(FIXTURES, "manifest.json")):
    print(f"skipped: no fixtures in {FIXTURES}")
    sys.exit(77)
peers.add_to_path()
import h5py  # noqa: E402  (after the skip: the fixtures decide)
from versioned_hdf5 import VersionedHDF5File  # noqa: E402

UTC = datetime.timezone.utc
FMT = "%Y-%m-%d %H:%M:%S.%f%z"
US = datetime.timedelta(microseconds=1)
def iso(t):
    """at/'s canonical form of a moment (microseconds)."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def link(path):
    try:
        return os.readlink(path)
    except FileNotFoundError:
        return None


# The library's answers, in a process of their own: file[-n] for every n, and
# file[datetime] for each moment (None where it raises).
LIBRARY = r"""
import datetime, json, os, sys
sys.path.insert(0, sys.argv[1])
import h5py
from versioned_hdf5 import VersionedHDF5File
path, moments = sys.argv[2], json.loads(sys.argv[3])
out = {"chain": [], "at": {}}
with h5py.File(path, "r") as f:
    vf = VersionedHDF5File(f)
    n = 0
    while True:
        try:
            out["chain"].append(os.path.basename(vf[-n].name))
        except (IndexError, KeyError, ValueError):
            break
        n += 1
    for m in moments:
        t = datetime.datetime.fromisoformat(m)
        try:
            out["at"][m] = os.path.basename(vf[t].name)
        except (KeyError, ValueError):
            out["at"][m] = None
print(json.dumps(out))
"""


def library_answers(path, moments):
    shared_peers = os.path.join(os.path.dirname(os.path.abspath(FIXTURES)), "peers")
    r = subprocess.run(["/usr/bin/python3", "-c", LIBRARY, shared_peers, path,
                        json.dumps([m.isoformat() for m in moments])],
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def versions_of(path):
    """{name: (timestamp, prev_version)} of every committed version, and
    __first_version__'s timestamp."""
    out = {}
    with h5py.File(path, "r") as f:
        vs = f["_version_data/versions"]
        first = datetime.datetime.strptime(vs["__first_version__"].attrs["timestamp"], FMT)
        for name in vs:
            g = vs[name]
            if name == "__first_version__" or not g.attrs.get("committed", True):
                continue
            out[name] = datetime.datetime.strptime(g.attrs["timestamp"], FMT)
    return out, first


def rule(versions, t):
    """get_version_by_timestamp's documented rule."""
    best = None
    for name in sorted(versions):  # the group's order: the first of equal times wins
        ts = versions[name]
        if ts <= t and (best is None or ts > versions[best]):
            best = name
    return best


SANITIZED = os.environ.get("VH5_SANITIZED") == "1"


def moments_around(times):
    times = sorted(set(times))
    if SANITIZED and len(times) > 16:
        # Sanitizer builds: the moments of the first and last 8 versions.
        times = times[:8] + times[-8:]
    out = set()
    for i, t in enumerate(times):
        out |= {t - US, t, t + US}
        if i + 1 < len(times):
            out.add(t + (times[i + 1] - t) / 2)
    if times:
        out |= {times[0] - datetime.timedelta(days=1), times[-1] + datetime.timedelta(days=1)}
    return sorted(out)


def check_fixture(src, work):
    name = os.path.relpath(src, FIXTURES)
    path = os.path.join(work, os.path.basename(src))
    shutil.copy(src, path)
    versions, first = versions_of(path)
    moments = moments_around(list(versions.values()))
    lib = library_answers(path, moments)
    with live_util.Mount(VH5FS, path, "-o", "ro") as m:
        chain = lib["chain"]
        prev = os.path.join(m.root, "prev")
        listed = sorted(os.listdir(prev), key=int)
        check(listed == [str(i) for i in range(len(chain))],
              f"{name}: prev/ lists 0..{len(chain) - 1} ({len(listed)} names)")
        got = [link(os.path.join(prev, str(i))) for i in range(len(chain) + 1)]
        want = ["../versions/" + v for v in chain] + [None]
        check(got == want, f"{name}: prev/N is file[-N] for N = 0..{len(chain)}, "
              f"then missing {[(i, g, w) for i, (g, w) in enumerate(zip(got, want)) if g != w][:3]}")
        if chain:
            check(os.path.isdir(os.path.join(prev, "0")) and
                  os.path.samefile(os.path.join(prev, "0"), os.path.join(m.root, "current")),
                  f"{name}: prev/0 is current")
        check_at(m.root, name, versions, first, moments, lib)


def check_at(root, name, versions, first, moments, lib):
    """at/ against the rule and the library's answers `lib`."""
    if True:
        at = os.path.join(root, "at")
        bad_rule, bad_lib, compared = [], [], 0
        for t in moments:
            want = rule(versions, t)
            got = link(os.path.join(at, iso(t)))
            if got != (None if want is None else "../versions/" + want):
                bad_rule.append((iso(t), got, want))
            if want is None or versions[want] > first:
                compared += 1
                if lib["at"][t.isoformat()] != want:
                    bad_lib.append((iso(t), lib["at"][t.isoformat()], want))
        check(not bad_rule, f"{name}: at/TIME follows the rule at {len(moments)} moments "
              f"{bad_rule[:3]}")
        check(not bad_lib, f"{name}: at/TIME is file[datetime] at the {compared} moments the "
              f"library's loop can answer {bad_lib[:3]}")
        listed = os.listdir(at)
        check(sorted(listed) == sorted({iso(t) for t in versions.values()}),
              f"{name}: at/ lists each timestamp once ({len(listed)})")
        wrong = [e for e in listed
                 if versions.get(os.path.basename(link(os.path.join(at, e)) or "")) is None or
                 iso(versions[os.path.basename(link(os.path.join(at, e)))]) != e]
        check(not wrong, f"{name}: each name at/ lists names a version of that time {wrong[:3]}")
        if versions:
            # Other spellings of the moments of every version.
            bad = []
            for v, t in sorted(versions.items()):
                want = link(os.path.join(at, iso(t)))
                plus1 = t.astimezone(datetime.timezone(datetime.timedelta(hours=1)))
                epoch = t - datetime.datetime(1970, 1, 1, tzinfo=UTC)
                spellings = [
                    "@%d.%06d" % (epoch.days * 86400 + epoch.seconds, epoch.microseconds),
                    t.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"),
                    plus1.strftime("%Y-%m-%d %H:%M:%S.%f+0100"),
                    plus1.strftime("%Y-%m-%dT%H:%M:%S.%f+01"),
                    t.strftime("%Y-%m-%d %H:%M:%S.%f"),
                ]
                for s in spellings:
                    if link(os.path.join(at, s)) != want:
                        bad.append((s, link(os.path.join(at, s)), want))
                # Coarser forms: the moment they name, by the rule.
                coarse = [
                    (t.strftime("%Y-%m-%d"), t.replace(hour=0, minute=0, second=0, microsecond=0)),
                    (t.strftime("%Y-%m-%dT%H:%M"), t.replace(second=0, microsecond=0)),
                    (t.strftime("%Y-%m-%dT%H:%M:%SZ"), t.replace(microsecond=0)),
                ]
                for s, moment in coarse:
                    w = rule(versions, moment)
                    if link(os.path.join(at, s)) != (None if w is None else "../versions/" + w):
                        bad.append((s, link(os.path.join(at, s)), w))
            check(not bad, f"{name}: at/ reads @EPOCH, zones, a space, dates and minutes {bad[:3]}")
        for junk in ("yesterday", "2024-13-01", "@x", "2024-02-01T09:00:00+2"):
            check(not os.path.lexists(os.path.join(at, junk)), f"{name}: at/{junk} is missing")


def setxattr(path, name, value):
    os.setxattr(path, name, value.encode())


def commit(root, name):
    os.rename(os.path.join(root, "staging"), os.path.join(root, "versions", name))


def write(root, rel, data):
    with open(os.path.join(root, "staging", rel), "wb") as f:
        f.write(data)


def attr_type(path, version):
    """The HDF5 type and space of a version's prev_version attribute, as h5py
    reports them, and its value."""
    with h5py.File(path, "r") as f:
        g = f["_version_data/versions"][version]
        a = g.attrs.get_id("prev_version")
        t = a.get_type()
        return (t.get_class(), t.is_variable_str(), t.get_cset(), a.get_space().get_simple_extent_type(),
                g.attrs["prev_version"])


def wait_for(pred, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def check_created_file(work):
    path = os.path.join(work, "new", "made.h5")
    os.mkdir(os.path.dirname(path))
    with live_util.Mount(VH5FS, path, "-o", "create") as m:
        r = m.root
        check(os.path.exists(path), "-o create: FILE made")
        check(os.listdir(os.path.dirname(path)) == ["made.h5"] or
              all(n == "made.h5" or n.startswith(".made.h5") for n in os.listdir(os.path.dirname(path))),
              f"-o create: nothing left beside FILE but its own state {os.listdir(os.path.dirname(path))}")
        check(sorted(os.listdir(r)) == ["at", "prev", "staging", "versions", "zarr"],
              f"-o create: an empty tree {sorted(os.listdir(r))}")
        check(os.listdir(r + "/prev") == [] and os.listdir(r + "/at") == [] and
              not os.path.lexists(r + "/prev/0"), "no version: prev/ and at/ empty")
        write(r, "x", b"1" * 10)
        commit(r, "v1")
        check(link(r + "/prev/0") == "../versions/v1" and link(r + "/prev/1") is None,
              "prev/0 follows a commit (v1)")
        write(r, "x", b"2" * 10)
        commit(r, "v2")
        check([link(f"{r}/prev/{i}") for i in range(3)] == ["../versions/v2", "../versions/v1", None],
              "prev/ follows a second commit (v2, v1)")
        check(sorted(os.listdir(r + "/prev"), key=int) == ["0", "1"], "prev/ lists 0 and 1")
        ts2 = datetime.datetime.strptime(os.getxattr(r + "/versions/v2", "user.vh5.timestamp").decode(), FMT)
        check(link(f"{r}/at/{iso(ts2)}") == "../versions/v2" and
              iso(ts2) in os.listdir(r + "/at"), "at/ knows the new timestamp")
        # The ESTALE sequence, and variants: EEXIST every time.
        write(r, "f", b"x\n")
        subprocess.run(["mv", "-T", r + "/staging", r + "/versions/v9"], check=True)
        for target, before in (("v1", None), ("v9", None), ("v1", "stat"), ("v9", "stat"),
                               ("v2", "list"), ("v9", "staging")):
            if before == "stat":
                os.stat(f"{r}/versions/{target}")
            elif before == "list":
                os.listdir(f"{r}/versions/{target}")
            elif before == "staging":
                write(r, "g", b"y\n")
            try:
                os.rename(r + "/staging", f"{r}/versions/{target}")
                got = 0
            except OSError as e:
                got = e.errno
            check(got == errno.EEXIST, f"rename(staging, versions/{target}) after "
                  f"{before or 'a commit'}: {errno.errorcode.get(got, got)}, want EEXIST")
        # An empty base.
        os.setxattr(r + "/staging", "user.vh5.discard", b"1")
        setxattr(r + "/staging", "user.vh5.prev_version", "")
        check(os.listdir(r + "/staging") == [], "prev_version '': staging/ empty")
        write(r, "y", b"3" * 4)
        commit(r, "solo")
        check([link(f"{r}/prev/{i}") for i in range(2)] == ["../versions/solo", None],
              "prev/ after a commit on an empty base: solo alone")
        check(os.getxattr(r + "/versions/solo", "user.vh5.prev_version") == b"__first_version__",
              "the commit's prev_version is __first_version__")
    # What the library writes for stage_version(name, prev_version='').
    with h5py.File(path, "r+") as f:
        vf = VersionedHDF5File(f)
        check(vf.current_version == "solo", f"the library's current: {vf.current_version}")
        try:
            vf[-1]
            check(False, "file[-1] raises IndexError on a version with no previous version")
        except IndexError:
            check(True, "file[-1] raises IndexError on a version with no previous version")
        check(list(vf["solo"]) == ["y"] and bytes(vf["solo"]["y"][:]) == b"3333",
              "the library reads the commit on an empty base")
        with vf.stage_version("py_solo", prev_version="") as g:
            g.create_dataset("z", data=[1, 2, 3])
        with vf.stage_version("py_next") as g:
            g["z"][0] = 7
    check(attr_type(path, "solo") == attr_type(path, "py_solo"),
          f"prev_version stored as the library stores it: {attr_type(path, 'solo')} == "
          f"{attr_type(path, 'py_solo')}")
    with live_util.Mount(VH5FS, path, "-o", "create") as m:
        r = m.root
        check([link(f"{r}/prev/{i}") for i in range(3)] ==
              ["../versions/py_next", "../versions/py_solo", None],
              "-o create on an existing file mounts it; prev/ follows the library's commits")
        with h5py.File(path, "r+") as f:
            vf = VersionedHDF5File(f)
            with vf.stage_version("beside") as g:
                g["z"][1] = 8
        check(wait_for(lambda: link(f"{r}/prev/0") == "../versions/beside"),
              "prev/0 follows a commit the library makes beside the mount")
        check(link(f"{r}/prev/1") == "../versions/py_next", "prev/1 then py_next")
        with h5py.File(path, "r") as f:
            tsb = datetime.datetime.strptime(f["_version_data/versions/beside"].attrs["timestamp"], FMT)
        check(link(f"{r}/at/{iso(tsb)}") == "../versions/beside" and
              link(f"{r}/at/{iso(tsb + datetime.timedelta(days=1))}") == "../versions/beside",
              "at/ knows a timestamp committed beside the mount")
        # Versions made now, none back-dated: the library's loop answers
        # everywhere after __first_version__'s time.
        versions, first = versions_of(path)
        moments = moments_around(list(versions.values()))
        check_at(r, "made.h5", versions, first, moments, library_answers(path, moments))
        chain = [os.path.basename(link(f"{r}/prev/{i}")) for i in range(len(os.listdir(r + "/prev")))]
    log = json.loads(subprocess.run([VH5, "log", "--prev", "--json", path], capture_output=True,
                                    text=True, check=True).stdout)
    want = {v: (chain.index(v) if v in chain else None) for v in versions}
    got = {v["name"]: v["prev"] for v in log["versions"]}
    check(got == want, f"vh5 log --prev --json: prev N of each version {got} == {want}")
    text = subprocess.run([VH5, "log", "--prev", path], capture_output=True, text=True,
                          check=True).stdout.splitlines()
    check(text[0].split()[:3] == ["prev/0", "*", chain[0]] and
          text[1].split()[:2] == ["prev/1", chain[1]],
          f"vh5 log --prev: a first column prev/N {text[:2]}")
    # Refused: not HDF5, left as it was.
    junk = os.path.join(work, "junk.h5")
    with open(junk, "wb") as f:
        f.write(b"not hdf5\n")
    mnt = tempfile.mkdtemp(prefix="vh5fs-test-create-")
    try:
        r = subprocess.run([VH5FS, "-f", "-o", "create", junk, mnt], capture_output=True, timeout=30)
        check(r.returncode == 1 and not live_util.is_mounted(mnt),
              f"-o create on a file that is not HDF5: refused ({r.returncode})")
        check(open(junk, "rb").read() == b"not hdf5\n", "-o create leaves such a file as it was")
    finally:
        if live_util.is_mounted(mnt):
            subprocess.run(["fusermount3", "-u", mnt])
        os.rmdir(mnt)


def main():
    work = tempfile.mkdtemp(prefix="vh5-history-")
    try:
        check_created_file(work)
        for sub in ("", "legacy"):
            d = os.path.join(FIXTURES, sub)
            if not os.path.exists(os.path.join(d, "manifest.json")):
                continue
            for name in sorted(json.load(open(os.path.join(d, "manifest.json")))):
                check_fixture(os.path.join(d, name), work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(live_util.report())


main()
