// The lock a process holds on a versioned file while it uses it, and what
// can be learnt about other processes' use of it without disturbing them.
//
// flock(2) on a descriptor of the file, held for the descriptor's life:
// exclusive by a writer (an offline change, a commit), shared by a reader.
// It is the lock HDF5 itself takes (and h5py with it). The engine's own HDF5
// handles run with HDF5's locking off: this one lock stands for them all.
//
// HDF5 never waits for a lock (LOCK_NB, and it fails at once); neither can
// flock(2) wait for a time. A lock that may wait is therefore polled.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>

#include "util/fd.h"
#include "vh5/status.h"

namespace vh5 {

// The flock of `path`: shared or exclusive, taken at once or, while another
// process's lock conflicts, retried every few milliseconds until `wait` has
// passed. Once won, the lock is on the file `path` names then: a file
// replaced by rename meanwhile (vh5 repack) is locked anew. Busy, naming the
// holder when /proc/locks does, once `wait` passed; NotFound or IOError when
// the file cannot be opened. A filesystem without flock gives an unlocked
// descriptor.
Result<Fd> HoldFileLock(const std::string& path, bool exclusive,
                        std::chrono::milliseconds wait = std::chrono::milliseconds(0));

// The flock of a lock file, made (0644) when `create` and absent; NotFound
// when absent otherwise. A lock file is never deleted: a process could take
// the lock of the file deleted while another makes a new one. Busy as above.
Result<Fd> HoldLockFile(const std::string& path, bool exclusive, bool create,
                        std::chrono::milliseconds wait = std::chrono::milliseconds(0));

// Who holds a flock on the file `st` describes, as "python3 (pid 1234)",
// several joined by ", ": every holder, or only those holding it exclusively
// (`writers_only`). Empty when /proc/locks names none.
std::string FlockHolders(const struct stat& st, bool writers_only);

// Whether a process (this one included) has the file of `fd` (opened
// O_RDONLY) open for writing. Asked with a read lease, taken and released
// at once: a file open for writing refuses it, and nobody sees it. Where
// leases cannot be taken (another owner's file, a filesystem without them),
// an exclusive flock stands for the writer (HDF5 takes one with every
// write open).
bool OpenForWriting(int fd);

// Rolls back an interrupted change of `path` if a journal says there was
// one (journal.h); the caller holds the exclusive lock. OK when there is none.
Status RecoverHeldFile(const std::string& path);

// Takes the exclusive lock (waiting up to `wait`) only when a journal
// beside `path` says a change was interrupted, and rolls it back; OK when
// there is none. Must run before the file is read.
Status RecoverInterruptedChange(const std::string& path,
                                std::chrono::milliseconds wait = std::chrono::milliseconds(0));

}  // namespace vh5
