// The lock a process holds on a versioned file for as long as it uses it.
//
// flock(2) on a descriptor of the file, held for the descriptor's life:
// exclusive by a writer (a read-write mount, an offline change), shared by a
// reader. It is the lock HDF5 itself takes (and h5py with it), so another
// vh5fs, vh5 or HDF5 writer is refused. The engine's own HDF5 handles run
// with HDF5's locking off: this one lock stands for them all.
#pragma once

#include <string>

#include "util/fd.h"
#include "vh5/status.h"

namespace vh5 {

// Busy, saying who likely holds it, when another process's lock conflicts.
Result<Fd> HoldFileLock(const std::string& path, bool exclusive);

// Takes the exclusive lock for a moment and rolls back an interrupted
// change of `path` (a commit, delete, set-current) if a journal says there
// was one (journal.h); OK when there is none. Must run before the file is read.
Status RecoverInterruptedChange(const std::string& path);

}  // namespace vh5
