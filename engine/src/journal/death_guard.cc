#include "journal/death_guard.h"

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "journal/rollback.h"
#include "util/crash_point.h"
#include "util/posix_file.h"

extern char** environ;

namespace vh5 {
namespace {

constexpr char kDone[4] = {'d', 'o', 'n', 'e'};
// argv[1] of a guard spawned from this process's own executable.
constexpr char kGuardFlag[] = "--vh5-death-guard";

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

// Where vh5-guard may be: installed, then built (engine/CMakeLists.txt).
constexpr const char* kGuardExecutables[] = {
#ifdef VH5_GUARD_INSTALLED
    VH5_GUARD_INSTALLED,
#endif
#ifdef VH5_GUARD_BUILT
    VH5_GUARD_BUILT,
#endif
};

// A guard spawned as a new image of this executable (Spawn, when no
// vh5-guard is found) enters here, before main and before anything else of
// the program runs. glibc passes init_array functions the process's arguments.
__attribute__((constructor)) void EnterGuardIfSpawnedAsOne(int argc, char** argv, char**) {
  (void)RunDeathGuard(argc, argv);
}

// This process's descriptors of `file`'s inode (the lock's among them).
// Each looked at through its /proc link, not fstat(2): other threads open
// and close descriptors meanwhile (libfuse's pipes), and touching theirs
// would be a race on them (as ThreadSanitizer says).
std::vector<int> DescriptorsOf(const struct stat& file) {
  std::vector<int> fds;
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return fds;
  int own = ::dirfd(dir);
  while (struct dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    int fd = std::atoi(entry->d_name);
    struct stat st;
    std::string link = std::string("/proc/self/fd/") + entry->d_name;
    if (fd != own && ::stat(link.c_str(), &st) == 0 && st.st_dev == file.st_dev &&
        st.st_ino == file.st_ino)
      fds.push_back(fd);
  }
  ::closedir(dir);
  return fds;
}

// Spawns the guard as a new image of this executable (posix_spawn: no copy
// of this process's memory, whose page tables a fork copies, at a cost that
// grows with the caches) with FILE's descriptors and the guard's end of the
// socket kept open. -1 when it cannot; the caller forks instead.
pid_t Spawn(const struct stat& file, int guard_end, const std::string& path,
            const std::string& journal_path, const std::string& dir) {
  posix_spawn_file_actions_t actions;
  if (::posix_spawn_file_actions_init(&actions) != 0) return -1;
  std::vector<int> keep = DescriptorsOf(file);
  keep.push_back(guard_end);
  bool ready = true;
  // dup2 of a descriptor onto itself clears its close-on-exec flag.
  for (int fd : keep) ready = ready && ::posix_spawn_file_actions_adddup2(&actions, fd, fd) == 0;
  std::string fd_text = std::to_string(guard_end);
  std::string dev_text = std::to_string(file.st_dev);
  std::string ino_text = std::to_string(file.st_ino);
  char* argv[] = {const_cast<char*>("vh5-death-guard"),
                  const_cast<char*>(kGuardFlag),
                  fd_text.data(),
                  dev_text.data(),
                  ino_text.data(),
                  const_cast<char*>(path.c_str()),
                  const_cast<char*>(journal_path.c_str()),
                  const_cast<char*>(dir.c_str()),
                  nullptr};
  pid_t pid = -1;
  for (const char* executable : kGuardExecutables) {
    if (!ready || pid > 0) break;
    if (::access(executable, X_OK) == 0 &&
        ::posix_spawn(&pid, executable, &actions, nullptr, argv, environ) != 0)
      pid = -1;
  }
  if (ready && pid <= 0 &&
      ::posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv, environ) != 0)
    pid = -1;
  ::posix_spawn_file_actions_destroy(&actions);
  return pid;
}

}  // namespace

int RunDeathGuard(int argc, char** argv) {
  if (argc != 8 || std::strcmp(argv[1], kGuardFlag) != 0) return 2;
  struct stat file {};
  file.st_dev = static_cast<dev_t>(std::strtoull(argv[3], nullptr, 10));
  file.st_ino = static_cast<ino_t>(std::strtoull(argv[4], nullptr, 10));
  Guard(file, std::atoi(argv[2]), argv[5], argv[6], argv[7]);
}

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
  pid_t pid = Spawn(file, guard_end.get(), path, journal_path, dir);
  if (pid < 0) {
    pid = ::fork();
    if (pid < 0) return ErrnoStatus(path + ": fork of a death guard");
    if (pid == 0) Guard(file, guard_end.get(), file_path, journal, dir_path);
  }
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
