#!/usr/bin/env bash
# Lazily unmounts any FUSE mount a test left under /tmp/vh5fs-test-*.
set -u
left=0
while read -r _ mnt type _; do
  case "$type:$mnt" in
    fuse*:/tmp/vh5fs-test-*)
      left=$((left + 1))
      fusermount3 -uz "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null
      echo "unmounted leftover $mnt"
      ;;
  esac
done < /proc/mounts
echo "cleanup_mounts: $left leftover mount(s)"
exit 0
