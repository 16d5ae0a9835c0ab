#!/usr/bin/env bash
# ctest runs every test through this in a ThreadSanitizer build (VH5_TSAN):
# each process the test starts (the suite, vh5fs, vh5) writes its reports
# under DIR as it makes them, and any report fails the test. The exit status
# of vh5fs alone would lose some: tests kill it with SIGKILL on purpose (and
# exit-at-step hooks _exit), which skips TSan's exitcode, and its stderr goes
# with the test's temp dir.
#
# Usage: tsan_check.sh DIR COMMAND [ARG...]
set -u
dir=$1
shift
rm -rf "$dir" && mkdir -p "$dir" || exit 1
export TSAN_OPTIONS="${TSAN_OPTIONS:-} log_path=$dir/report"
"$@"
rc=$?
shopt -s nullglob
reports=("$dir"/report.*)
if ((${#reports[@]} > 0)); then
  cat "${reports[@]}"
  echo "tsan_check: ThreadSanitizer reports from ${#reports[@]} process(es), kept in $dir"
  ((rc == 0 || rc == 77)) && rc=1
fi
exit "$rc"
