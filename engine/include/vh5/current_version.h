// Choosing a versioned file's current version offline, as the Python
// library's set_current_version does.
#pragma once

#include <chrono>
#include <string>

#include "vh5/status.h"

namespace vh5 {

// Makes committed version `name` the current version of the file at `path`.
// NotFound when there is no such version; Busy when another process (a
// program with it open in HDF5) still holds its lock after `wait`, and then
// nothing is written. The lock is held exclusively for the change.
Status SetCurrentVersion(const std::string& path, const std::string& name,
                         std::chrono::milliseconds wait = std::chrono::milliseconds(0));

}  // namespace vh5
