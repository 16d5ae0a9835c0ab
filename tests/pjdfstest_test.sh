#!/usr/bin/env bash
# pjdfstest (../shared/ext/pjdfstest), the POSIX filesystem test suite, in
# staging/ for unlink, mkdir, rmdir, rename, truncate, ftruncate and open:
# every test must pass but those listed below, each of which checks a
# feature vh5fs(1) lists as unsupported (one word: owners, modes, links,
# fifos, devices, sockets, symlinks). A listed test that passes is only
# noted. Runs as root (some tests switch to uid 65534: -o allow_other).
#
# Usage: pjdfstest_test.sh VH5FS VH5 SHARED_DIR. Skips (77) without SHARED_DIR/ext/pjdfstest.
set -euo pipefail

vh5fs=$1 vh5=$2 shared=$3
src=$shared/ext/pjdfstest
if [ ! -f "$src/pjdfstest.c" ]; then
  echo "SKIP: no $src"
  exit 77
fi
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: pjdfstest needs root (it runs tests as other users)"
  exit 77
fi
dirs="unlink mkdir rmdir rename truncate ftruncate open"

# FILE:TESTS REASON; TESTS is N, N-M, a comma-separated list of those, or *
# (the whole file: sticky-directory tests, all about owners). Tests after a
# creation that vh5fs refuses (a fifo, a symlink, ...) fail for its reason.
expected='
rename/09.t:* owners
rename/10.t:* owners
unlink/11.t:* owners
ftruncate/05.t:8,10 owners
ftruncate/06.t:3,6 owners
ftruncate/07.t:1-6 symlinks
mkdir/00.t:6,9,12,15 modes
mkdir/00.t:19,22,26 owners
mkdir/01.t:8-13 devices
mkdir/01.t:5-7 fifos
mkdir/01.t:14-16 sockets
mkdir/05.t:7,9 owners
mkdir/06.t:7,9 owners
mkdir/07.t:1-6 symlinks
mkdir/10.t:10,12-13,15 devices
mkdir/10.t:7-9 fifos
mkdir/10.t:16,18 sockets
mkdir/10.t:19,21 symlinks
open/00.t:3,6,9,12,15 modes
open/00.t:19,22,26 owners
open/01.t:10-17 devices
open/01.t:6-9 fifos
open/01.t:18-21 sockets
open/02.t:2 modes
open/03.t:2 modes
open/05.t:7 owners
open/06.t:77,81,85,89,93,97,101,105,109 fifos
open/06.t:18-19,22-23,26-27,29,31,33,35,37,39,41-43,45-47,49-51,53-55,57-59,61-63,65-76,78-80,82-84,86-88,90-92,94-96,98-100,102-104,106-108,110-111,126,128,130,132,134,136,138,140,142 owners
open/07.t:6,8,10,12,14,16,18,20,22 owners
open/08.t:2-3 owners
open/12.t:1-6 symlinks
open/16.t:1-5 symlinks
open/17.t:1-3 fifos
open/22.t:10-11,13-14 devices
open/22.t:7-8 fifos
open/22.t:16-17 sockets
open/22.t:19-20 symlinks
open/24.t:2-5 fifos
open/24.t:1 sockets
open/26.t:2,5,8 modes
rename/00.t:32,34-35,37,39-42,44-47,49-50,52,54-57,59-61,106,110 devices
rename/00.t:17,19-20,22,24-27,29-31,102 fifos
rename/00.t:8,23,38,53,68 links
rename/00.t:9-10,12,14-15,18,33,48,63,86 modes
rename/00.t:95-97,99,103-105,107-109,111-113,115-117,119-122 owners
rename/00.t:62,64-65,67,69-72,74-76,114 sockets
rename/00.t:85,87-88,91,93,118 symlinks
rename/04.t:10-11,14-16,18 owners
rename/05.t:10,12,14,16-17 owners
rename/11.t:1-4,6-9 symlinks
rename/12.t:14-16,20-22 devices
rename/12.t:8-10 fifos
rename/12.t:11-13,17-19,23-25,29-31 links
rename/12.t:26-28 sockets
rename/13.t:12-21 devices
rename/13.t:7-11 fifos
rename/13.t:22-26 sockets
rename/13.t:27-32 symlinks
rename/14.t:12-13,15-18,20-21 devices
rename/14.t:7-8,10-11 fifos
rename/14.t:22-23,25-26 sockets
rename/14.t:27-28,30-31 symlinks
rename/20.t:12-17 devices
rename/20.t:9-11 fifos
rename/20.t:18-20 sockets
rename/20.t:21-23,25 symlinks
rename/23.t:18-19,22-27,30-33 devices
rename/23.t:10-11,14-17 fifos
rename/23.t:4,6-7,9,12-13,20-21,28-29,36-37 links
rename/23.t:34-35,38-41 sockets
rmdir/01.t:12-14 fifos
rmdir/01.t:9-11 symlinks
rmdir/05.t:1-6 symlinks
rmdir/06.t:11-16 devices
rmdir/06.t:8-10 fifos
rmdir/06.t:17-19 sockets
rmdir/06.t:20-23 symlinks
rmdir/07.t:6,8 owners
rmdir/08.t:6,8 owners
rmdir/11.t:6,12,18,29,36-38,42-45 owners
truncate/00.t:18-19 owners
truncate/05.t:8,10 owners
truncate/06.t:3,6 owners
truncate/07.t:1-6 symlinks
unlink/00.t:14-16,18-20,36,41,59,63,84-87,90-93 devices
unlink/00.t:10-12,31,55,78-81 fifos
unlink/00.t:27-29,32-35,37-40,42-45,47-50,108-110 links
unlink/00.t:52-54,56-58,60-62,64-66,68-70 owners
unlink/00.t:22-24,46,67,96-99 sockets
unlink/00.t:6-8,102-105 symlinks
unlink/05.t:6,8 owners
unlink/06.t:6,8 owners
unlink/07.t:1-6 symlinks
'

