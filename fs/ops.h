// The FUSE low-level operations table over a Filesystem.
#pragma once

#include "filesystem.h"

namespace vh5fs {

// The largest request either way, and the readahead window asked for: 1 MiB.
inline constexpr unsigned kReadaheadKb = 1024;

// Every operation vh5fs serves; userdata of the session is the Filesystem.
fuse_lowlevel_ops MakeOperations();

}  // namespace vh5fs
