// What vh5fs shows: the tree of SPEC "The tree" over one open versioned file.
//
// Each Do* method serves one FUSE request and returns 0 or an errno; ops.cc
// turns them into exactly one reply each. The engine knows versions and
// paths; inode numbers exist only here.
//
// Thread safety: all methods may be called from any FUSE worker thread.
// Lock order: staging_mu_, then the inode table's own lock. A staging inode
// is made (and its node held in the engine) under staging_mu_; a forget
// drops the inode under the table's lock, then releases the node under
// staging_mu_, so a node outlives every inode that names it.
#pragma once

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "inode_table.h"
#include "inode_trimmer.h"
#include "vh5/history.h"
#include "vh5/mutex.h"
#include "vh5/staging.h"
#include "vh5/versioned_file.h"

namespace vh5fs {

struct Options {
  bool read_only = false;  // no staging/
  bool zarr = true;        // zarr/: each version as a Zarr v2 store
  // How long rmdir and rename of a version wait for the file's lock (-o commit_wait).
  std::chrono::milliseconds commit_wait{30000};
  // Each node of a version carries the time of the version that last
  // changed it (VersionedFile::ChangedAtNs), not the version's own. Off by
  // default: the first stat in a version walks its history (2,000 versions:
  // 90 s for ls -l of 100 datasets on a fresh mount).
  bool own_times = false;
};

// Kernel cache lifetimes: committed versions never change (names missing in
// them stay missing: negative entries are cached too); the top level changes
// with every commit and staging/ with every write, so neither is cached.
inline constexpr double kImmutableTimeout = 86400.0;
inline constexpr double kTopLevelTimeout = 0.0;
// The root and versions/ themselves: their attributes are fixed at mount, and
// a commit renames into versions/ through the kernel, which drops what it
// cached of both. Without a timeout every path walked through them asks for
// both again: eight requests per entry of ls -l versions.
inline constexpr double kTopDirectoryTimeout = 1.0;

class Filesystem {
 public:
  // A read-write mount brings back the staging/ persisted beside the file
  // (vh5::Staging::Open); one that cannot be read at all mounts read-only.
  Filesystem(std::shared_ptr<vh5::VersionedFile> file, Options options);
  ~Filesystem();  // syncs staging/'s state: an unmount keeps every change

  // The kernel asked to forget the oldest nodes inside versions past this
  // many (inode_trimmer.h): the inode table stays ~10 MiB at most.
  static constexpr size_t kKeptVersionNodes = 16384;
  // Between daemonizing and the session's end (before it is destroyed).
  void StartTrimming(fuse_session* se) { trimmer_.Start(se); }
  void StopTrimming() { trimmer_.Stop(); }

  struct Entry {
    fuse_ino_t ino = 0;
    struct stat attr {};
    double timeout = 0;        // of the attributes
    double entry_timeout = 0;  // of the name's binding to this inode
  };
  struct DirItem {
    std::string name;
    struct stat attr {};
  };
  // An open file; its address is the FUSE file handle.
  struct OpenFile {
    std::shared_ptr<const vh5::Dataset> dataset;  // a committed version's dataset
    vh5::Staging::NodeId staging_node = 0;        // or a dataset in staging/
    std::shared_ptr<const std::string> text;      // or a Zarr metadata file
  };
  // An open directory: its listing as of opendir (or the last rewind), so
  // that offsets stay stable while the directory changes and no readdir
  // rebuilds it. Its address is the FUSE file handle.
  struct OpenDir {
    std::vector<DirItem> items;
    bool immutable = false;  // a committed version's: the kernel may cache it
    bool served = false;     // a readdir at offset 0 after this is a rewind
    // READDIRPLUS looks each entry up: versions/, whose entries ls -l stats
    // next and whose attributes one pass over the versions reads. Elsewhere
    // it would make a plain ls pay for every entry's attributes.
    bool with_attributes = false;
  };

