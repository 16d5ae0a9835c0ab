// An HDF5 file driver that sends a writer's I/O through a Transaction
// (journal.h): what a commit writes into an existing file becomes durable
// all at once, or not at all, whatever kills the process in between.
//
// The driver opens existing files only, takes no lock of its own (the
// versioned file holds one for as long as it is open), and presents the
// Transaction's view of the file: the base plus every write so far.
//
// Without a transaction it reads the file as it is, read-only. Either way
// HDF5 sees every open as a file of its own: two handles never share HDF5's
// in-memory state, so a handle opened after a commit sees it, whatever an
// older handle still caches.
#pragma once

#include "hdf5/h5_handle.h"
#include "journal/journal.h"

namespace vh5 {

// A file access property list opening files through `txn`, which must
// outlive every file opened with it. HDF5's own file locking is off.
Result<h5::Handle> JournaledFileAccess(Transaction* txn);

// Closes `file`, an HDF5 handle open through `txn`. When `failed`, or when
// the close itself fails, what HDF5 still writes is discarded first, so
// that the handle really closes (one left half closed crashes HDF5 at
// exit). The close's failure, if any.
Status CloseJournaled(hid_t file, Transaction* txn, bool failed);

// A file access property list for reading a file as it is now, alone.
Result<h5::Handle> SnapshotFileAccess();

}  // namespace vh5
