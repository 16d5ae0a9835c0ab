#include "vh5/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "format/file_layout.h"
#include "journal/held_lock.h"
#include "journal/journal.h"
#include "util/fd.h"

namespace vh5 {
namespace {

using Clock = std::chrono::steady_clock;

// Between two tries of a lock another process holds: short beside a
// person's patience, long beside a flock(2).
constexpr std::chrono::milliseconds kPollInterval{15};

Result<Fd> OpenForLock(const std::string& path, bool create = false) {
  Fd fd(create ? ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644)
               : ::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.valid()) return fd;
  if (errno == ENOENT) return Status::NotFound(path + ": no such file");
  return Status::IOError(path + ": " + std::strerror(errno));
}

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// "3 s", "0.5 s".
std::string Seconds(std::chrono::milliseconds wait) {
  std::ostringstream out;
  out << static_cast<double>(wait.count()) / 1000 << " s";
  return out.str();
}

// "PATH: WHAT, held by HOLDERS; still so after waiting 3 s", or with
// `guess` in parentheses when no holder is known.
Status BusyStatus(const std::string& path, const std::string& what, const std::string& holders,
                  std::chrono::milliseconds wait, const std::string& guess = "") {
  std::string message = path + ": " + what;
  if (!holders.empty()) {
    message += ", held by " + holders;
  } else if (!guess.empty()) {
    message += " (" + guess + ")";
  }
  if (wait.count() > 0) message += "; still so after waiting " + Seconds(wait);
  return Status::Busy(message);
}

std::string Holders(int fd, bool writers_only) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return "";
  return FlockHolders(st, writers_only);
}

}  // namespace

std::string FlockHolders(const struct stat& st, bool writers_only) {
  // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; a waiter's line has
  // "->" after its number. Device numbers are hex, the inode decimal.
  std::ifstream locks("/proc/locks");
  std::string out;
  for (std::string line; std::getline(locks, line);) {
    std::istringstream in(line);
    std::string number, kind, advisory, mode, pid, where;
    in >> number >> kind;
    if (kind != "FLOCK") continue;  // POSIX, OFDLCK, LEASE, or "->" (a waiter)
    in >> advisory >> mode >> pid >> where;
    if (writers_only && mode != "WRITE") continue;
    // Device numbers may be printed with leading zeros ("08:01").
    unsigned maj = 0, min = 0;
    unsigned long long ino = 0;
    if (std::sscanf(where.c_str(), "%x:%x:%llu", &maj, &min, &ino) != 3) continue;
    if (maj != major(st.st_dev) || min != minor(st.st_dev) || ino != st.st_ino) continue;
    std::string comm;
    std::ifstream(("/proc/" + pid + "/comm").c_str()) >> comm;
    std::string who = pid == "0" ? "a process outside this pid namespace"
                                 : (comm.empty() ? "" : comm + " ") + "(pid " + pid + ")";
    if (out.find(who) != std::string::npos) continue;
    out += (out.empty() ? "" : ", ") + who;
  }
  return out;
}

namespace {

// HoldFileLock and HoldLockFile (`lock_file`).
Result<Fd> HoldFlock(const std::string& path, bool exclusive, bool lock_file, bool create,
                     std::chrono::milliseconds wait) {
  const Clock::time_point deadline = Clock::now() + wait;
  while (true) {
    VH5_ASSIGN_OR_RETURN(Fd fd, OpenForLock(path, create));
    while (::flock(fd.get(), (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
      if (errno == EINTR) continue;
      if (errno != EWOULDBLOCK) return fd;  // a filesystem without flock: nothing to hold
      if (Clock::now() >= deadline) {
        std::string holders = Holders(fd.get(), /*writers_only=*/!exclusive);
        if (lock_file) return BusyStatus(path, "locked by another process", holders, wait);
        if (exclusive)
          return BusyStatus(path, "in use by another process", holders, wait,
                            "a vh5fs mount, or a program with it open in HDF5");
        return BusyStatus(path, "open for writing by another process", holders, wait);
      }
      std::this_thread::sleep_for(kPollInterval);
    }
    // Replaced by rename while we waited (vh5 repack): the lock is on a
    // file nobody will open again. The new one's, then.
    struct stat held, now;
    if (::fstat(fd.get(), &held) != 0) return Status::IOError(path + ": " + std::strerror(errno));
    if (::stat(path.c_str(), &now) == 0 && SameFile(held, now)) return fd;
  }
}

}  // namespace

Result<Fd> HoldFileLock(const std::string& path, bool exclusive, std::chrono::milliseconds wait) {
  return HoldFlock(path, exclusive, /*lock_file=*/false, /*create=*/false, wait);
}

Result<Fd> HoldLockFile(const std::string& path, bool exclusive, bool create,
                        std::chrono::milliseconds wait) {
  return HoldFlock(path, exclusive, /*lock_file=*/true, create, wait);
}

bool OpenForWriting(int fd) {
  // A lease is broken by a signal to its holder, SIGIO unless told: SIGURG
  // is ignored unless handled, should a writer open the file in the instant
  // the lease stands.
  (void)::fcntl(fd, F_SETSIG, SIGURG);
  if (::fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
    (void)::fcntl(fd, F_SETLEASE, F_UNLCK);
    return false;
  }
  if (errno == EAGAIN) return true;
  return !Holders(fd, /*writers_only=*/true).empty();
}

Status WaitUntilNotWritten(const std::string& path, std::chrono::milliseconds wait) {
  const Clock::time_point deadline = Clock::now() + wait;
  while (true) {
    // Opened anew each time: the file may be replaced by rename meanwhile.
    VH5_ASSIGN_OR_RETURN(Fd fd, OpenForLock(path));
    if (!OpenForWriting(fd.get())) return Status::OK();
    if (Clock::now() >= deadline)
      return BusyStatus(path, "open for writing by another process",
                        Holders(fd.get(), /*writers_only=*/true), wait);
    std::this_thread::sleep_for(kPollInterval);
  }
}

Status RecoverHeldFile(const std::string& path) {
  if (::access(layout::JournalPath(path).c_str(), F_OK) != 0) return Status::OK();
  Status s = Transaction::Recover(path);
  if (!s.ok())
    return s.WithContext(path +
                         ": a change was interrupted and cannot be rolled back (open it "
                         "once with write permission)");
  return Status::OK();
}

Status RecoverInterruptedChange(const std::string& path, std::chrono::milliseconds wait) {
  if (::access(layout::JournalPath(path).c_str(), F_OK) != 0) return Status::OK();
  VH5_ASSIGN_OR_RETURN(Fd lock, HoldFileLock(path, /*exclusive=*/true, wait));
  return RecoverHeldFile(path);
}

}  // namespace vh5
