#include "file/file_watcher.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vh5 {
namespace {

// While another process has the file open for writing and the lease is
// given back, how often to try to take it again between inotify events.
constexpr std::chrono::milliseconds kWriterPoll{50};

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

Result<std::unique_ptr<FileWatcher>> FileWatcher::Start(const std::string& path, Hooks hooks) {
  std::unique_ptr<FileWatcher> watcher(new FileWatcher(path, std::move(hooks)));
  size_t slash = path.rfind('/');
  watcher->dir_ = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  watcher->name_ = slash == std::string::npos ? path : path.substr(slash + 1);
  watcher->thread_ = std::thread([w = watcher.get()] { w->Run(); });
  std::unique_lock<std::mutex> lock(watcher->mu_);
  watcher->changed_.wait(lock, [&] { return watcher->ready_; });
  if (!watcher->setup_.ok()) {
    Status s = watcher->setup_;
    lock.unlock();
    return s;  // the thread has returned; the destructor joins it
  }
  return watcher;
}

FileWatcher::~FileWatcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  if (wake_fd_.valid()) {
    uint64_t one = 1;
    (void)!::write(wake_fd_.get(), &one, sizeof(one));
  }
  if (thread_.joinable()) thread_.join();
}

Status FileWatcher::Setup() {
  // The lease's signal goes to this thread alone (F_OWNER_TID), blocked
  // here and read from a signalfd: no other thread ever sees it.
  signal_ = SIGRTMIN + 4;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signal_);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal_fd_ = Fd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  wake_fd_ = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  inotify_fd_ = Fd(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!signal_fd_.valid() || !wake_fd_.valid() || !inotify_fd_.valid())
    return Status::IOError(path_ + ": cannot watch for other writers: " + std::strerror(errno));
  // No inotify watch (a filesystem without it): the periodic check remains.
  (void)::inotify_add_watch(
      inotify_fd_.get(), dir_.c_str(),
      IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_ATTRIB);
  tid_ = static_cast<pid_t>(::gettid());
  lease_fd_ = Fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!lease_fd_.valid()) return Status::IOError(path_ + ": " + std::strerror(errno));
  return Status::OK();
}

bool FileWatcher::TakeLease() {
  if (!leases_) return false;
  // Giving a lease back resets the descriptor's owner and signal (to the
  // whole process, and SIGIO, which would end it): set both before each.
  f_owner_ex owner{F_OWNER_TID, tid_};
  if (::fcntl(lease_fd_.get(), F_SETSIG, signal_) != 0 ||
      ::fcntl(lease_fd_.get(), F_SETOWN_EX, &owner) != 0) {
    leases_ = false;
    return false;
  }
  if (::fcntl(lease_fd_.get(), F_SETLEASE, F_RDLCK) == 0) return true;
  if (errno != EAGAIN && errno != EBUSY) leases_ = false;  // not on this filesystem
  return false;
}

void FileWatcher::GiveLeaseBack() { (void)::fcntl(lease_fd_.get(), F_SETLEASE, F_UNLCK); }

bool FileWatcher::Replaced() {
  struct stat now, held;
  if (::stat(path_.c_str(), &now) != 0 || ::fstat(lease_fd_.get(), &held) != 0) return false;
  if (SameFile(now, held)) return false;
  Fd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  GiveLeaseBack();
  lease_fd_ = std::move(fd);
  return true;
}

void FileWatcher::OnLeaseBreak() {
  std::lock_guard<std::mutex> lock(mu_);
  if (state_ != State::kLeased) return;
  hooks_.writer_coming();
  GiveLeaseBack();
  state_ = State::kWriter;
  changed_.notify_all();
}

void FileWatcher::TryWriterGone() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ != State::kWriter) return;
    if (!TakeLease()) {
      if (leases_) return;  // still open for writing somewhere
      state_ = State::kNoLease;
    } else {
      state_ = State::kLeased;
    }
    changed_.notify_all();
  }
  hooks_.writer_gone(/*writer_was_there=*/true);
}

