// A mutex the thread safety analysis knows (thread_annotations.h), and its
// RAII holder. A member that a mutex guards says so with GUARDED_BY(mu_);
// clang then refuses code that touches it without holding mu_. (A file's
// disk lock, FileCore::disk_mu, stays a std::shared_mutex: it guards the
// file's bytes, not members.)
#pragma once

#include <mutex>

#include "vh5/thread_annotations.h"

namespace vh5 {

class CAPABILITY("mutex") Mutex {
 public:
  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// Holds a Mutex for its life.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

}  // namespace vh5
