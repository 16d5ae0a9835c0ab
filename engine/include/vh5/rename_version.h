// Renaming a version of a versioned file: its group, the prev_version of
// the versions made on it, and current_version when it is current. The
// Python library has no rename; the file stays one it reads and commits on,
// as if the version had been committed under the new name.
#pragma once

#include <chrono>
#include <string>

#include "vh5/status.h"

namespace vh5 {

// Renames version `from` of the file at `path` to `to`, as one transaction
// (doc/crash-safety.md). NotFound when `from` is not a committed version;
// Exists when `to` is a version (or any name in the versions group);
// InvalidArgument for kFirstVersionName or a name a commit would refuse
// (ValidateVersionName); Busy when another process still holds the file's
// lock after `wait`. Nothing is written when it fails.
Status RenameVersion(const std::string& path, const std::string& from, const std::string& to,
                     std::chrono::milliseconds wait = std::chrono::milliseconds(0));

}  // namespace vh5
