#include "journal/journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

#include "format/file_layout.h"
#include "journal/rollback.h"
#include "util/byte_decoder.h"
#include "util/crash_point.h"
#include "util/posix_file.h"
#include "vh5/mutex.h"

namespace vh5 {
namespace {

std::atomic<int> g_last_steps{0};

}  // namespace

void Transaction::CrashAtStepForTesting(int step, crash::Scope scope) {
  crash::Arm(crash::Point::kJournalStep, step, scope);
}

int Transaction::LastStepsForTesting() { return g_last_steps; }

void Transaction::Step() {
  ++step_;
  crash::Reach(crash::Point::kJournalStep, step_);
}

Status Transaction::Recover(const std::string& path, bool* recovered) {
  if (recovered) *recovered = false;
  std::string journal_path = layout::JournalPath(path);
  std::vector<char> buf(1 << 20);
  RollbackResult r = RollBackByJournal(path.c_str(), journal_path.c_str(), DirName(path).c_str(),
                                       buf.data(), buf.size());
  using Step = RollbackResult::Step;
  switch (r.failed) {
    case Step::kNone:
      break;
    case Step::kReadJournal:
      return ErrnoStatus(journal_path, r.error);
    case Step::kOpenFile:
      return ErrnoStatus(path + ": cannot roll back an interrupted commit", r.error);
    case Step::kTruncate:
      return ErrnoStatus(path + ": truncate", r.error);
    case Step::kWrite:
      return ErrnoStatus(path, r.error);
    case Step::kFsync:
      return ErrnoStatus(path + ": fsync", r.error);
    case Step::kUnlink:
      return ErrnoStatus(journal_path + ": unlink", r.error);
    case Step::kSyncDir:
      return ErrnoStatus(DirName(path) + ": fsync", r.error);
  }
  if (recovered) *recovered = r.rolled_back;
  return Status::OK();
}

namespace {

// Live transactions by id, for the file driver (journal_vfd.h). Never
// destroyed: HDF5 closes its files at exit, after static destructors.
struct TransactionRegistry {
  Mutex mu;
  std::map<uint64_t, Transaction*> live GUARDED_BY(mu);
};
TransactionRegistry& Registry() {
  static auto* registry = new TransactionRegistry;
  return *registry;
}

}  // namespace

Transaction* Transaction::Find(uint64_t id) {
  TransactionRegistry& registry = Registry();
  MutexLock lock(&registry.mu);
  auto it = registry.live.find(id);
  return it == registry.live.end() ? nullptr : it->second;
}

Transaction::Transaction(std::string path, Fd fd, uint64_t base)
    : path_(std::move(path)), fd_(std::move(fd)), base_(base), size_(base) {
  static std::atomic<uint64_t> next_id{1};
  id_ = next_id++;
  TransactionRegistry& registry = Registry();
  MutexLock lock(&registry.mu);
  registry.live[id_] = this;
}

Result<std::unique_ptr<Transaction>> Transaction::Begin(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(path + ": cannot open for writing");
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(path);
  std::unique_ptr<Transaction> txn(
      new Transaction(path, std::move(fd), static_cast<uint64_t>(st.st_size)));
  txn->base_times_[0] = st.st_atim;
  txn->base_times_[1] = st.st_mtim;
  std::string journal_path = layout::JournalPath(path);
  // Started before the journal exists, so that no journal is ever left
  // without a guard: if this process dies once it is made, even before
  // its header is written, the guard removes it. Without a guard the
  // journal still protects the next open.
  if (Result<DeathGuard> guard = DeathGuard::Start(path, journal_path); guard.ok())
    txn->guard_ = std::move(*guard);
  txn->journal_ = Fd(::open(journal_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!txn->journal_.valid()) {
    int err = errno;
    txn->open_ = false;
    txn->guard_.Dismiss();  // an earlier journal is the next open's to roll back
    errno = err;
    if (errno == EEXIST)
      return Status::Busy(journal_path +
                          " is there: an interrupted commit waits to be rolled back");
    return ErrnoStatus(journal_path);
  }
  // Durable before the first byte past the base is written, so that a
  // crash is always followed by a cleanup to the base's size.
  std::string header(kJournalMagic, 8);
  AppendLe(&header, 8, txn->base_);
  AppendLe(&header, 4, JournalCrc(header.data(), 16));
  Status s = PwriteAll(txn->journal_.get(), header.data(), header.size(), 0, journal_path);
  if (s.ok() && ::fdatasync(txn->journal_.get()) != 0) s = ErrnoStatus(journal_path + ": fsync");
  if (s.ok()) s = SyncDir(DirName(path));
  if (!s.ok()) return s;  // the destructor aborts
  return txn;
}

Transaction::~Transaction() {
  {
    TransactionRegistry& registry = Registry();
    MutexLock lock(&registry.mu);
    registry.live.erase(id_);
  }
  // An abort that fails leaves the journal, and the next open rolls the
  // file back by it: nothing more to do here.
  if (open_) (void)Abort();
}

Status Transaction::Read(uint64_t offset, size_t len, char* out) const {
  std::memset(out, 0, len);
  uint64_t end = offset + len;
  uint64_t on_disk = std::min(end, size_);
  if (offset < on_disk) {
    ssize_t n = PreadAll(fd_.get(), out, static_cast<size_t>(on_disk - offset), offset);
    if (n < 0) return Remember(ErrnoStatus(path_ + ": read"));
  }
  // Held writes cover the base's bytes under them.
  auto it = held_.upper_bound(offset);
  if (it != held_.begin()) --it;
  for (; it != held_.end() && it->first < end; ++it) {
    uint64_t a = std::max(offset, it->first);
    uint64_t b = std::min(end, it->first + it->second.size());
    if (a < b) std::memcpy(out + (a - offset), it->second.data() + (a - it->first), b - a);
  }
  return Status::OK();
}

Result<size_t> Transaction::View::Read(uint64_t offset, size_t len, char* out) const {
  if (offset >= txn_->size()) return size_t{0};
  len = static_cast<size_t>(std::min<uint64_t>(len, txn_->size() - offset));
  VH5_RETURN_IF_ERROR(txn_->Read(offset, len, out));
  return len;
}

Status Transaction::Write(uint64_t offset, const char* data, size_t len) {
  if (!open_) return Status::Busy(path_ + ": no transaction");
  if (discard_) return Status::OK();
  Step();
  uint64_t end = offset + len;
  if (offset < base_) {
    uint64_t held_end = std::min(end, base_);
    // Whatever held bytes the new ones overlap give way to them.
    auto it = held_.upper_bound(offset);
    if (it != held_.begin()) --it;
    while (it != held_.end() && it->first < held_end) {
      uint64_t a = it->first, b = a + it->second.size();
      if (b <= offset) {
        ++it;
        continue;
      }
      std::string old = std::move(it->second);
      it = held_.erase(it);
      if (a < offset) held_.emplace(a, old.substr(0, offset - a));
      if (b > held_end) held_.emplace(held_end, old.substr(held_end - a));
    }
    held_.emplace(offset, std::string(data, held_end - offset));
  }
  if (end > base_) {
    uint64_t from = std::max(offset, base_);
    VH5_RETURN_IF_ERROR(
        Remember(PwriteAll(fd_.get(), data + (from - offset), end - from, from, path_)));
  }
  size_ = std::max(size_, end);
  return Status::OK();
}

Status Transaction::Truncate(uint64_t size) {
  if (!open_) return Status::Busy(path_ + ": no transaction");
  if (discard_) return Status::OK();
  Step();
  if (size < base_) {
    // Shrinking into the base: the cut-off bytes read as zeros from now on
    // (and get journaled like any other held write).
    std::string zeros(std::min(size_, base_) - std::min(size, size_), '\0');
    if (!zeros.empty()) VH5_RETURN_IF_ERROR(Write(size, zeros.data(), zeros.size()));
  }
  if (::ftruncate(fd_.get(), static_cast<off_t>(std::max(size, base_))) != 0)
    return Remember(ErrnoStatus(path_ + ": truncate"));
  size_ = size;
  return Status::OK();
}

Status Transaction::WriteJournal(const std::string& bytes) {
  struct stat st;
  if (::fstat(journal_.get(), &st) != 0) return ErrnoStatus(layout::JournalPath(path_));
  Step();
  return PwriteAll(journal_.get(), bytes.data(), bytes.size(), static_cast<uint64_t>(st.st_size),
                   layout::JournalPath(path_));
}

Status Transaction::Apply() {
  if (!open_) return Status::Busy(path_ + ": no transaction");
  std::string journal_path = layout::JournalPath(path_);
  Status s;
  if (!held_.empty()) {
    // 1. The base's bytes under every held write, durable in the journal.
    // Only the bytes that change: HDF5 rewrites a whole object header to
    // count one more link to it (a wide commit links thousands).
    std::vector<std::pair<uint64_t, std::string_view>> changes;
    std::string batch, original;
    for (const auto& [offset, bytes] : held_) {
      original.resize(bytes.size());
      if (PreadAll(fd_.get(), original.data(), original.size(), offset) < 0)
        return ErrnoStatus(path_ + ": read");
      size_t first = 0, last = bytes.size();
      while (first < last && bytes[first] == original[first]) ++first;
      while (last > first && bytes[last - 1] == original[last - 1]) --last;
      if (first == last) continue;
      changes.emplace_back(offset + first, std::string_view(bytes).substr(first, last - first));
      std::string record;
      AppendLe(&record, 8, offset + first);
      AppendLe(&record, 8, last - first);
      uint32_t crc =
          JournalCrc(original.data() + first, last - first, JournalCrc(record.data(), 16));
      record.append(original, first, last - first);
      AppendLe(&record, 4, crc);
      batch += record;
      if (batch.size() >= (8 << 20)) {
        VH5_RETURN_IF_ERROR(WriteJournal(batch));
        batch.clear();
      }
    }
    if (!batch.empty()) VH5_RETURN_IF_ERROR(WriteJournal(batch));
    Step();
    if (::fdatasync(journal_.get()) != 0) return ErrnoStatus(journal_path + ": fsync");
    // 2. The held writes, in place. From here a failure must roll back.
    for (const auto& [offset, bytes] : changes) {
      Step();
      s = PwriteAll(fd_.get(), bytes.data(), bytes.size(), offset, path_);
      if (!s.ok()) break;
    }
  }
  struct stat st;
  if (s.ok() && ::fstat(fd_.get(), &st) != 0) s = ErrnoStatus(path_);
  if (s.ok() && static_cast<uint64_t>(st.st_size) != size_) {
    Step();
    if (::ftruncate(fd_.get(), static_cast<off_t>(size_)) != 0)
      s = ErrnoStatus(path_ + ": truncate");
  }
  if (s.ok()) {
    Step();
    if (::fsync(fd_.get()) != 0) s = ErrnoStatus(path_ + ": fsync");
  }
  if (!s.ok()) {
    // The journal restores the base, here or at the next open.
    open_ = false;
    journal_ = Fd();
    fd_ = Fd();
    Status undone = Recover(path_);
    guard_.Dismiss();
    return undone.ok() ? s : s.WithContext("rolled back at the next open");
  }
  // 3. Done: without the journal the new state is the file's.
  open_ = false;
  g_last_steps = step_ + 2;  // the unlink and the directory's fsync below
  journal_ = Fd();
  Step();
  if (::unlink(journal_path.c_str()) != 0) {
    s = ErrnoStatus(journal_path + ": unlink");
  } else {
    Step();
    s = SyncDir(DirName(path_));
  }
  guard_.Dismiss();
  return s;
}

Status Transaction::Abort() {
  if (!open_) return Status::OK();
  open_ = false;
  held_.clear();
  // Nothing of the base was touched: drop what was written past it.
  Status s;
  if (::ftruncate(fd_.get(), static_cast<off_t>(base_)) != 0) s = ErrnoStatus(path_ + ": truncate");
  // Nothing was committed: the file looks untouched to make(1), rsync and
  // backups too (only its ctime tells).
  if (s.ok() && ::futimens(fd_.get(), base_times_) != 0) s = ErrnoStatus(path_ + ": futimens");
  journal_ = Fd();
  if (s.ok() && ::unlink(layout::JournalPath(path_).c_str()) != 0)
    s = ErrnoStatus(layout::JournalPath(path_));
  if (s.ok()) s = SyncDir(DirName(path_));
  guard_.Dismiss();
  return s;
}

}  // namespace vh5
