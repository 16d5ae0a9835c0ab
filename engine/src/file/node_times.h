// The times VersionedFile::ChangedAtNs has found, by version and node: each
// name stands for a small id, so that a walk over 2,000 versions of 100
// datasets settles 200,000 times without building as many string keys.
//
// Thread safety: none; the owner guards it.
#pragma once

#include <algorithm>
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
  // Keys carry the generation of the ids: one made before the ids were
  // forgotten (Clear, or the bound) never finds a time again.
  uint64_t Key(Kind kind, const std::string& version, const std::string& path) {
    Reserve(2);
    return KeyOf(kind, VersionId(version), PathId(path));
  }
  // The same in parts, for a caller making many keys: after Reserve(n), the
  // next n new ids clear nothing, and ids stay valid while generation() does.
  void Reserve(size_t names) {
    if (versions_.size() + names > kMostIds || paths_.size() + names > kMostIds) Clear();
  }
  uint64_t generation() const { return generation_; }
  uint64_t VersionId(const std::string& version) { return IdOf(versions_, version); }
  uint64_t PathId(const std::string& path) { return IdOf(paths_, path); }
  uint64_t KeyOf(Kind kind, uint64_t version_id, uint64_t path_id) const {
    return generation_ << 56 | version_id << 33 | path_id << 1 | static_cast<uint64_t>(kind);
  }
  std::optional<int64_t> Find(uint64_t key) const {
    auto it = times_.find(key);
    if (it == times_.end()) return std::nullopt;
    return it->second;
  }
  // Bounded: a walk of 10,000 versions of 1,000 datasets would keep ten
  // million (~500 MB); past the bound all are forgotten and found again.
  static constexpr size_t kMostKept = size_t{1} << 20;
  // Room for `more` times without rehashing on the way.
  void Grow(size_t more) { times_.reserve(std::min(times_.size() + more, kMostKept)); }
  void Set(uint64_t key, int64_t ns) {
    if (key >> 56 != generation_) return;  // made before the ids were forgotten
    if (times_.size() >= kMostKept) times_.clear();
    times_[key] = ns;
  }
  // Forgets the times and the ids.
  void Clear() {
    times_.clear();
    versions_.clear();
    paths_.clear();
    generation_ = (generation_ + 1) & 0xff;
  }

 private:
  // Ids fit their fields: versions 23 bits, paths 32 bits.
  static constexpr size_t kMostIds = size_t{1} << 22;
  static uint64_t IdOf(std::unordered_map<std::string, uint64_t>& ids, const std::string& name) {
    return ids.try_emplace(name, ids.size()).first->second;
  }

  uint64_t generation_ = 0;  // 8 bits
  std::unordered_map<std::string, uint64_t> versions_, paths_;
  std::unordered_map<uint64_t, int64_t> times_;
};

}  // namespace vh5
