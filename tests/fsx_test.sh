#!/usr/bin/env bash
# xfstests' file system exerciser (fsx, ../shared/ext/fsx) on files in
# staging/: random reads, writes, truncates, fallocates, hole punches,
# zeroed ranges and copy_file_range, each checked against fsx's own copy;
# three seeds through mmap, three through read(2)/write(2) only. Then the
# files are committed, and the version must hold exactly what staging held:
# read back through the mount and, after the unmount, by h5py straight
# from the HDF5 file.
#
# Usage: fsx_test.sh VH5FS VH5 SHARED_DIR. Skips (77) without SHARED_DIR/ext/fsx.
set -euo pipefail

vh5fs=$1 vh5=$2 shared=$3
src=$shared/ext/fsx
if [ ! -f "$src/fsx.c" ]; then
  echo "SKIP: no $src"
  exit 77
fi
ops=${VH5_FSX_OPS:-20000}

# Under /tmp/vh5fs-test-*: the cleanup_mounts test unmounts what a killed run left.
tmp=$(mktemp -d /tmp/vh5fs-test-fsx.XXXXXX)
mnt=$tmp/mnt
daemon=
cleanup() {
  if mountpoint -q "$mnt" 2>/dev/null; then fusermount3 -u "$mnt" || fusermount3 -uz "$mnt"; fi
  if [ -n "$daemon" ]; then wait "$daemon" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

cp -r "$src" "$tmp/fsx"
cc -O2 -D_GNU_SOURCE -I"$tmp/fsx" -include getopt.h -o "$tmp/fsx/fsx" "$tmp/fsx/fsx.c"

mkdir "$mnt" "$tmp/logs" "$tmp/expect"
"$vh5" init "$tmp/f.h5"
"$vh5fs" "$tmp/f.h5" "$mnt" -f 2> "$tmp/vh5fs.log" &
daemon=$!
for _ in $(seq 100); do
  mountpoint -q "$mnt" && break
  sleep 0.1
done
mountpoint -q "$mnt" || { echo "FAIL: vh5fs did not mount"; cat "$tmp/vh5fs.log"; exit 1; }

# name: fsx options. Two at a time (two cores); each has its own file.
runs=(mmap1:"-S 1" mmap2:"-S 2" mmap3:"-S 3" rw1:"-W -R -S 1" rw2:"-W -R -S 2" rw3:"-W -R -S 3")
failed=0
run() {
  local name=${1%%:*} opts=${1#*:}
  # shellcheck disable=SC2086  # opts are words
  # -d: every operation logged, for the tally below.
  if "$tmp/fsx/fsx" -d -N "$ops" $opts -P "$tmp/logs" "$mnt/staging/$name" \
    > "$tmp/logs/$name.out" 2>&1; then
    echo "fsx $name ($opts): $ops operations passed;" \
      "$(awk '$1 ~ /^[0-9]+$/ && NF > 2 { n[$2]++ } END { for (op in n) printf "%s %d ", op, n[op] }' \
        "$tmp/logs/$name.out")"
  else
    echo "FAIL: fsx $name ($opts)"
    cat "$tmp/logs/$name.out"
    tail -50 "$tmp/logs/$name.fsxlog" 2>/dev/null || true
    return 1
  fi
}
for ((i = 0; i < ${#runs[@]}; i += 2)); do
  run "${runs[i]}" & a=$!
  run "${runs[i + 1]}" & b=$!
  wait "$a" || failed=1
  wait "$b" || failed=1
done
# What fsx found unsupported at startup (and so skipped) is printed here.
grep -h "disabling" "$tmp"/logs/*.out | sort -u || true
[ "$failed" = 0 ] || { cat "$tmp/vh5fs.log"; exit 1; }

names=()
for r in "${runs[@]}"; do
  name=${r%%:*}
  names+=("$name")
  cat "$mnt/staging/$name" > "$tmp/expect/$name"
done
mv "$mnt/staging" "$mnt/versions/fsx"
for name in "${names[@]}"; do
  cmp "$tmp/expect/$name" "$mnt/versions/fsx/$name" ||
    { echo "FAIL: versions/fsx/$name differs from staging/$name before the commit"; exit 1; }
done
fusermount3 -u "$mnt"
wait "$daemon" || { echo "FAIL: vh5fs exited with $?"; cat "$tmp/vh5fs.log"; exit 1; }
daemon=

# h5py, an independent reader, on the file itself.
/usr/bin/python3 - "$tmp/f.h5" "$tmp/expect" "${names[@]}" <<'EOF'
import sys, h5py
path, expect, names = sys.argv[1], sys.argv[2], sys.argv[3:]
with h5py.File(path, "r") as f:
    for name in names:
        got = f["_version_data/versions/fsx/" + name][()].tobytes()
        want = open(expect + "/" + name, "rb").read()
        if got != want:
            sys.exit("FAIL: h5py reads %d bytes of %s, not the %d staged" % (len(got), name, len(want)))
        print("h5py: %s, %d bytes, as staged" % (name, len(want)))
EOF
echo "PASS"
