// Checking every invariant of a versioned file, as `git fsck` checks a
// repository: what the Python library and vh5fs rely on when they read the
// file and commit onto it.
//
// Checked: data_version is one the engine knows (1 to 4); current_version
// names a committed version (or __first_version__); every version is a
// committed group with a timestamp and a prev_version chain that ends at
// __first_version__; every virtual mapping reads the dataset's own raw_data
// in the same file, covers exactly one chunk of the dataset's chunk grid,
// and starts at a raw_data chunk inside raw_data; the dataset's type and
// chunk shape are its raw_data's; every hash table row points to a whole
// raw_data chunk whose SHA-256 (computed as the library does) is the row's,
// and every mapped chunk has a row. Files of data_version 1 to 3 hashed
// variable-length strings another way, and both the library and vh5fs
// rebuild those tables on the next commit: their string rows are not hashed.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "vh5/progress.h"
#include "vh5/status.h"

namespace vh5 {

struct VerifyReport {
  // One line per problem, with its context ("version v3: prices: ...").
  std::vector<std::string> problems;
  uint64_t versions = 0;   // committed versions examined
  uint64_t datasets = 0;   // datasets of those versions examined
  uint64_t mappings = 0;   // virtual mappings checked
  uint64_t hash_rows = 0;  // hash table rows whose chunk was hashed
  bool sound() const { return problems.empty(); }
};

// Examines the file at `path` read-only. A Status error only when the file
// cannot be examined at all: missing, not HDF5, without versioned data, or
// still held by a writer after `wait` (the lock is held shared while it reads).
Result<VerifyReport> VerifyFile(const std::string& path, const Progress& progress = {},
                                std::chrono::milliseconds wait = std::chrono::milliseconds(0));

}  // namespace vh5
