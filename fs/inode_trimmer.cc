#include "inode_trimmer.h"

namespace vh5fs {

void InodeTrimmer::Start(fuse_session* se) {
  se_ = se;
  thread_ = std::thread([this] { Loop(); });
}

void InodeTrimmer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void InodeTrimmer::Poke() {
  if (!thread_.joinable() || inodes_->version_nodes() <= keep_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    poked_ = true;
  }
  wake_.notify_one();
}

void InodeTrimmer::Loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return poked_ || stop_; });
      if (stop_) return;
      poked_ = false;
    }
    // A quarter below the bound, so that the thread wakes once per
    // keep / 4 lookups, not once per lookup.
    for (const auto& [parent, name] : inodes_->Oldest(keep_ - keep_ / 4)) {
      if (stop_) return;
      // ENOENT: the kernel no longer knows it; nothing to do either way.
      (void)fuse_lowlevel_notify_inval_entry(se_, parent, name.c_str(), name.size());
    }
  }
}

}  // namespace vh5fs
