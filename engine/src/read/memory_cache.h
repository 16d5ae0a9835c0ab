// What the process keeps in memory to read faster, under one byte budget:
// version trees, datasets (their chunk maps), raw_data objects and decoded
// chunks share one least-recently-used list, so that memory is bounded by
// the budget (default 256 MiB, vh5fs -o cache_size=) whatever the width of
// a version or the number of versions read. Each entry is charged what its
// owner estimates it holds; evicted entries stay alive while someone holds
// them (shared_ptr), so eviction only ever costs a reload.
//
// Thread safety: all methods may be called concurrently. Values are
// destroyed outside the cache's lock: a destructor may call back in
// (Forget).
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "vh5/mutex.h"

namespace vh5 {

class MemoryCache {
 public:
  using Value = std::shared_ptr<const void>;
  static constexpr uint64_t kDefaultCapacity = uint64_t{256} << 20;

  explicit MemoryCache(uint64_t capacity_bytes) : capacity_(capacity_bytes) {}

  // The process's cache.
  static MemoryCache& Process();
  // A key space of its own for each owner (a raw_data object, a tree, a
  // file), never reused.
  static uint64_t NewOwner();

  // Evicts down to `bytes` at once if over it.
  void SetCapacity(uint64_t bytes);
  uint64_t capacity() const;
  uint64_t bytes() const;
  size_t entries() const;

  // The entry, made the most recently used; nullptr if not cached.
  Value Find(uint64_t owner, std::string_view key);
  template <typename T>
  std::shared_ptr<const T> Get(uint64_t owner, std::string_view key) {
    return std::static_pointer_cast<const T>(Find(owner, key));
  }
  // Caches `value` as charged `bytes` (replacing the entry of that key),
  // then evicts the least recently used entries while over the budget. An
  // entry larger than the whole budget is not kept.
  void Insert(uint64_t owner, std::string_view key, Value value, uint64_t bytes);
  // Drops every entry of `owner` (it is going away).
  void Forget(uint64_t owner);

 private:
  struct Key {
    uint64_t owner;
    std::string name;
    bool operator==(const Key& o) const { return owner == o.owner && name == o.name; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return std::hash<std::string_view>()(k.name) ^ (k.owner * 0x9e3779b97f4a7c15ULL);
    }
  };
  struct Entry {
    Key key;
    Value value;
    uint64_t bytes;
  };
  using Lru = std::list<Entry>;  // most recent first

  // Unlinks `it`; its value goes to `dead`, to be destroyed after unlocking.
  void Remove(Lru::iterator it, std::list<Value>* dead) REQUIRES(mu_);
  void EvictOver(std::list<Value>* dead) REQUIRES(mu_);

  mutable Mutex mu_;
  uint64_t capacity_ GUARDED_BY(mu_);
  Lru lru_ GUARDED_BY(mu_);
  std::unordered_map<Key, Lru::iterator, KeyHash> index_ GUARDED_BY(mu_);
  std::unordered_map<uint64_t, size_t> per_owner_ GUARDED_BY(mu_);  // entries of each owner
  uint64_t bytes_ GUARDED_BY(mu_) = 0;
};

}  // namespace vh5
