// Versions by position and by time: what prev/N and at/TIME show, and the
// Python library's file[-N] and file[datetime].
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vh5/metadata.h"
#include "vh5/versioned_file.h"

namespace vh5 {

// `from` and the versions before it along prev_version: element N is the
// Python library's get_nth_previous_version(from, N). Ends at a version
// with no previous one (kFirstVersionName), before a name that is not a
// committed version, and at a cycle (a damaged file). Empty when `from` is
// not a version.
std::vector<std::string> PrevChain(const VersionedFile& file, const std::string& from);

// Every version's timestamp, sorted: get_version_by_timestamp's documented
// rule (the latest timestamp not after a moment, over all versions) as a
// binary search. The library's own loop starts from __first_version__'s
// time and so finds nothing for versions dated before it: not copied.
class TimeIndex {
 public:
  TimeIndex() = default;
  // Versions without a readable timestamp are left out.
  explicit TimeIndex(const std::vector<VersionInfo>& versions);

  // The version whose timestamp is the latest not after `ns`; of several
  // with that timestamp, the first by name (the library's loop walks the
  // group in name order and keeps the first). nullopt before the first.
  std::optional<std::string> At(int64_t ns) const;
  // Each distinct timestamp once, oldest first, with the version At gives for it.
  std::vector<std::pair<int64_t, std::string>> Moments() const;
  size_t size() const { return by_time_.size(); }

 private:
  std::vector<std::pair<int64_t, std::string>> by_time_;  // sorted by time, then name
};

}  // namespace vh5
