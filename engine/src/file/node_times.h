// The times VersionedFile::ChangedAtNs has found, by version and node: each
// name stands for a small id, so that a walk over 2,000 versions of 100
// datasets settles 200,000 times without building as many string keys.
//
// Thread safety: none; the owner guards it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

namespace vh5 {

class NodeTimes {
 public:
  // When the node itself last changed, or with its children (a group).
  enum class Kind : uint64_t { kOwn = 0, kWithChildren = 1 };

  // The key of (`kind`, `version`, `path`); names met first get new ids.
  uint64_t Key(Kind kind, const std::string& version, const std::string& path) {
    return IdOf(versions_, version) << 33 | IdOf(paths_, path) << 1 | static_cast<uint64_t>(kind);
  }
  std::optional<int64_t> Find(uint64_t key) const {
    auto it = times_.find(key);
    if (it == times_.end()) return std::nullopt;
    return it->second;
  }
  // Bounded: a walk of 10,000 versions of 1,000 datasets would keep ten
  // million (~500 MB); past the bound all are forgotten and found again.
  static constexpr size_t kMostKept = size_t{1} << 20;
  void Set(uint64_t key, int64_t ns) {
    if (times_.size() >= kMostKept) times_.clear();
    times_[key] = ns;
  }
  // Forgets the times. The ids stay: a key made before still means the
  // same node.
  void Clear() { times_.clear(); }

 private:
  static uint64_t IdOf(std::unordered_map<std::string, uint64_t>& ids, const std::string& name) {
    return ids.try_emplace(name, ids.size()).first->second;
  }

  std::unordered_map<std::string, uint64_t> versions_, paths_;
  std::unordered_map<uint64_t, int64_t> times_;
};

}  // namespace vh5
