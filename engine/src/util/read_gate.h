// A gate in front of a file's bytes: readers pass it for each read of the
// file; a closer stops new readers and waits until those inside are out.
//
// It stands between the mount's readers and another process that is about
// to write the file: that process waits (for its open to return) until the
// gate is closed, and the gate opens again once what it wrote is known.
// Unlike a reader-preferring rwlock, a closing gate is never starved by
// readers that keep coming. Passing an open gate costs two atomic
// operations.
//
// Thread safety: all methods may be called from any thread at once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace vh5 {

class ReadGate {
 public:
  // Passes the gate, waiting up to `wait` while it is closed; false when it
  // stayed closed that long (nothing to Exit then).
  bool Enter(std::chrono::milliseconds wait);
  void Exit();
  // Stops new readers and waits until every reader inside has left.
  void Close();
  void Open();
  bool closed() const { return state_.load(std::memory_order_acquire) & kClosed; }

 private:
  static constexpr uint64_t kClosed = uint64_t{1} << 63;  // the rest: readers inside
  std::atomic<uint64_t> state_{0};
  std::mutex mu_;
  std::condition_variable changed_;
};

// Holds a pass of a gate for its life; ok() false when the gate stayed closed.
class GatePass {
 public:
  GatePass() = default;
  GatePass(ReadGate* gate, std::chrono::milliseconds wait)
      : gate_(gate != nullptr && gate->Enter(wait) ? gate : nullptr),
        ok_(gate == nullptr || gate_) {}
  ~GatePass() {
    if (gate_) gate_->Exit();
  }
  GatePass(GatePass&& other) noexcept : gate_(other.gate_), ok_(other.ok_) {
    other.gate_ = nullptr;
  }
  GatePass& operator=(GatePass&& other) noexcept {
    if (this != &other) {
      if (gate_) gate_->Exit();
      gate_ = other.gate_;
      ok_ = other.ok_;
      other.gate_ = nullptr;
    }
    return *this;
  }
  bool ok() const { return ok_; }

 private:
  ReadGate* gate_ = nullptr;
  bool ok_ = true;
};

}  // namespace vh5
