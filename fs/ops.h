// The FUSE low-level operations table over a Filesystem.
#pragma once

#include "filesystem.h"

namespace vh5fs {

// Every operation vh5fs serves; userdata of the session is the Filesystem.
fuse_lowlevel_ops MakeOperations();

}  // namespace vh5fs
