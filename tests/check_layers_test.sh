#!/usr/bin/env bash
# scripts/check-layers passes on the tree, and fails on a copy of it with an
# upward include planted (a util/ header using staging/), naming the file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/check-layers" "$root"

copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
cp -r "$root/engine" "$root/fs" "$root/tools" "$root/fuzz" "$copy/"
sed -i '0,/^#include "/s//#include "staging\/staging_tree.h"\n#include "/' "$copy/engine/src/util/posix_file.h"
if out=$("$root/scripts/check-layers" "$copy"); then
  echo "FAIL: an upward include passed the check"
  exit 1
fi
echo "$out"
grep -q 'engine/src/util/posix_file.h: includes "staging/staging_tree.h": util/ may not use staging/' <<<"$out"
