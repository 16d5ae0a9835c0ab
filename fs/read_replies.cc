#include "read_replies.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>

namespace vh5fs {
namespace {

constexpr size_t kDefaultPipeMax = 1 << 20;
constexpr size_t kReplyHeaderBytes = 16;  // struct fuse_out_header

}  // namespace

ReadReplies::ReadReplies(size_t pipe_bytes)
    : page_bytes_(static_cast<size_t>(::sysconf(_SC_PAGESIZE))), pipe_bytes_(pipe_bytes) {
  size_t room = pipe_bytes > kBufferAllowance ? pipe_bytes - kBufferAllowance : 0;
  room -= room % page_bytes_;
  max_read_ = room < kSmallestSplicedRequest ? kLargestRequest : std::min(room, kLargestRequest);
}

ReadReplies ReadReplies::FromSystem() {
  std::ifstream in("/proc/sys/fs/pipe-max-size");
  size_t bytes = 0;
  if (!(in >> bytes) || bytes == 0) bytes = kDefaultPipeMax;
  return ReadReplies(bytes);
}

bool ReadReplies::Splices(size_t buffers, size_t bytes) const {
  // libfuse's own test (fuse_send_data_iov): a page for the header's iovec,
  // one per buffer and one spare, beside the data itself.
  return page_bytes_ * (buffers + 2) + kReplyHeaderBytes + bytes <= pipe_bytes_;
}

}  // namespace vh5fs
