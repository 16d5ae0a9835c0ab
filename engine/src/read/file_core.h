// What every object of one open versioned file shares: the HDF5 file, a
// descriptor for direct chunk reads, and the raw_data datasets opened and
// still alive (each kept in the process's MemoryCache while it is among the
// recently used, and by every dataset reading it).
//
// Thread safety: Raw() may be called concurrently.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "format/chunk_index.h"
#include "format/object_check.h"
#include "hdf5/h5_handle.h"
#include "read/file_state.h"
#include "read/memory_cache.h"
#include "read/raw_data.h"
#include "util/fd.h"
#include "vh5/mutex.h"

namespace vh5 {

struct FileCore {
  // Declared first so that it is closed last, after every object opened in it.
  h5::Handle file;
  std::string path;
  std::shared_ptr<const Fd> fd;
  // The file's shared state, and the generation this core reads
  // (file_state.h): every read of the file's bytes passes DiskRead with it.
  DiskAccess access;
  // Checks every object before HDF5 decodes it (object_check.h).
  std::shared_ptr<ObjectChecker> checker;

  // Opens `path` read-only for readers, with HDF5's own file locking off
  // (the versioned file holds its lock itself; held_lock.h).
  // `known`: chunk indexes of raw_data objects by path, read through an
  // older core, of which no chunk moved since (only this process's commits
  // came between): each is read again only where it grew.
  static Result<std::shared_ptr<FileCore>> Open(const std::string& path, DiskAccess access,
                                                std::map<std::string, ChunkIndex> known = {});
  ~FileCore();

  // The raw_data dataset at absolute `raw_path`, shared while alive.
  Result<std::shared_ptr<RawData>> Raw(const std::string& raw_path);
  // Drops the shared raw_data objects (after a commit grew them); objects
  // already handed out stay valid for the chunks they knew.
  void ForgetRawData();
  // The chunk indexes of the raw_data objects alive, by path: what a newer
  // core may take as `known`.
  std::map<std::string, ChunkIndex> ChunkIndexes();

 private:
  Mutex mu_;
  std::map<std::string, std::weak_ptr<RawData>> raw_ GUARDED_BY(mu_);
  std::map<std::string, ChunkIndex> known_ GUARDED_BY(mu_);  // each taken once
  const uint64_t cache_owner_ = MemoryCache::NewOwner();     // its raw_data objects
};

}  // namespace vh5
