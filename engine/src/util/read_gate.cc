#include "util/read_gate.h"

namespace vh5 {

bool ReadGate::Enter(std::chrono::milliseconds wait) {
  if (!(state_.fetch_add(1, std::memory_order_acquire) & kClosed)) return true;
  Exit();  // closed: step back out, so that the closer is not kept waiting
  auto deadline = std::chrono::steady_clock::now() + wait;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (!(state_.fetch_add(1, std::memory_order_acquire) & kClosed)) return true;
    if (((state_.fetch_sub(1, std::memory_order_acq_rel) - 1) & ~kClosed) == 0)
      changed_.notify_all();
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout && closed()) return false;
  }
}

void ReadGate::Exit() {
  uint64_t after = state_.fetch_sub(1, std::memory_order_acq_rel) - 1;
  if (after == kClosed) {
    // The last reader out of a closing gate: the closer may be waiting.
    std::lock_guard<std::mutex> lock(mu_);
    changed_.notify_all();
  }
}

void ReadGate::Close() {
  std::unique_lock<std::mutex> lock(mu_);
  state_.fetch_or(kClosed, std::memory_order_acq_rel);
  changed_.wait(lock, [&] { return (state_.load(std::memory_order_acquire) & ~kClosed) == 0; });
}

void ReadGate::Open() {
  std::lock_guard<std::mutex> lock(mu_);
  state_.fetch_and(~kClosed, std::memory_order_acq_rel);
  changed_.notify_all();
}

}  // namespace vh5