  // An entry of ino 0 is a negative one: the name is missing, for entry_timeout.
  int DoLookup(fuse_ino_t parent, const std::string& name, Entry* out);
  void DoForget(fuse_ino_t ino, uint64_t count);
  int DoGetattr(fuse_ino_t ino, struct stat* out, double* timeout);
  int DoReadlink(fuse_ino_t ino, std::string* target);
  int DoOpendir(fuse_ino_t ino, OpenDir** out);
  // The listing of a directory, "." and ".." first.
  int DoReaddir(fuse_ino_t ino, std::vector<DirItem>* items);
  int DoOpen(fuse_ino_t ino, int flags, OpenFile** out);
  int DoCreate(fuse_ino_t parent, const std::string& name, Entry* entry, OpenFile** out);
  int DoRead(const OpenFile& file, uint64_t offset, size_t size, std::vector<char>* buf, size_t* n);
  // A committed dataset's [offset, offset + size) as runs (vh5::Dataset::Locate):
  // file runs are bytes of `*fd` to move without copying. No runs for staging/.
  // `*hold` keeps them there until released, after the reply (read_hold.h).
  int DoLocate(const OpenFile& file, uint64_t offset, size_t size,
               std::vector<vh5::Dataset::Run>* runs, vh5::ReadHold* hold);
  // The bytes of the runs DoLocate gave that are not the file's own, read
  // into `*buf` one after another.
  int DoReadOtherRuns(const OpenFile& file, uint64_t offset,
                      const std::vector<vh5::Dataset::Run>& runs, std::vector<char>* buf);
  // `*written` may fall short of data.size() when the disk fills part way.
  int DoWrite(const OpenFile& file, uint64_t offset, std::string_view data, size_t* written);
  // copy_file_range(2) within the mount, into staging/: the bytes move inside
  // the daemon, not twice through the kernel. Copies up to
  // kCopyBytesPerRequest; `*copied` is 0 at the end of `in`.
  int DoCopyFileRange(const OpenFile& in, uint64_t in_offset, const OpenFile& out,
                      uint64_t out_offset, size_t len, size_t* copied);
  static constexpr size_t kCopyBytesPerRequest = 64 << 20;
  // close(2): a staged dataset must hold whole rows.
  int DoFlush(const OpenFile& file);
  // fsync(2) anywhere in staging/: the staged state survives a power loss.
  int DoFsync(fuse_ino_t ino);
  int DoSetattr(fuse_ino_t ino, const struct stat& attr, int to_set, bool has_file,
                struct stat* out, double* timeout);
  int DoMkdir(fuse_ino_t parent, const std::string& name, Entry* out);
  int DoMknod(fuse_ino_t parent, const std::string& name, mode_t mode, Entry* out);
  int DoUnlink(fuse_ino_t parent, const std::string& name);
  int DoRmdir(fuse_ino_t parent, const std::string& name);
  // Inside staging/ a move; staging/ onto versions/NAME a commit.
  int DoRename(fuse_ino_t parent, const std::string& name, fuse_ino_t new_parent,
               const std::string& new_name, unsigned int flags);
  int DoListxattr(fuse_ino_t ino, std::string* names);
  int DoGetxattr(fuse_ino_t ino, const std::string& name, std::string* value);
  int DoSetxattr(fuse_ino_t ino, const std::string& name, const std::string& value);
  int DoRemovexattr(fuse_ino_t ino, const std::string& name);
  // symlink(2), link(2): EPERM in staging/ (only groups and datasets live
  // there), EROFS elsewhere.
  int DoLink(fuse_ino_t parent, const std::string& name);
  // fallocate(2) on a staging dataset (see vh5fs(1)); EROFS elsewhere.
  int DoFallocate(fuse_ino_t ino, const OpenFile& file, int mode, off_t offset, off_t length);
  // The totals of the filesystem that holds the versioned file.
  int DoStatfs(struct statvfs* out);

  // From now on the kernel keeps the names of versions/ and zarr/ it looks
  // up, for as long as a version's contents, instead of asking each time:
  // for a mount that tells it when other processes delete a version, by
  // sending it what TakeStaleNames returns (name_invalidator.h).
  void KeepVersionNames();
  // The kept names (parent inode, name) whose version is gone or was
  // replaced since; kept no more.
  std::vector<std::pair<fuse_ino_t, std::string>> TakeStaleNames();