bool FileWatcher::WaitForNoWriter(std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mu_);
  return changed_.wait_for(lock, wait, [&] { return state_ != State::kWriter; });
}

void FileWatcher::BeginOwnWrite() {
  std::lock_guard<std::mutex> lock(mu_);
  if (state_ == State::kLeased) GiveLeaseBack();
  if (state_ != State::kNoLease) state_ = State::kOwnWrite;
}

void FileWatcher::EndOwnWrite() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ != State::kOwnWrite) return;
    if (TakeLease()) {
      state_ = State::kLeased;
    } else if (!leases_) {
      state_ = State::kNoLease;
    } else {
      // Someone opened the file for writing during the commit (to fail on
      // its lock, most likely): a writer all the same.
      hooks_.writer_coming();
      state_ = State::kWriter;
    }
    changed_.notify_all();
  }
  // The thread reads the file's events again (and polls faster while a
  // writer is there).
  uint64_t one = 1;
  (void)!::write(wake_fd_.get(), &one, sizeof(one));
}

void FileWatcher::Run() {
  Status s = Setup();
  if (s.ok()) {
    if (!TakeLease()) {
      if (leases_) {
        hooks_.writer_coming();  // a writer has it open already
        state_ = State::kWriter;
      } else {
        state_ = State::kNoLease;
      }
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    setup_ = s;
    ready_ = true;
    changed_.notify_all();
  }
  if (!s.ok()) return;
  for (;;) {
    State state;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      state = state_;
    }
    pollfd fds[3] = {
        {signal_fd_.get(), POLLIN, 0}, {inotify_fd_.get(), POLLIN, 0}, {wake_fd_.get(), POLLIN, 0}};
    // During this process's own write each of its pwrites is an event (a
    // wide commit makes thousands): they wait in the queue, where the kernel
    // merges repeats, and are read once the write ends (EndOwnWrite wakes
    // this loop).
    if (state == State::kOwnWrite) fds[1].fd = -1;
    int timeout = static_cast<int>((state == State::kWriter ? kWriterPoll : kPollInterval).count());
    int n = ::poll(fds, 3, timeout);
    if (n < 0 && errno != EINTR) return;
    if (fds[2].revents & POLLIN) {
      uint64_t count;
      (void)!::read(wake_fd_.get(), &count, sizeof(count));
    }
    bool lease_broken = false;
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info;
      while (::read(signal_fd_.get(), &info, sizeof(info)) == sizeof(info)) lease_broken = true;
    }
    bool file_event = false, name_event = false;
    if (fds[1].revents & POLLIN) {
      alignas(inotify_event) char buf[8192];
      ssize_t len;
      while ((len = ::read(inotify_fd_.get(), buf, sizeof(buf))) > 0) {
        for (char* p = buf; p < buf + len;) {
          auto* event = reinterpret_cast<inotify_event*>(p);
          if (event->len > 0 && name_ == event->name) {
            file_event = true;
            if (event->mask & (IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM))
              name_event = true;
          }
          p += sizeof(inotify_event) + event->len;
        }
      }
    }
    if (lease_broken) OnLeaseBreak();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      state = state_;
    }
    if (state == State::kWriter) {
      TryWriterGone();
      continue;
    }
    if (state == State::kOwnWrite) continue;
    bool replaced = false;
    if (name_event || n == 0 || file_event) {
      std::lock_guard<std::mutex> lock(mu_);
      if (state_ == State::kLeased || state_ == State::kNoLease) {
        replaced = Replaced();
        if (replaced && state_ == State::kLeased && !TakeLease()) {
          if (leases_) {
            hooks_.writer_coming();
            state_ = State::kWriter;
            continue;
          }
          state_ = State::kNoLease;
        }
      }
    }
    if (replaced || n == 0 || file_event) hooks_.writer_gone(/*writer_was_there=*/false);
  }
}

}  // namespace vh5
