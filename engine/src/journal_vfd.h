// An HDF5 file driver that sends a writer's I/O through a Transaction
// (journal.h): what a commit writes into an existing file becomes durable
// all at once, or not at all, whatever kills the process in between.
//
// The driver opens existing files only, takes no lock of its own (the
// versioned file holds one for as long as it is open), and presents the
// Transaction's view of the file: the base plus every write so far.
#pragma once

#include "h5_handle.h"
#include "journal.h"

namespace vh5 {

// A file access property list opening files through `txn`, which must
// outlive every file opened with it. HDF5's own file locking is off.
Result<h5::Handle> JournaledFileAccess(Transaction* txn);

}  // namespace vh5