tmp=$(mktemp -d /tmp/vh5fs-test-pjd.XXXXXX)
daemons=()
cleanup() {
  cd /
  for m in "$tmp"/mnt*; do
    if mountpoint -q "$m" 2>/dev/null; then fusermount3 -u "$m" || fusermount3 -uz "$m"; fi
  done
  for d in "${daemons[@]}"; do wait "$d" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

cp -r "$src" "$tmp/pjd"
chmod -R u+w "$tmp/pjd"
# Debian 12's answers to its configure script, when the copy has none.
if [ ! -f "$tmp/pjd/config.h" ]; then
  for have in FACCESSAT FCHMODAT FCHOWNAT FSTATAT LINKAT MKDIRAT MKFIFOAT MKNODAT OPENAT \
    POSIX_FALLOCATE READLINKAT RENAMEAT SYMLINKAT UNLINKAT UTIMENSAT STRUCT_STAT_ST_ATIM \
    STRUCT_STAT_ST_MTIM STRUCT_STAT_ST_CTIM SYS_SYSMACROS_H; do
    echo "#define HAVE_$have 1"
  done > "$tmp/pjd/config.h"
fi
cc -O2 -D_GNU_SOURCE -DHAVE_CONFIG_H -I"$tmp/pjd" -o "$tmp/pjd/pjdfstest" "$tmp/pjd/pjdfstest.c"
# The tests' helper runs as uid 65534 too: it must reach the copy.
chmod 755 "$tmp" && chmod -R a+rX "$tmp/pjd"
mkdir "$tmp/out"

# Two mounts, one per core, each running half of the .t files one after
# another: a test that checks that a directory's times did not move must
# not see the other half's changes (staging/ keeps one time for all).
for m in 0 1; do
  mkdir "$tmp/mnt$m"
  "$vh5" init "$tmp/f$m.h5"
  "$vh5fs" "$tmp/f$m.h5" "$tmp/mnt$m" -f -o allow_other 2> "$tmp/vh5fs$m.log" &
  daemons+=($!)
done
for m in 0 1; do
  for _ in $(seq 100); do
    mountpoint -q "$tmp/mnt$m" && break
    sleep 0.1
  done
  mountpoint -q "$tmp/mnt$m" || { echo "FAIL: vh5fs did not mount"; cat "$tmp/vh5fs$m.log"; exit 1; }
done

# Each .t file run on its own, its TAP output kept.
files=()
for d in $dirs; do
  for t in "$tmp/pjd/tests/$d"/*.t; do files+=("$d/${t##*/}"); done
