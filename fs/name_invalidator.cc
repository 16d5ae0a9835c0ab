#include "name_invalidator.h"

#include <chrono>

#include "log.h"

namespace vh5fs {
namespace {

// A lookup answered just before a change may reach the kernel after the
// notification that undoes it: the names dropped are dropped once more
// this much later.
constexpr std::chrono::milliseconds kSecondPass{200};

}  // namespace

NameInvalidator::NameInvalidator(fuse_session* session, StaleNames stale)
    : session_(session), stale_(std::move(stale)), thread_([this] { Run(); }) {}

NameInvalidator::~NameInvalidator() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void NameInvalidator::Poke() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    poked_ = true;
  }
  wake_.notify_one();
}

void NameInvalidator::Run() {
  std::vector<std::pair<fuse_ino_t, std::string>> again;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (again.empty()) {
      wake_.wait(lock, [this] { return poked_ || stopping_; });
    } else {
      wake_.wait_for(lock, kSecondPass, [this] { return poked_ || stopping_; });
    }
    if (stopping_) return;
    poked_ = false;
    lock.unlock();
    std::vector<std::pair<fuse_ino_t, std::string>> fresh = stale_();
    std::vector<std::pair<fuse_ino_t, std::string>> names = fresh;
    names.insert(names.end(), again.begin(), again.end());
    for (const auto& [parent, name] : names) {
      int rc = fuse_lowlevel_notify_inval_entry(session_, parent, name.c_str(), name.size());
      // ENOENT: the kernel holds nothing under that name (any more).
      if (rc != 0 && rc != -ENOENT)
        LogInfo("versions/" + name + ": the kernel was not told to forget it (" +
                std::to_string(-rc) + ")");
    }
    lock.lock();
    again = std::move(fresh);  // each name gets one second pass
  }
}

}  // namespace vh5fs
