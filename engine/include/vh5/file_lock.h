// Other processes' use of a versioned file, as the offline tool meets it.
//
// HDF5 holds a flock(2) on every file it opens, for as long as it is open:
// shared for reading, exclusive for writing, and it fails at once when it
// cannot have it. The offline operations (vh5) take the same lock, but wait
// for it: shared while they read (diff, verify), exclusive while they change
// the file (set-current, delete, repack). Reading a version list or a
// dataset (log, ls, cat) takes no lock: it only waits until nobody has the
// file open for writing.
#pragma once

#include <chrono>
#include <string>

#include "vh5/status.h"

namespace vh5 {

// How a process opens a versioned file (VersionedFile::Access).
enum class Access { kReadOnly, kReadWrite };

// How long vh5 waits by default for another process's lock or write.
inline constexpr std::chrono::milliseconds kDefaultWait{30000};

// OK once no process has `path` open for writing, checked at once and then
// every few milliseconds until `wait` has passed; Busy after that, naming the
// writer when it can be found. Nothing is locked: a writer may open the file
// just after. NotFound or IOError when the file cannot be opened at all.
Status WaitUntilNotWritten(const std::string& path, std::chrono::milliseconds wait);

}  // namespace vh5
