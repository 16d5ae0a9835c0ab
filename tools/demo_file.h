// The demo versioned file `vh5 demo` writes: a few versions of several
// kinds of dataset, so that a new user has something real to mount.
#pragma once

#include <string>

#include "vh5/status.h"

namespace vh5tool {

vh5::Status WriteDemoFile(const std::string& path);

}  // namespace vh5tool
