// What every object of one open versioned file shares: the HDF5 file, a
// descriptor for direct chunk reads, and the raw_data datasets opened so far.
//
// Thread safety: Raw() may be called concurrently.
#pragma once

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>

#include "format/object_check.h"
#include "hdf5/h5_handle.h"
#include "read/raw_data.h"
#include "util/fd.h"
#include "vh5/mutex.h"

namespace vh5 {

struct FileCore {
  // Declared first so that it is closed last, after every object opened in it.
  h5::Handle file;
  std::string path;
  std::shared_ptr<const Fd> fd;
  // Held shared while reading the file's metadata (through HDF5 or the
  // engine's own header readers), exclusive while a commit writes its bytes
  // in place (atomic_commit.h): a reader never sees metadata half
  // written. One for every core of the same open versioned file.
  std::shared_ptr<std::shared_mutex> disk_mu = std::make_shared<std::shared_mutex>();
  // Checks every object before HDF5 decodes it (object_check.h).
  std::shared_ptr<ObjectChecker> checker;

  // Opens `path` read-only for readers, with HDF5's own file locking off
  // (the versioned file holds its lock itself; held_lock.h).
  static Result<std::shared_ptr<FileCore>> Open(const std::string& path,
                                                std::shared_ptr<std::shared_mutex> disk_mu);

  // The raw_data dataset at absolute `raw_path`, opened once and shared.
  Result<std::shared_ptr<RawData>> Raw(const std::string& raw_path);
  // Drops the shared raw_data objects (after a commit grew them); objects
  // already handed out stay valid for the chunks they knew.
  void ForgetRawData();

 private:
  Mutex mu_;
  std::map<std::string, std::shared_ptr<RawData>> raw_ GUARDED_BY(mu_);
};

}  // namespace vh5
