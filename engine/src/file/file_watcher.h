// Notices another process writing a versioned file, before it writes.
//
// The watcher holds a read lease (fcntl F_SETLEASE, F_RDLCK) on the file: a
// process that opens it for writing (the Python library, vh5, another
// mount's commit) is held in open(2) until the lease is given back. The
// kernel tells the watcher's thread, which calls writer_coming (the file's
// readers stop reading: file_state.h) and gives the lease back; the writer
// goes on. Once no process has the file open for writing any more, which a
// lease can be taken again to show (the kernel refuses a read lease while
// any process has the file open for writing), it calls writer_gone, which
// reads the file again. inotify on the file's directory says when a writer
// closes the file, or when the file is replaced (a repack renames a new
// file over it); a check every kPollInterval covers filesystems without
// leases or inotify (NFS: see doc/sharing.md) and missed events.
//
// This process's own commits write too: BeginOwnWrite gives the lease back
// without stopping readers (the commit holds the file's flock, so no other
// writer can start), EndOwnWrite takes it again.
//
// Thread safety: all methods may be called from any thread at once.
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "util/fd.h"
#include "vh5/status.h"

namespace vh5 {

class FileWatcher {
 public:
  struct Hooks {
    // Another process is about to write: stop reading the file (returns
    // once no read is under way).
    std::function<void()> writer_coming;
    // No other process has the file open for writing (any more): read
    // what changed, then let readers read again. Also called, with
    // `writer_was_there` false, when the periodic check or an event sees
    // the file changed (or replaced) without a writer noticed.
    std::function<void(bool writer_was_there)> writer_gone;
  };
  static constexpr std::chrono::milliseconds kPollInterval{500};

  // Starts watching `path`. If another process has it open for writing now,
  // writer_coming is called before this returns and writer_gone once it is
  // closed. IOError if the file cannot be opened.
  static Result<std::unique_ptr<FileWatcher>> Start(const std::string& path, Hooks hooks);
  ~FileWatcher();
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  // Waits up to `wait` until no other process is writing the file (as
  // known to the watcher); false when one still is.
  bool WaitForNoWriter(std::chrono::milliseconds wait);
  void BeginOwnWrite();
  void EndOwnWrite();
  // Whether the kernel grants leases on this file (false: the periodic
  // check alone; logged by the caller).
  bool leases() const { return leases_; }

 private:
  enum class State { kLeased, kWriter, kOwnWrite, kNoLease };
  FileWatcher(std::string path, Hooks hooks) : path_(std::move(path)), hooks_(std::move(hooks)) {}
  Status Setup();
  void Run();
  // Takes the lease on `lease_fd_`: true when granted.
  bool TakeLease();
  void GiveLeaseBack();
  // The watched path names another file than lease_fd_: open the new one.
  bool Replaced();
  void OnLeaseBreak();
  void TryWriterGone();

  const std::string path_;
  const Hooks hooks_;
  std::string dir_, name_;
  Fd lease_fd_, inotify_fd_, signal_fd_, wake_fd_;
  int signal_ = 0;
  pid_t tid_ = 0;  // the watcher's thread, which the lease's signal goes to
  bool leases_ = true;
  std::thread thread_;

  std::mutex mu_;
  std::condition_variable changed_;
  State state_ = State::kLeased;  // guarded by mu_
  bool stop_ = false;             // guarded by mu_
  bool ready_ = false;            // guarded by mu_: the thread has set up
  Status setup_;                  // guarded by mu_
};

}  // namespace vh5
