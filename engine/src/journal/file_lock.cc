#include "vh5/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "format/file_layout.h"
#include "journal/held_lock.h"
#include "journal/journal.h"
#include "util/fd.h"

namespace vh5 {

Result<Fd> HoldFileLock(const std::string& path, bool exclusive) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return Status::NotFound(path + ": no such file");
    return Status::IOError(path + ": " + std::strerror(errno));
  }
  if (::flock(fd.get(), (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0) return fd;
  if (errno != EWOULDBLOCK) return fd;  // a filesystem without flock: nothing to hold
  if (exclusive)
    return Status::Busy(path +
                        ": in use by another process (a vh5fs mount, or a program with it "
                        "open in HDF5); unmount or close it first");
  return Status::Busy(path +
                      ": open for writing by another process (a read-write vh5fs mount?); "
                      "read it through the mount, or unmount it first");
}

Status CheckNotLocked(const std::string& path, Access access) {
  // Taken and dropped at once, before HDF5 takes its own.
  return HoldFileLock(path, access == Access::kReadWrite).status();
}

Status RecoverInterruptedChange(const std::string& path) {
  if (::access(layout::JournalPath(path).c_str(), F_OK) != 0) return Status::OK();
  VH5_ASSIGN_OR_RETURN(Fd lock, HoldFileLock(path, /*exclusive=*/true));
  Status s = Transaction::Recover(path);
  if (!s.ok())
    return s.WithContext(path +
                         ": a change was interrupted and cannot be rolled back (open it "
                         "once with write permission)");
  return Status::OK();
}

}  // namespace vh5
