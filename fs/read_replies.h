// How big a read request vh5fs asks the kernel for, so that its replies can
// be spliced from FILE instead of copied.
#pragma once

#include <cstddef>

namespace vh5fs {

// libfuse splices a reply through a per-thread pipe that it grows with
// F_SETPIPE_SZ, which stops at /proc/sys/fs/pipe-max-size (1 MiB by default)
// without CAP_SYS_RESOURCE. It wants a page per buffer plus two more beside
// the data; a reply that does not fit is copied through a fresh malloc of its
// size, slower than a plain copy (measured: 1 MiB requests read at a third
// of the speed of 896 KiB ones that splice).
class ReadReplies {
 public:
  // Room left in the pipe for the pages of a fragmented reply's buffers.
  static constexpr size_t kBufferAllowance = 128 << 10;
  static constexpr size_t kLargestRequest = 1 << 20;
  // Below this, splicing is not worth smaller requests: every reply is
  // copied, in requests of kLargestRequest.
  static constexpr size_t kSmallestSplicedRequest = 256 << 10;

  // `pipe_bytes`: the largest pipe a thread can get.
  explicit ReadReplies(size_t pipe_bytes);
  // From /proc/sys/fs/pipe-max-size; the kernel default when unreadable.
  static ReadReplies FromSystem();

  // The largest read request to ask for (the max_read mount option); also the
  // readahead window, so that one window is one request.
  size_t max_read() const { return max_read_; }
  // Whether libfuse can splice a reply of `bytes` in `buffers` pieces.
  bool Splices(size_t buffers, size_t bytes) const;

 private:
  size_t page_bytes_;
  size_t pipe_bytes_;
  size_t max_read_;
};

}  // namespace vh5fs
