// Tells the kernel to drop the names of versions/ (and zarr/) it keeps for
// a version that another process deleted, renamed or replaced.
//
// A name in versions/ is kept by the kernel for as long as a committed
// version's contents (the entry timeout of vh5fs's lookups): ls -l asks
// four times per entry (stat, then three extended attributes), and a
// timeout of 0 made each of those a lookup. What this mount does itself
// (a commit, rmdir, rename) the kernel sees through its own requests; what
// other processes do reaches the mount through the engine's change
// listener, which pokes this thread.
//
// Thread safety: Poke() from any thread, never blocks. The notifications
// are sent from this object's own thread, holding no lock: the kernel may
// wait for requests in the same directory to be answered first.
#pragma once

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace vh5fs {

class NameInvalidator {
 public:
  // The names (parent inode, name) to drop now; called on this object's thread.
  using StaleNames = std::function<std::vector<std::pair<fuse_ino_t, std::string>>()>;

  NameInvalidator(fuse_session* session, StaleNames stale);
  ~NameInvalidator();  // stops the thread
  NameInvalidator(const NameInvalidator&) = delete;
  NameInvalidator& operator=(const NameInvalidator&) = delete;

  void Poke();

 private:
  void Run();

  fuse_session* const session_;
  const StaleNames stale_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool poked_ = false;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the rest is set
};

}  // namespace vh5fs
