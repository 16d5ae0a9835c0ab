#include "journal/death_guard.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "journal/rollback.h"
#include "util/crash_point.h"
#include "util/posix_file.h"

namespace vh5 {
namespace {

constexpr char kDone[4] = {'d', 'o', 'n', 'e'};

// In the guard: closes every descriptor but `keep` and those of `file`'s
// inode. False when /proc/self/fd cannot be read (some may stay open).
bool CloseAllBut(const struct stat& file, int keep) {
  int dir = ::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return false;
  char buf[4096];
  ssize_t n;
  while ((n = ::getdents64(dir, buf, sizeof buf)) > 0) {
    for (ssize_t at = 0; at < n;) {
      const auto* entry = reinterpret_cast<const struct dirent64*>(buf + at);
      at += entry->d_reclen;
      if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;  // "." and ".."
      int fd = 0;
      for (const char* c = entry->d_name; *c; ++c) fd = fd * 10 + (*c - '0');
      if (fd == dir || fd == keep) continue;
      struct stat st;
      if (::fstat(fd, &st) == 0 && st.st_dev == file.st_dev && st.st_ino == file.st_ino) continue;
      ::close(fd);
    }
  }
  ::close(dir);
  return n == 0;
}

// The guard itself, in the child: system calls only.
[[noreturn]] void Guard(const struct stat& file, int done, const char* file_path,
                        const char* journal_path, const char* dir_path) {
  // Without every other descriptor closed the guard might never see its
  // parent die: it leaves the journal to the next open.
  if (!CloseAllBut(file, done)) ::_exit(1);
  char said[sizeof kDone];
  size_t got = 0;
  ssize_t n = 0;
  while (got < sizeof said) {
    n = ::read(done, said + got, sizeof said - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  // Only the end of the socket says the parent died; "done" or an error
  // leaves FILE alone.
  if (n != 0) ::_exit(0);
  char buf[64 << 10];
  RollbackResult r = RollBackByJournal(file_path, journal_path, dir_path, buf, sizeof buf);
  ::_exit(r.failed == RollbackResult::Step::kNone ? 0 : 1);
}

}  // namespace

Result<DeathGuard> DeathGuard::Start(const std::string& path, const std::string& journal_path) {
  struct stat file;
  if (::stat(path.c_str(), &file) != 0) return ErrnoStatus(path);
  std::string dir = DirName(path);
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0)
    return ErrnoStatus(path + ": death guard socket");
  Fd guard_end(ends[0]), parent_end(ends[1]);
  // Everything the guard reads, ready before the fork.
  const char* file_path = path.c_str();
  const char* journal = journal_path.c_str();
  const char* dir_path = dir.c_str();
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus(path + ": fork of a death guard");
  if (pid == 0) Guard(file, guard_end.get(), file_path, journal, dir_path);
  crash::AddBystander(pid);
  return DeathGuard(std::move(parent_end), pid);
}

DeathGuard::DeathGuard(DeathGuard&& other) noexcept
    : done_(std::move(other.done_)), pid_(std::exchange(other.pid_, -1)) {}

DeathGuard& DeathGuard::operator=(DeathGuard&& other) noexcept {
  if (this != &other) {
    Dismiss();
    done_ = std::move(other.done_);
    pid_ = std::exchange(other.pid_, -1);
  }
  return *this;
}

void DeathGuard::Dismiss() {
  if (pid_ <= 0) return;
  // Fails only if the guard is already gone; never raises SIGPIPE.
  (void)::send(done_.get(), kDone, sizeof kDone, MSG_NOSIGNAL);
  done_ = Fd();
  crash::RemoveBystander(pid_);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

}  // namespace vh5
