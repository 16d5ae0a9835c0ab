#include "read/chunk_cache.h"

#include <atomic>

namespace vh5 {

ChunkCache& ChunkCache::Decoded() {
  static ChunkCache* cache = new ChunkCache(uint64_t{64} << 20);  // never destroyed: no exit order
  return *cache;
}

uint64_t ChunkCache::NewOwner() {
  static std::atomic<uint64_t> next{1};
  return next++;
}

ChunkCache::Chunk ChunkCache::Find(uint64_t owner, uint64_t chunk) {
  MutexLock lock(&mu_);
  auto it = index_.find(Key{owner, chunk});
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void ChunkCache::Insert(uint64_t owner, uint64_t chunk, Chunk bytes) {
  if (!bytes || bytes->size() > capacity_) return;
  MutexLock lock(&mu_);
  Key key{owner, chunk};
  if (auto it = index_.find(key); it != index_.end()) {
    bytes_ -= it->second->second->size();
    lru_.erase(it->second);
    index_.erase(it);
  }
  bytes_ += bytes->size();
  lru_.emplace_front(key, std::move(bytes));
  index_.emplace(key, lru_.begin());
  while (bytes_ > capacity_) {
    auto& [old_key, old_bytes] = lru_.back();
    bytes_ -= old_bytes->size();
    index_.erase(old_key);
    lru_.pop_back();
  }
}

uint64_t ChunkCache::bytes() const {
  MutexLock lock(&mu_);
  return bytes_;
}

}  // namespace vh5
