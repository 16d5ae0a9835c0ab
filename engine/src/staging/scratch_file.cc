#include "staging/scratch_file.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "util/posix_file.h"

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

}  // namespace

Status ScratchFile::Create() {
  if (named()) return OpenNamed(/*truncate=*/true);
  std::string dir = dir_.empty() ? "." : dir_;
  int fd = OpenUnnamed(dir);
  int err = errno;
  if (fd < 0) {
    const char* tmp = std::getenv("TMPDIR");
    dir = tmp && *tmp ? tmp : "/tmp";
    fd = OpenUnnamed(dir);
  }
  if (fd < 0) return ErrnoStatus("cannot create a staging scratch file in " + dir_, err);
  fd_ = Fd(fd);
  created_in_ = dir;
  return Status::OK();
}

Status ScratchFile::OpenNamed(bool truncate) {
  std::string dir = DirName(path_);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return ErrnoStatus("cannot create the staging state " + dir, errno);
  int flags = O_RDWR | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : 0);
  Fd fd(::open(path_.c_str(), flags, 0600));
  if (!fd.valid()) return ErrnoStatus("cannot open " + path_, errno);
  fd_ = std::move(fd);
  created_in_ = dir;
  dir_synced_ = !truncate;
  return Status::OK();
}

Result<uint64_t> ScratchFile::Allocate() {
  if (!fd_.valid()) VH5_RETURN_IF_ERROR(Create());
  // Waiting pages are reclaimed before a free one is reused, not only when
  // none is free: their space is what a full disk needs back (a free page
  // was punched out, so writing it takes new space).
  if (!waiting_.empty() && reclaim_ && !reclaim_failed_) {
    reclaim_failed_ = !reclaim_();
  }
  if (!free_.empty()) {
    uint64_t page = free_.back();
    free_.pop_back();
    return page;
  }
  return next_++;
}

void ScratchFile::Punch(std::vector<uint64_t>* pages) {
  std::sort(pages->begin(), pages->end());
  // Best effort: without hole punching the space is reused by later pages.
  for (size_t first = 0; first < pages->size();) {
    size_t last = first;
    while (last + 1 < pages->size() && (*pages)[last + 1] == (*pages)[last] + 1) ++last;
    ::fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                static_cast<off_t>((*pages)[first] * kPageSize),
                static_cast<off_t>((last - first + 1) * kPageSize));
    first = last + 1;
  }
}

void ScratchFile::Release(std::vector<uint64_t> pages) {
  if (abandoned_ || pages.empty()) return;
  Punch(&pages);
  free_.insert(free_.end(), pages.begin(), pages.end());
}

void ScratchFile::ReleaseWhenSynced(const std::vector<uint64_t>& pages) {
  if (abandoned_ || pages.empty()) return;
  if (!named()) {
    Release(pages);
    return;
  }
  waiting_.insert(waiting_.end(), pages.begin(), pages.end());
  reclaim_failed_ = false;
}

void ScratchFile::Retire() {
  abandoned_ = true;
  reclaim_ = nullptr;
  if (named() && !fd_.valid()) {
    dir_ = DirName(path_);
    path_.clear();
  }
}

Status ScratchFile::Sync() {
  if (!fd_.valid()) return Status::OK();
  if (unsynced_ && ::fdatasync(fd_.get()) != 0)
    return ErrnoStatus("fdatasync " + (named() ? path_ : created_in_), errno);
  unsynced_ = false;
  if (!dir_synced_) {
    VH5_RETURN_IF_ERROR(SyncDir(created_in_));
    dir_synced_ = true;
  }
  return Status::OK();
}

void ScratchFile::Synced() {
  if (abandoned_) return;
  std::vector<uint64_t> pages = std::move(waiting_);
  waiting_.clear();
  Release(std::move(pages));
}

Status ScratchFile::Adopt(const std::vector<uint64_t>& in_use) {
  abandoned_ = false;
  free_.clear();
  waiting_.clear();
  next_ = in_use.empty() ? 0 : in_use.back() + 1;
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) {
    if (errno == ENOENT && in_use.empty()) return Status::OK();  // made on first Allocate
    return ErrnoStatus(path_, errno);
  }
  VH5_RETURN_IF_ERROR(OpenNamed(/*truncate=*/false));
  if (static_cast<uint64_t>(st.st_size) < next_ * kPageSize)
    return Status::Corruption(path_ + ": " + std::to_string(st.st_size) +
                              " bytes cannot hold the " + std::to_string(next_) +
                              " pages the staging log names");
  if (::ftruncate(fd_.get(), static_cast<off_t>(next_ * kPageSize)) != 0)
    return ErrnoStatus(path_, errno);
  std::vector<uint64_t> unused;
  size_t i = 0;
  for (uint64_t page = 0; page < next_; ++page) {
    if (i < in_use.size() && in_use[i] == page) {
      ++i;
    } else {
      unused.push_back(page);
    }
  }
  Release(std::move(unused));
  return Status::OK();
}

Status ScratchFile::Write(uint64_t page, size_t offset, const char* data, size_t len) {
  off_t at = static_cast<off_t>(page * kPageSize + offset);
  unsynced_ = true;
  while (len > 0) {
    ssize_t n = ::pwrite(fd_.get(), data, len, at);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("staging scratch file in " + created_in_, errno);
    }
    data += n;
    len -= static_cast<size_t>(n);
    at += n;
  }
  return Status::OK();
}

Status ScratchFile::Read(uint64_t page, size_t offset, size_t len, char* out) const {
  ssize_t n = PreadAll(fd_.get(), out, len, page * kPageSize + offset);
  if (n < 0) return ErrnoStatus("staging scratch file in " + created_in_, errno);
  // Past the end: a page never written out in full.
  std::memset(out + n, 0, len - static_cast<size_t>(n));
  return Status::OK();
}

}  // namespace vh5
