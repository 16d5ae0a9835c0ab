// Keeps the inode table, and so the daemon's memory, bounded however many
// committed nodes are walked: the kernel holds a lookup on every node it has
// cached (a day for committed ones) and forgets only under memory pressure,
// so past `keep` nodes inside versions the oldest are invalidated
// (fuse_lowlevel_notify_inval_entry), and the kernel sends their FORGETs.
// A node asked for again is simply looked up again.
//
// The invalidations run on a thread of their own: the kernel takes the
// parent directory's lock for them, which a request being served may hold.
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

#include "inode_table.h"

namespace vh5fs {

class InodeTrimmer {
 public:
  InodeTrimmer(InodeTable* inodes, size_t keep) : inodes_(inodes), keep_(keep) {}
  ~InodeTrimmer() { Stop(); }

  // Starts the thread over `se` (after daemonizing: threads do not survive its fork).
  void Start(fuse_session* se);
  // Ends the thread; before `se` is destroyed.
  void Stop();
  // After a lookup: wakes the thread when over `keep`.
  void Poke();

 private:
  void Loop();

  InodeTable* const inodes_;
  const size_t keep_;
  fuse_session* se_ = nullptr;
  std::mutex mu_;
  std::condition_variable wake_;
  bool poked_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace vh5fs
