// Keeps bytes that Dataset::Locate named in the versioned file where they
// are, and the descriptor they are read through open, until released:
// another process that wants to write the file waits meanwhile. Release it
// on the thread that took it, as soon as the bytes are read (a FUSE reply
// spliced from the descriptor).
#pragma once

#include <memory>

namespace vh5 {

class ReadHold {
 public:
  ReadHold() = default;
  ReadHold(std::shared_ptr<const void> keep, int fd) : keep_(std::move(keep)), fd_(fd) {}
  // The descriptor Dataset::Run::file_offset refers to; -1: none.
  int fd() const { return fd_; }
  void Release() {
    keep_.reset();
    fd_ = -1;
  }

 private:
  std::shared_ptr<const void> keep_;
  int fd_ = -1;
};

}  // namespace vh5
