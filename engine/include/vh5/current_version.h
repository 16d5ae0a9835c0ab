// Choosing a versioned file's current version offline, as the Python
// library's set_current_version does.
#pragma once

#include <string>

#include "vh5/status.h"

namespace vh5 {

// Makes committed version `name` the current version of the file at `path`.
// NotFound when there is no such version; Busy while another process (a
// vh5fs mount) has the file open, and then nothing is written.
Status SetCurrentVersion(const std::string& path, const std::string& name);

}  // namespace vh5
