// What changed between two committed versions of a file: groups and
// datasets added, removed or changed. Dataset contents are compared through
// their chunk maps only, never read: a chunk differs when the two versions
// map it to different raw_data chunks (or only one version has it), which
// deduplication makes the same as different content.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vh5/metadata.h"
#include "vh5/status.h"

namespace vh5 {

struct AttributeChanges {
  std::vector<std::string> added, removed, changed;  // names, sorted
  bool empty() const { return added.empty() && removed.empty() && changed.empty(); }
};

struct NodeChange {
  enum class Change { kAdded, kRemoved, kChanged };
  struct Field {
    std::string from, to;
  };

  Change change = Change::kChanged;
  NodeKind kind = NodeKind::kGroup;
  std::string path;  // relative to the version root; "" is the root group
  // kChanged datasets: each property that differs, in the xattr spellings
  // of vh5fs ("<f8", "1000,37", "gzip:4").
  std::optional<Field> dtype, shape, chunks, fillvalue, compression;
  // kChanged datasets: chunks that differ, of all the chunks either version has.
  uint64_t chunks_differ = 0;
  uint64_t chunks_total = 0;
  AttributeChanges attributes;
};

struct VersionDiff {
  std::string from, to;
  std::vector<NodeChange> changes;  // by path
};

// Compares committed versions `from` and `to` of the file at `path`.
// NotFound when either is not a version. The file's lock is held shared
// while it is read; Busy when a writer still holds it after `wait`.
Result<VersionDiff> DiffVersions(const std::string& path, const std::string& from,
                                 const std::string& to,
                                 std::chrono::milliseconds wait = std::chrono::milliseconds(0));

}  // namespace vh5
