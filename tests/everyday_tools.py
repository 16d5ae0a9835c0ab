#!/usr/bin/python3
"""Everyday tools copying a version into staging/, then a commit.

For every fixture versioned-hdf5 wrote (../shared/fixtures, legacy/ too),
on a copy of the file, each version V (in sanitizer builds at most 8 of a
file) is copied from MNT/versions/V into MNT/staging by each of:

  rsync     rsync -a --delete        (temp files renamed over each dataset; no xattrs)
  rsync-X   rsync -aX --delete       (xattrs set after the bytes, in name order)
  tar       tar --xattrs c | tar --xattrs x   (xattrs set before the bytes)
  cp        cp -a                    (bytes, then xattrs through the open file)

and committed with mv (rename(2)). The new version must hold V's datasets
byte for byte with the same xattrs (dtype, shape, chunks, fill value,
compression, attributes), the tools must report no error, and the file's
raw_data and hash tables must not grow: every chunk was stored already.
Without xattrs (rsync -a) a dataset's shape comes from the dataset already
at its path; where V's row width differs from it, only the bytes are
compared.

usage: everyday_tools.py VH5FS FIXTURES_DIR [NAME_PART]
Exits 77 (skipped) without the fixtures.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import h5py

import live_util

VH5FS, FIXTURES = sys.argv[1], sys.argv[2]
ONLY = sys.argv[3] if len(sys.argv) > 3 else ""  # a part of the fixtures' names
if not os.path.exists(os.path.join(FIXTURES, "manifest.json")):
    print(f"skipped: no fixtures in {FIXTURES}")
    sys.exit(77)
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def stored_rows(path):
    """Rows of every raw_data and every hash table in the file."""
    raw = hashes = 0
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            nonlocal raw, hashes
            if isinstance(obj, h5py.Dataset):
                if name.endswith("/raw_data"):
                    raw += obj.shape[0]
                elif name.endswith("/hash_table"):
                    hashes += obj.shape[0]
        f["_version_data"].visititems(visit)
    return raw, hashes


def tree(root):
    """Every file and directory under root: bytes and user.* xattrs."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            xattrs = {x: os.getxattr(p, x) for x in os.listxattr(p) if x.startswith("user.")}
            data = None
            if os.path.isfile(p):
                with open(p, "rb") as f:
                    data = f.read()
            out[rel] = (data, xattrs)
    return out


def run(cmd, what):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    check(r.returncode == 0 and not r.stderr.strip(),
          f"{what}: exit {r.returncode} {r.stderr.strip()[:300]}")


def empty_staging(mnt):
    for name in os.listdir(f"{mnt}/staging"):
        p = f"{mnt}/staging/{name}"
        shutil.rmtree(p) if os.path.isdir(p) else os.unlink(p)


TOOLS = {
    "rsync": "rsync -a --delete '{src}/' '{dst}/'",
    "rsync-X": "rsync -aX --delete '{src}/' '{dst}/'",
    "tar": "tar --xattrs --xattrs-include='user.*' -C '{src}' -cf - . | "
           "tar --xattrs --xattrs-include='user.*' -C '{dst}' -xf -",
    "cp": "cp -a '{src}/.' '{dst}/'",
}


def test_file(src, manifest, work):
    name = os.path.basename(src)
    path = os.path.join(work, name)
    shutil.copy(src, path)
    versions = list(manifest["versions"])
    # Sanitizer builds (VH5_SANITIZED): the first and last 4 of a long history.
    if os.environ.get("VH5_SANITIZED") and len(versions) > 8:
        versions = versions[:4] + versions[-4:]
    if not versions:
        return
    commits = 0
    with live_util.Mount(VH5FS, path) as m:
        mnt = m.root
        for v in versions:
            want = tree(f"{mnt}/versions/{v}")
            for tool, cmd in TOOLS.items():
                if tool in ("tar", "cp"):
                    empty_staging(mnt)
                run(cmd.format(src=f"{mnt}/versions/{v}", dst=f"{mnt}/staging"),
                    f"{name} {v} {tool}")
                commits += 1
                new = f"copy{commits}"
                try:
                    os.rename(f"{mnt}/staging", f"{mnt}/versions/{new}")
                except OSError as e:
                    reason = ""
                    try:
                        reason = os.getxattr(f"{mnt}/staging", "user.vh5.commit_error").decode()
                    except OSError:
                        pass
                    check(False, f"{name} {v} {tool}: commit: {e} {reason}")
                    continue
                got = tree(f"{mnt}/versions/{new}")
                if tool == "rsync":
                    # No xattrs travel: the bytes must, and the metadata where it is knowable.
                    same = got.keys() == want.keys() and all(
                        got[k][0] == want[k][0] for k in want)
                    check(same, f"{name} {v} {tool}: same bytes")
                    bad = [k for k in want if got.get(k, (None, {}))[1] != want[k][1]]
                    print(f"      {name} {v} rsync: {len(bad)} of {len(want)} with other xattrs {bad[:3]}")
                else:
                    check(got == want, f"{name} {v} {tool}: same datasets and xattrs "
                          f"{[k for k in set(got) | set(want) if got.get(k) != want.get(k)][:3]}")
    return stored_rows(path)


def main():
    work = tempfile.mkdtemp(prefix="vh5-everyday-")
    try:
        for sub in ("", "legacy"):
            d = os.path.join(FIXTURES, sub)
            mf = os.path.join(d, "manifest.json")
            if not os.path.exists(mf):
                continue
            manifests = json.load(open(mf))
            for name, manifest in sorted(manifests.items()):
                if ONLY and ONLY not in name:
                    continue
                src = os.path.join(d, name)
                # What the file stores before: after vh5's own first commit
                # (a legacy file's tables are rebuilt then), raw_data and hash
                # tables must not grow with copies of versions already in it.
                ref = os.path.join(work, "ref-" + name)
                shutil.copy(src, ref)
                before = None
                if manifest["versions"]:
                    with live_util.Mount(VH5FS, ref) as m:
                        os.mkdir(f"{m.root}/staging/.vh5-touch")
                        os.rmdir(f"{m.root}/staging/.vh5-touch")
                        os.rename(f"{m.root}/staging", f"{m.root}/versions/base-rebuilt")
                    before = stored_rows(ref)
                after = test_file(src, manifest, work)
                if before is not None and after is not None:
                    check(after == before, f"{name}: raw_data rows and hash rows "
                          f"{before} -> {after} (nothing stored twice)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"{len(failures)} failures")
        sys.exit(1)


main()
