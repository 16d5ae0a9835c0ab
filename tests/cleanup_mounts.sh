#!/usr/bin/env bash
# ctest's cleanup fixture: lazily unmounts the FUSE mounts a crashed test
# process left under /tmp/vh5fs-test-*, and the small tmpfs disks of tests. A mount is left over when no vh5fs
# serves it any more, or when its vh5fs is an orphan (the test that started it
# in the foreground has died). Mounts whose test is still running (another
# ctest run at the same time) are left alone.
set -u

# The pid of the vh5fs serving mount point $1, or nothing.
daemon_of() {
  local cmdline pid args
  for cmdline in /proc/[0-9]*/cmdline; do
    pid=${cmdline#/proc/}
    pid=${pid%/cmdline}
    args=$(tr '\0' '\n' 2>/dev/null < "$cmdline") || continue
    if [[ "${args%%$'\n'*}" == *vh5fs ]] && grep -qxF -- "$1" <<< "$args"; then
      echo "$pid"
      return
    fi
  done
}

left=0
while read -r _ mnt type _; do
  case "$type:$mnt" in
    fuse*:/tmp/vh5fs-test-*) ;;
    tmpfs:/tmp/vh5fs-test-*)  # a SmallDisk whose test died
      umount -l "$mnt" 2>/dev/null && left=$((left + 1)) && echo "unmounted leftover $mnt"
      continue ;;
    *) continue ;;
  esac
  pid=$(daemon_of "$mnt")
  if [[ -n "$pid" ]]; then
    ppid=$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null)
    [[ "$ppid" != 1 ]] && continue  # its test is still running
  fi
  left=$((left + 1))
  fusermount3 -uz "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null
  echo "unmounted leftover $mnt${pid:+ (orphaned vh5fs $pid)}"
done < /proc/mounts
echo "cleanup_mounts: $left leftover mount(s)"
exit 0
