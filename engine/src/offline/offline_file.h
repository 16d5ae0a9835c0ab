// A versioned file opened by HDF5 directly, for the offline tool's checks
// and changes (verify, set-current, delete, repack): unlike VersionedFile,
// it trusts nothing beyond the existence of /_version_data/versions, so
// that a damaged file can still be examined.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "format/object_check.h"
#include "hdf5/h5_handle.h"
#include "journal/journal.h"
#include "util/fd.h"
#include "vh5/status.h"
#include "vh5/versioned_file.h"

namespace vh5 {

struct OfflineFile {
  // Declared first to end last: the flock held while the file is open
  // (held_lock.h), and for read-write opens the transaction every change
  // goes through (journal.h).
  Fd lock;
  std::unique_ptr<Transaction> txn;
  h5::Handle file;
  h5::Handle versions;  // /_version_data/versions
  std::string path;
  int data_version = 1;  // 1 when the attribute is absent
  // While the file is open read-only: every object is checked before HDF5
  // decodes it (object_check.h), through a descriptor of its own.
  std::shared_ptr<const Fd> fd;
  std::shared_ptr<ObjectChecker> checker;

  OfflineFile() = default;
  OfflineFile(OfflineFile&&) = default;
  OfflineFile& operator=(OfflineFile&&) = default;
  // A read-write open not applied changes nothing.
  ~OfflineFile();

  // Read-write opens: closes the file and makes every change durable at
  // once; a crash before the end leaves the file as it was.
  Status Apply();
};

struct OfflineOpen {
  VersionedFile::Access access = VersionedFile::Access::kReadOnly;
  // The lock held while the file is open: shared, or exclusive for a
  // read-write open and whenever this is set (a read that ends in replacing
  // the file: repack).
  bool exclusive = false;
  // How long to wait for another process's conflicting lock.
  std::chrono::milliseconds wait{0};
  // Read-write opens: run on the read-only handle before anything is written.
  std::function<Status(const OfflineFile&)> check;
};

// Opens `path`, its lock taken first (waiting up to `how.wait`) and an
// interrupted change rolled back: NotFound for a missing file, NotHdf5,
// NotVersioned, Busy while another process's lock still conflicts.
// Read-write opens first run every check (a data_version the engine does not
// know, then `how.check`) on a read-only handle, so that a refusal writes nothing.
Result<OfflineFile> OpenOffline(const std::string& path, const OfflineOpen& how);

// Whether /_version_data/versions/<name> is a committed version (a group,
// not kFirstVersionName, its committed attribute not False).
bool IsCommittedVersion(hid_t versions, const std::string& name);

}  // namespace vh5
