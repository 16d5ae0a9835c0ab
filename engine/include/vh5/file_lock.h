// Whether another process has a file open in a way that forbids an access.
//
// HDF5 holds a flock(2) on every file it opens for as long as it is open:
// shared for reading, exclusive for writing. A vh5fs mount holds one for
// its whole life (exclusive for a read-write mount, shared with -o ro), and
// so does h5py. Changing a file under such a reader would corrupt what it
// sees, so the offline changes check first.
#pragma once

#include <string>

#include "vh5/status.h"

namespace vh5 {

// How a process opens a versioned file (VersionedFile::Access).
enum class Access { kReadOnly, kReadWrite };

// OK when `path` can be opened for `access` now: for kReadOnly, no process
// holds it for writing; for kReadWrite, no process holds it at all.
// Busy, with a message naming the likely holder, otherwise; NotFound or
// IOError when it cannot be opened at all.
Status CheckNotLocked(const std::string& path, Access access);

}  // namespace vh5
