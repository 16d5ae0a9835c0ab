#include "read/memory_cache.h"

#include <atomic>

namespace vh5 {

MemoryCache& MemoryCache::Process() {
  static MemoryCache* cache = new MemoryCache(kDefaultCapacity);  // never destroyed: no exit order
  return *cache;
}

uint64_t MemoryCache::NewOwner() {
  static std::atomic<uint64_t> next{1};
  return next++;
}

void MemoryCache::SetCapacity(uint64_t bytes) {
  std::list<Value> dead;
  MutexLock lock(&mu_);
  capacity_ = bytes;
  EvictOver(&dead);
}

uint64_t MemoryCache::capacity() const {
  MutexLock lock(&mu_);
  return capacity_;
}

uint64_t MemoryCache::bytes() const {
  MutexLock lock(&mu_);
  return bytes_;
}

size_t MemoryCache::entries() const {
  MutexLock lock(&mu_);
  return lru_.size();
}

MemoryCache::Value MemoryCache::Find(uint64_t owner, std::string_view key) {
  MutexLock lock(&mu_);
  auto it = index_.find(Key{owner, std::string(key)});
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->value;
}

void MemoryCache::Remove(Lru::iterator it, std::list<Value>* dead) {
  bytes_ -= it->bytes;
  if (auto owner = per_owner_.find(it->key.owner); --owner->second == 0) per_owner_.erase(owner);
  index_.erase(it->key);
  dead->push_back(std::move(it->value));
  lru_.erase(it);
}

void MemoryCache::EvictOver(std::list<Value>* dead) {
  while (bytes_ > capacity_ && !lru_.empty()) Remove(std::prev(lru_.end()), dead);
}

void MemoryCache::Insert(uint64_t owner, std::string_view key, Value value, uint64_t bytes) {
  std::list<Value> dead;  // destroyed after the lock is released
  MutexLock lock(&mu_);
  Key k{owner, std::string(key)};
  if (auto it = index_.find(k); it != index_.end()) Remove(it->second, &dead);
  if (!value || bytes > capacity_) return;
  bytes_ += bytes;
  lru_.push_front(Entry{k, std::move(value), bytes});
  index_.emplace(std::move(k), lru_.begin());
  ++per_owner_[owner];
  EvictOver(&dead);
}

void MemoryCache::Forget(uint64_t owner) {
  std::list<Value> dead;
  MutexLock lock(&mu_);
  if (!per_owner_.count(owner)) return;
  for (auto it = lru_.begin(); it != lru_.end() && per_owner_.count(owner);) {
    auto next = std::next(it);
    if (it->key.owner == owner) Remove(it, &dead);
    it = next;
  }
}

}  // namespace vh5
