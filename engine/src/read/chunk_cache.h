#include "vh5/mutex.h"
// Decoded chunks of compressed raw_data, shared by every reader of the
// process and bounded in bytes: reading a compressed dataset in 128 KiB
// requests decodes each chunk once, not once per request, and memory stays
// bounded whatever is read.
//
// Thread safety: all methods may be called concurrently. Decoding happens
// outside the cache's lock; two threads missing the same chunk may both
// decode it, and the second insert wins.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

namespace vh5 {

class ChunkCache {
 public:
  using Chunk = std::shared_ptr<const std::string>;

  explicit ChunkCache(uint64_t capacity_bytes) : capacity_(capacity_bytes) {}

  // The process's cache of decoded chunks (64 MiB).
  static ChunkCache& Decoded();
  // A key space of its own for each raw_data object, never reused.
  static uint64_t NewOwner();

  Chunk Find(uint64_t owner, uint64_t chunk);
  void Insert(uint64_t owner, uint64_t chunk, Chunk bytes);
  uint64_t bytes() const;

 private:
  struct Key {
    uint64_t owner, chunk;
    bool operator==(const Key& o) const { return owner == o.owner && chunk == o.chunk; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return k.owner * 0x9e3779b97f4a7c15ULL ^ k.chunk; }
  };
  using Lru = std::list<std::pair<Key, Chunk>>;  // most recent first

  const uint64_t capacity_;
  mutable Mutex mu_;
  Lru lru_ GUARDED_BY(mu_);
  std::unordered_map<Key, Lru::iterator, KeyHash> index_ GUARDED_BY(mu_);
  uint64_t bytes_ GUARDED_BY(mu_) = 0;
};

}  // namespace vh5