done
half() {
  cd "$tmp/mnt$1/staging"
  for ((i = $1; i < ${#files[@]}; i += 2)); do
    f=${files[i]}
    sh "$tmp/pjd/tests/$f" > "$tmp/out/${f%%/*}_${f##*/}.tap" 2>&1 || true
  done
}
half 0 & a=$!
half 1 & b=$!
wait "$a" "$b"

# Expands an entry's TESTS over PLAN tests.
expand() {
  local spec=$1 plan=$2 part
  if [ "$spec" = "*" ]; then seq 1 "$plan"; return; fi
  for part in ${spec//,/ }; do
    if [[ $part == *-* ]]; then seq "${part%-*}" "${part#*-}"; else echo "$part"; fi
  done
}

total=0 failed=0 unexpected=0 listed_passing=0
declare -A reasons=()
for f in "${files[@]}"; do
  tap=$tmp/out/${f%%/*}_${f##*/}.tap
  plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$tap" | head -1)
  ran=$(grep -cE '^(not )?ok [0-9]+' "$tap" || true)
  if [ -z "$plan" ] || [ "$ran" != "$plan" ]; then
    echo "UNEXPECTED: $f ran $ran of ${plan:-?} planned tests"
    unexpected=$((unexpected + 1))
    continue
  fi
  total=$((total + plan))
  declare -A listed=()
  while read -r entry reason; do
    [ -n "$entry" ] || continue
    [ "${entry%%:*}" = "$f" ] || continue
    for n in $(expand "${entry#*:}" "$plan"); do listed[$n]=$reason; done
    [ "${entry#*:}" != "*" ] || whole=1
  done <<< "$expected"
  declare -A bad=()
  while read -r n; do bad[$n]=1; done < <(grep -E '^not ok [0-9]+' "$tap" | grep -v '# TODO' |
    sed -E 's/^not ok ([0-9]+).*/\1/')
  for n in "${!bad[@]}"; do
    failed=$((failed + 1))
    if [ -n "${listed[$n]:-}" ]; then
      reasons[${listed[$n]}]=$((${reasons[${listed[$n]}]:-0} + 1))
    else
      echo "UNEXPECTED: $f test $n: $(grep -E "^not ok $n( |$)" "$tap")"
      unexpected=$((unexpected + 1))
    fi
  done
  if [ -z "${whole:-}" ]; then
    for n in "${!listed[@]}"; do
      [ -n "${bad[$n]:-}" ] || { echo "note: $f test $n is listed but passed"; listed_passing=$((listed_passing + 1)); }
    done
  fi
  unset listed bad whole
done
echo "pjdfstest: ${#files[@]} files, $total tests, $failed failed:" \
  "$((failed - unexpected)) listed as unsupported ($(for r in "${!reasons[@]}"; do
    printf '%s %s ' "$r" "${reasons[$r]}"; done)), $unexpected unexpected"
[ "$listed_passing" = 0 ] || echo "note: $listed_passing listed tests passed: shrink the list"
cd /
if [ "$unexpected" != 0 ]; then
  cat "$tmp"/vh5fs*.log
  exit 1
fi
echo "PASS"
