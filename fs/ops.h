// The FUSE low-level operations table over a Filesystem.
#pragma once

#include "filesystem.h"
#include "read_replies.h"

namespace vh5fs {

// The largest write request: 1 MiB.
inline constexpr unsigned kMaxWrite = 1 << 20;

// The session's userdata: what the operations serve, and how reads are sized.
struct Served {
  Filesystem& fs;
  ReadReplies replies;
  size_t max_read;  // the mount's max_read option; also the readahead window
};

// Every operation vh5fs serves; userdata of the session is a Served.
fuse_lowlevel_ops MakeOperations();

}  // namespace vh5fs
