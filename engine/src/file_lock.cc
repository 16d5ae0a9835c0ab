#include "vh5/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <cstring>

#include "fd.h"

namespace vh5 {

Status CheckNotLocked(const std::string& path, VersionedFile::Access access) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return Status::NotFound(path + ": no such file");
    return Status::IOError(path + ": " + std::strerror(errno));
  }
  bool exclusive = access == VersionedFile::Access::kReadWrite;
  // Our own lock is dropped with the descriptor, before HDF5 takes its own.
  if (::flock(fd.get(), (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0) return Status::OK();
  if (errno != EWOULDBLOCK) return Status::OK();  // a filesystem without flock: nothing to learn
  if (exclusive)
    return Status::Busy(path +
                        ": in use by another process (a vh5fs mount, or a program with it "
                        "open in HDF5); unmount or close it first");
  return Status::Busy(path +
                      ": open for writing by another process (a read-write vh5fs mount?); "
                      "read it through the mount, or unmount it first");
}

}  // namespace vh5
