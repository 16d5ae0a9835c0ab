// What vh5fs shows: the tree of SPEC "The tree" over one open versioned file.
//
// Each Do* method serves one FUSE request and returns 0 or an errno; ops.cc
// turns them into exactly one reply each. The engine knows versions and
// paths; inode numbers exist only here.
//
// Thread safety: all methods may be called from any FUSE worker thread.
#pragma once

#include <sys/stat.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "inode_table.h"
#include "vh5/versioned_file.h"

namespace vh5fs {

struct Options {
  bool read_only = false;
};

// Kernel cache lifetimes: committed versions never change, the top level
// changes with every commit.
inline constexpr double kImmutableTimeout = 86400.0;
inline constexpr double kTopLevelTimeout = 1.0;

class Filesystem {
 public:
  Filesystem(std::shared_ptr<vh5::VersionedFile> file, Options options);

  struct Entry {
    fuse_ino_t ino = 0;
    struct stat attr {};
    double timeout = 0;
  };
  struct DirItem {
    std::string name;
    struct stat attr {};
  };
  // An open dataset file; its address is the FUSE file handle.
  struct OpenFile {
    std::shared_ptr<const vh5::Dataset> dataset;
  };

  int DoLookup(fuse_ino_t parent, const std::string& name, Entry* out);
  void DoForget(fuse_ino_t ino, uint64_t count) { inodes_.Forget(ino, count); }
  int DoGetattr(fuse_ino_t ino, struct stat* out, double* timeout);
  int DoReadlink(fuse_ino_t ino, std::string* target);
  int DoReaddir(fuse_ino_t ino, std::vector<DirItem>* items);
  int DoOpen(fuse_ino_t ino, int flags, OpenFile** out);
  int DoRead(const OpenFile& file, uint64_t offset, size_t size, std::vector<char>* buf, size_t* n);
  int DoListxattr(fuse_ino_t ino, std::string* names);
  int DoGetxattr(fuse_ino_t ino, const std::string& name, std::string* value);
  // Any change: EROFS under versions/ and at the top level.
  int DoChange(fuse_ino_t ino);

 private:
  int Resolve(fuse_ino_t ino, NodeId* node);
  int Stat(const NodeId& node, struct stat* out, double* timeout);
  int Xattrs(const NodeId& node, std::vector<std::pair<std::string, std::string>>* out);
  // Logs a failed engine call with its context and returns its errno.
  int Fail(const vh5::Status& status);
  std::shared_ptr<const vh5::Version> Version(const std::string& name, int* err);

  std::shared_ptr<vh5::VersionedFile> file_;
  Options options_;
  InodeTable inodes_;
  struct timespec file_time_ {};
  uid_t uid_;
  gid_t gid_;
};

}  // namespace vh5fs
