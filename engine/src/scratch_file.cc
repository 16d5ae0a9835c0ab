#include "scratch_file.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace vh5 {
namespace {

// An unnamed file in `dir`: O_TMPFILE where the filesystem has it, else a
// named one unlinked at once.
int OpenUnnamed(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)) return fd;
  std::string name = dir + "/.vh5-staging-XXXXXX";
  fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd >= 0) ::unlink(name.c_str());
  return fd;
}

Status IoFailure(const std::string& what, int err) {
  std::string msg = what + ": " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) return Status::NoSpace(msg);
  return Status::IOError(msg);
}

}  // namespace

Status ScratchFile::Create() {
  std::string dir = dir_.empty() ? "." : dir_;
  int fd = OpenUnnamed(dir);
  int err = errno;
  if (fd < 0) {
    const char* tmp = std::getenv("TMPDIR");
    dir = tmp && *tmp ? tmp : "/tmp";
    fd = OpenUnnamed(dir);
  }
  if (fd < 0) return IoFailure("cannot create a staging scratch file in " + dir_, err);
  fd_ = Fd(fd);
  created_in_ = dir;
  return Status::OK();
}

Result<uint64_t> ScratchFile::Allocate() {
  if (!fd_.valid()) VH5_RETURN_IF_ERROR(Create());
  if (!free_.empty()) {
    uint64_t page = free_.back();
    free_.pop_back();
    return page;
  }
  return next_++;
}

void ScratchFile::Release(std::vector<uint64_t> pages) {
  if (abandoned_ || pages.empty()) return;
  std::sort(pages.begin(), pages.end());
  // Best effort: without hole punching the space is reused by later pages.
  for (size_t first = 0; first < pages.size();) {
    size_t last = first;
    while (last + 1 < pages.size() && pages[last + 1] == pages[last] + 1) ++last;
    ::fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                static_cast<off_t>(pages[first] * kPageSize),
                static_cast<off_t>((last - first + 1) * kPageSize));
    first = last + 1;
  }
  free_.insert(free_.end(), pages.begin(), pages.end());
}

Status ScratchFile::Write(uint64_t page, size_t offset, const char* data, size_t len) {
  off_t at = static_cast<off_t>(page * kPageSize + offset);
  while (len > 0) {
    ssize_t n = ::pwrite(fd_.get(), data, len, at);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoFailure("staging scratch file in " + created_in_, errno);
    }
    data += n;
    len -= static_cast<size_t>(n);
    at += n;
  }
  return Status::OK();
}

Status ScratchFile::Read(uint64_t page, size_t offset, size_t len, char* out) const {
  ssize_t n = PreadAll(fd_.get(), out, len, page * kPageSize + offset);
  if (n < 0) return IoFailure("staging scratch file in " + created_in_, errno);
  // Past the end: a page never written out in full.
  std::memset(out + n, 0, len - static_cast<size_t>(n));
  return Status::OK();
}

}  // namespace vh5
