// A versioned HDF5 file, in the format of the Python library versioned-hdf5.
//
// Open() checks that the file is HDF5 with versioned data and reads the names
// of its versions; a version's metadata is read when first asked for, and its
// tree when first walked, so opening costs the same for 10 or 10,000 versions.
//
// The file stays shared (doc/sharing.md): this object holds no lock on it
// between commits, and other processes (the Python library, vh5, other
// mounts) may read and change it meanwhile. With follow_changes, it
// notices their changes and shows them: versions come and go, objects
// handed out keep reading exactly their content (or Stale, for a version
// deleted meanwhile).
//
// Thread safety: every method may be called from any thread at once.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vh5/file_lock.h"
#include "vh5/metadata.h"
#include "vh5/status.h"
#include "vh5/version.h"
#include "vh5/writer.h"

namespace vh5 {

class Staging;
struct VersionPlan;

struct OpenOptions {
  // How long a read waits while another process writes the file, then
  // TryAgain.
  std::chrono::milliseconds writer_wait{5000};
  // How long a commit (and Open) waits for the file's lock, or for another
  // writer to finish, then Busy.
  std::chrono::milliseconds commit_wait{30000};
};

class VersionedFile {
 public:
  using Access = vh5::Access;

  // Opens `path`. NotHdf5 / NotVersioned / IOError with the path in the message.
  static Result<std::shared_ptr<VersionedFile>> Open(const std::string& path, Access access,
                                                     const OpenOptions& options);
  static Result<std::shared_ptr<VersionedFile>> Open(const std::string& path, Access access) {
    return Open(path, access, OpenOptions());
  }
  static Result<std::shared_ptr<VersionedFile>> OpenReadOnly(const std::string& path) {
    return Open(path, Access::kReadOnly);
  }

  virtual ~VersionedFile() = default;

  // The byte budget of what the process keeps in memory to read faster:
  // version trees, datasets (their chunk maps), raw_data objects and
  // decoded chunks, the least recently used dropped first when over it.
  // One budget for every file of the process; default 256 MiB.
  static void SetCacheBudget(uint64_t bytes);
  static uint64_t CacheBudget();
  // What the cache holds now, as charged.
  static uint64_t CachedBytes();

  virtual const std::string& path() const = 0;
  // The file's data_version attribute (1 when absent, as in the oldest files).
  virtual int data_version() const = 0;
  // Every committed version (never kFirstVersionName), sorted by name; reads
  // the metadata of every version not read yet.
  virtual std::vector<VersionInfo> ListVersions() const = 0;
  // The names of ListVersions() without reading any version's metadata. A
  // version the Python library left unfinished (committed False) is named
  // here until its metadata is read; GetVersionInfo then says NotFound.
  virtual std::vector<std::string> ListVersionNames() const = 0;
  // The current version, or nullopt when there is no committed version.
  virtual std::optional<std::string> CurrentVersion() const = 0;
  // Metadata of one version; NotFound if it does not exist.
  virtual Result<VersionInfo> GetVersionInfo(const std::string& name) const = 0;
  // The version's tree, loaded on first use and shared afterwards.
  virtual Result<std::shared_ptr<const Version>> GetVersion(const std::string& name) const = 0;

  // Writes `version` into this file (opened kReadWrite); readers see it, and
  // the new current version, once this returns OK. Versions already handed
  // out stay valid. Holds the file's lock (flock, as HDF5 does) for the
  // commit, waiting up to commit_wait for it (Busy after); Exists when
  // another process committed the name meanwhile.
  virtual Status Commit(const NewVersion& version) = 0;

  // Runs `write`, a change this process makes to the file through its own
  // handle and lock (vh5::DeleteVersions, vh5::RenameVersion: they take the
  // file's flock, waiting, as a commit does), and takes the change in before
  // returning. The change is followed as another process's is: readers wait
  // at the read gate while it writes, read moved chunks again after it, and
  // get Stale for versions that are gone (deleted or renamed). ReadOnly for a
  // read-only open, and then `write` is not run.
  virtual Status Rewrite(const std::function<Status()>& write) = 0;

  // When the dataset or group at `path` of version `version` last changed:
  // the timestamp (ns) of the newest version along prev_version from it in
  // which it is unchanged since. A dataset is unchanged when its mapping
  // list, dtype, shape, chunks, fill value and attributes are (no chunk is
  // read); a group when its attributes and its children's names and kinds
  // are, and it is then the newest of that and its children's times.
  // Memoized per (version, path). NotFound when there is no such node.
  virtual Result<int64_t> ChangedAtNs(const std::string& version,
                                      const std::string& path) const = 0;

  // Starts watching for other processes' changes (file_watcher.h), as a
  // mount does, on a thread of its own (so: after any fork). Without it,
  // Refresh() alone takes them in. Busy if another process has been
  // writing the file for commit_wait.
  virtual Status StartFollowing() = 0;
  // Takes in what other processes changed in the file since it was last
  // read; cheap (one stat) when nothing did.
  virtual Status Refresh() = 0;
  // Called after other processes' changes were taken in (on the watcher's
  // thread): versions may have come or gone, the current one changed.
  // It must not block nor call into this file; once this returns, the
  // listener replaced is not called any more.
  virtual void SetChangeListener(std::function<void()> listener) = 0;
  // How many times other processes' changes were taken in.
  virtual uint64_t foreign_changes() const = 0;
  // Changes whenever the list of versions or the current version may have
  // changed (a commit here, other processes' changes taken in): what an
  // index over versions compares to know it is out of date.
  virtual uint64_t versions_generation() const = 0;

 private:
  friend class Staging;
  // The same for a version staging/ planned (commit/version_plan.h): what it
  // keeps of its base unread, and the byte ranges it changed.
  virtual Status Commit(const VersionPlan& plan) = 0;
};

}  // namespace vh5
