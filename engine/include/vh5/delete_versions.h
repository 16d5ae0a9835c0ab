// Deleting versions from a versioned file, as the Python library's
// delete_versions does (versioned_hdf5/replay.py), so that the library keeps
// reading the file and committing onto it.
//
// For every dataset path that a deleted version holds data for: the raw_data
// chunks some remaining version maps are kept, moved to the front of
// raw_data in their order and raw_data shrunk to them; the hash table is
// rebuilt with the kept chunks' rows at their new places; and each remaining
// version's virtual dataset is recreated with mappings to the moved chunks
// (same shape, type, fill value and attributes). A path no remaining version
// holds loses its raw_data and hash table. A remaining version whose
// prev_version was deleted gets the nearest remaining ancestor; when the
// current version is deleted, its nearest remaining ancestor becomes current.
//
// Like the library's, the rewrite happens in place and is not atomic; the
// space freed inside the file returns to the filesystem only with Repack().
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "vh5/progress.h"
#include "vh5/status.h"

namespace vh5 {

struct DeleteReport {
  std::vector<std::string> deleted;  // deduplicated, in the order asked
  std::string current_version;       // afterwards; kFirstVersionName when none is left
  uint64_t chunks_before = 0;        // raw_data chunks in the file, before and after
  uint64_t chunks_after = 0;
  uint64_t stored_bytes_before = 0;  // bytes of raw_data and hash tables, before and after
  uint64_t stored_bytes_after = 0;
  uint64_t file_bytes_before = 0;  // size of the file, before and after
  uint64_t file_bytes_after = 0;
};

// Deletes `names` from the file at `path`. Nothing is written when a name is
// not a version or is kFirstVersionName (NotFound / InvalidArgument), when
// another process still holds the file's lock after `wait` (Busy), or when a
// mapping to rewrite is not one the format allows (Corruption: run verify).
Result<DeleteReport> DeleteVersions(const std::string& path, const std::vector<std::string>& names,
                                    const Progress& progress = {},
                                    std::chrono::milliseconds wait = std::chrono::milliseconds(0));

}  // namespace vh5
