// Small POSIX helpers shared by the files vh5 keeps beside a versioned file
// (the commit journal, the durable staging state, scratch pages).
#pragma once

#include <cerrno>
#include <cstdint>
#include <string>

#include "vh5/status.h"

namespace vh5 {

// `what: strerror(err)`; NoSpace for ENOSPC and EDQUOT (a full disk must
// reach the user as such), IOError otherwise.
Status ErrnoStatus(const std::string& what, int err = errno);

// The directory part of `path`: "." for a bare name, "/" for "/name".
std::string DirName(const std::string& path);

// ".<name><suffix>" beside `path`, e.g. "dir/.f.h5.vh5-journal" for "dir/f.h5".
std::string SiblingPath(const std::string& path, const std::string& suffix);

// fsync(2) of the directory `dir`: the names made or removed in it are durable.
Status SyncDir(const std::string& dir);

// pwrite(2) of all `len` bytes at `offset`, retried on EINTR and short writes.
Status PwriteAll(int fd, const char* data, size_t len, uint64_t offset, const std::string& what);

}  // namespace vh5
