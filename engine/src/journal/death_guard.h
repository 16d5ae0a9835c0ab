// A transaction's death guard: a child process that keeps FILE's lock
// while the transaction is open and, should the transaction's process die
// before it ends, rolls FILE back by its journal before the lock can pass
// to anyone else (an h5py opening FILE right after a vh5fs was killed).
//
// The guard is a new process image, spawned (posix_spawn): the small
// vh5-guard where it is installed or was built, else this executable again
// (entered before main). A fork would copy the page tables of all the
// caller's memory on every commit, a cost that grew with a daemon's caches
// (half its CPU per commit after 1,500 commits). Where the spawn fails it
// is forked.
//
// flock(2) locks belong to the open file description, so the guard, which
// is handed its parent's descriptors of FILE, keeps the caller's lock alive
// after the parent dies. It keeps only the descriptors of FILE's own inode (the
// lock among them) and closes the rest (a dead daemon's /dev/fuse among
// them, so that its FUSE connection ends), then waits on a socket: "done"
// from the parent and it exits; the end of the socket without "done" (the
// parent died) and it rolls back as Transaction::Recover does, then exits,
// dropping the lock. The parent may be multi-threaded: after fork the guard
// makes system calls only, on what was prepared before.
//
// A crash point standing for a power loss kills the guard first
// (util/crash_point.h: it is a bystander).
//
// Thread safety: none; the owning transaction serializes calls.
#pragma once

#include <sys/types.h>

#include <string>

#include "util/fd.h"
#include "vh5/status.h"

namespace vh5 {

// The guard's entry, for a process spawned as one (vh5-guard's main):
// never returns when `argv` is a guard's; 2 when it is not.
int RunDeathGuard(int argc, char** argv);

class DeathGuard {
 public:
  DeathGuard() = default;  // no guard
  // Forks the guard of the file `path` whose journal is `journal_path`.
  // Fails, with no process left, when the socket or the fork fails.
  static Result<DeathGuard> Start(const std::string& path, const std::string& journal_path);
  ~DeathGuard() { Dismiss(); }
  DeathGuard(DeathGuard&& other) noexcept;
  DeathGuard& operator=(DeathGuard&& other) noexcept;

  // The transaction ended (done, aborted or rolled back): tells the guard
  // so and returns once it is gone, FILE untouched. Nothing without a guard.
  void Dismiss();
  bool running() const { return pid_ > 0; }

 private:
  DeathGuard(Fd done, pid_t pid) : done_(std::move(done)), pid_(pid) {}

  Fd done_;  // the parent's end of the socket
  pid_t pid_ = -1;
};

}  // namespace vh5
