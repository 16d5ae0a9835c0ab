// Rewriting a versioned file with only what it holds, so that the space
// freed inside it (by deleting versions) returns to the filesystem.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "vh5/progress.h"
#include "vh5/status.h"

namespace vh5 {

struct RepackReport {
  uint64_t file_bytes_before = 0;
  uint64_t file_bytes_after = 0;
};

// Copies every object of the file at `path` into a new file beside it
// (raw_data chunk by chunk as stored, without recompressing; everything else
// with H5Ocopy; attributes, links, the user block and the file's creation
// properties kept), flushes it to disk and renames it over `path`, so that
// readers see the old file or the new one, never a mix. The new file has
// the original's permissions. The file's lock is held exclusively from the
// first read until the copy has replaced it, so that nobody writes the old
// file meanwhile; Busy when another process still holds it after `wait`. On
// any failure the original is left as it was.
Result<RepackReport> Repack(const std::string& path, const Progress& progress = {},
                            std::chrono::milliseconds wait = std::chrono::milliseconds(0));

}  // namespace vh5
