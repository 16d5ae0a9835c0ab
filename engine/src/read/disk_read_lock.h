// Holds a file's disk lock (FileCore::disk_mu) shared, unless this thread
// already holds it: metadata reads nest (loading a dataset opens its
// raw_data, which reads through HDF5), and a shared_mutex taken twice by
// one thread deadlocks as soon as a commit waits for it.
#pragma once

#include <algorithm>
#include <memory>
#include <shared_mutex>
#include <vector>

namespace vh5 {

class DiskReadLock {
 public:
  explicit DiskReadLock(std::shared_mutex* mu) {
    if (mu == nullptr || std::find(Held().begin(), Held().end(), mu) != Held().end()) return;
    mu->lock_shared();
    Held().push_back(mu);
    mu_ = mu;
  }
  explicit DiskReadLock(const std::shared_ptr<std::shared_mutex>& mu) : DiskReadLock(mu.get()) {}
  ~DiskReadLock() {
    if (mu_ == nullptr) return;
    Held().erase(std::find(Held().begin(), Held().end(), mu_));
    mu_->unlock_shared();
  }
  DiskReadLock(const DiskReadLock&) = delete;
  DiskReadLock& operator=(const DiskReadLock&) = delete;

 private:
  static std::vector<std::shared_mutex*>& Held() {
    thread_local std::vector<std::shared_mutex*> held;
    return held;
  }
  std::shared_mutex* mu_ = nullptr;
};

}  // namespace vh5