 private:
  int Resolve(fuse_ino_t ino, NodeId* node);
  int Stat(const NodeId& node, struct stat* out, double* timeout);
  // The timestamp versions/ shows (0: none): the current version's, or a
  // later one committed through this mount.
  int64_t NewestTimestampNs();
  // What the symlink `link` (current, zarr/current, prev/N, at/TIME) points to.
  int LinkTarget(const NodeId& link, std::string* target);
  // The zarr/ view (fs/zarr_nodes.cc): a node's stat, a child's name, a
  // directory's entries, a file's content.
  int StatZarr(const NodeId& node, struct stat* out);
  int ZarrChild(const NodeId& parent, const std::string& name, NodeId* child);
  int ListZarr(const NodeId& node, std::vector<std::pair<std::string, bool>>* entries);
  int OpenZarr(const NodeId& node, OpenFile** out);
  // The text of a .zgroup, .zattrs or .zarray node.
  int ZarrText(const NodeId& node, std::string* text);
  // The dataset a zarr/ node's path names; nullptr for a group (`*err` 0).
  std::shared_ptr<const vh5::Dataset> ZarrDataset(const NodeId& node, int* err);
  // The chunk file a zarr/ node names; ENOENT for a cell the version does not map.
  int ZarrChunk(const NodeId& node, std::shared_ptr<const vh5::Dataset>* chunk);
  // prev/ and at/ (fs/history_nodes.cc): the version a link names (ENOENT:
  // none), and a directory's names.
  int HistoryVersion(const NodeId& link, std::string* version);
  void ListHistory(const NodeId& dir, std::vector<std::string>* names);
  int StatStaging(vh5::Staging::NodeId id, struct stat* out) REQUIRES(staging_mu_);
  int Xattrs(const NodeId& node, std::vector<std::pair<std::string, std::string>>* out);
  // The staging node of `parent`, to name `name` in; EROFS outside staging/,
  // a name longer than NAME_MAX ENAMETOOLONG anywhere (as on a disk
  // filesystem, where a copy of it would fail).
  int StagingParent(fuse_ino_t parent, const std::string& name, vh5::Staging::NodeId* id);
  // The entry of a staging node, its inode counted (and the node held by
  // the first).
  int LookupStaging(vh5::Staging::NodeId id, Entry* out) REQUIRES(staging_mu_);
  // user.vh5.<dtype|shape|...> on a staging dataset; -1 for another name.
  int SetStagingMetadata(vh5::Staging::NodeId id, const std::string& name, const std::string& value)
      REQUIRES(staging_mu_);
  int Commit(const std::string& name);
  // rmdir versions/NAME: the version deleted as vh5 delete does.
  int RemoveVersion(const std::string& name);
  // rename versions/FROM versions/TO.
  int RenameVersion(const std::string& from, const std::string& to);
  // Before deleting or renaming version `name`: EBUSY when staged changes
  // are based on it; `*base` says whether staging/ mirrors it.
  int CheckStagingBase(const std::string& name, bool* base) REQUIRES(staging_mu_);
  // The current version, or nullptr (none, or `*err` set).
  std::shared_ptr<const vh5::Version> CurrentVersion(int* err);
  int SetStagingRootXattr(const std::string& name, const std::string& value) REQUIRES(staging_mu_);
  // staging/ changed now: its times.
  void Touch() REQUIRES(staging_mu_);
  // Logs a failed engine call with its context and returns its errno.
  int Fail(const vh5::Status& status);
  std::shared_ptr<const vh5::Version> Version(const std::string& name, int* err);
  // The version of a node inside versions/; ESTALE when another version took its name.
  std::shared_ptr<const vh5::Version> Version(const NodeId& node, int* err);

  std::shared_ptr<vh5::VersionedFile> file_;
  Options options_;
  InodeTable inodes_;
  InodeTrimmer trimmer_{&inodes_, kKeptVersionNodes};
  struct timespec file_time_ {};
  std::atomic<int64_t> newest_commit_ns_{0};  // of commits through this mount
  uid_t uid_;
  gid_t gid_;

  // What prev/ and at/ look up in, made again when the file's versions
  // changed (versions_generation): current's prev_version chain, and every
  // version's timestamp sorted. Each is built on first use.
  struct History {
    uint64_t generation = 0;
    bool have_chain = false;
    std::vector<std::string> chain;
    bool have_times = false;
    vh5::TimeIndex times;
  };
  // history_'s chain and index as the file is now, built if needed.
  const std::vector<std::string>& Chain() REQUIRES(history_mu_);
  const vh5::TimeIndex& Times() REQUIRES(history_mu_);
  void SyncHistory() REQUIRES(history_mu_);
  vh5::Mutex history_mu_;
  History history_ GUARDED_BY(history_mu_);

  vh5::Mutex staging_mu_;
  // Set once, when constructed (nullptr for a read-only mount).
  std::unique_ptr<vh5::Staging> staging_ PT_GUARDED_BY(staging_mu_);
  struct timespec staging_time_ GUARDED_BY(staging_mu_) {};
  vh5::Mutex renames_mu_;
  // Versions renamed through this mount: old name, NUL, incarnation -> new name.
  std::map<std::string, std::string> renamed_ GUARDED_BY(renames_mu_);
  // Commits through this mount: part of every staging inode's name
  // (LookupStaging), so that a fresh staging/ after a commit is new inodes.
  uint64_t staging_commits_ GUARDED_BY(staging_mu_) = 0;
  // Why the last commit failed (user.vh5.commit_error); empty after a success.
  std::string commit_error_ GUARDED_BY(staging_mu_);

  std::atomic<bool> keep_names_{false};
  vh5::Mutex kept_mu_;
  // Names of versions/ and zarr/ the kernel keeps: the incarnation of each.
  std::map<std::pair<fuse_ino_t, std::string>, std::string> kept_names_ GUARDED_BY(kept_mu_);
};

}  // namespace vh5fs
