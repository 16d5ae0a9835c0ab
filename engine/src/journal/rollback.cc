#include "journal/rollback.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "util/fd.h"

namespace vh5 {
namespace {

uint64_t GetLe(const char* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = n; i-- > 0;) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

bool PwriteFully(int fd, const char* data, size_t len, uint64_t offset) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pwrite(fd, data + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Closes `fd` on every return, keeping errno.
struct CloseOnReturn {
  int fd;
  ~CloseOnReturn() {
    int saved = errno;
    if (fd >= 0) ::close(fd);
    errno = saved;
  }
};

// Whether the record of `length` bytes at `at` (its 16-byte head already
// hashed into `crc`) checks out, reading it through `buf`.
bool RecordChecksOut(int journal, uint64_t at, uint64_t length, uint32_t crc, char* buf,
                     size_t buf_size) {
  for (uint64_t done = 0; done < length;) {
    size_t piece = static_cast<size_t>(std::min<uint64_t>(buf_size, length - done));
    if (PreadAll(journal, buf, piece, at + done) != static_cast<ssize_t>(piece)) return false;
    crc = JournalCrc(buf, piece, crc);
    done += piece;
  }
  return PreadAll(journal, buf, 4, at + length) == 4 && GetLe(buf, 4) == crc;
}

}  // namespace

uint32_t JournalCrc(const char* p, size_t n, uint32_t crc) {
  return static_cast<uint32_t>(crc32(crc, reinterpret_cast<const Bytef*>(p), static_cast<uInt>(n)));
}

RollbackResult RollBackByJournal(const char* file_path, const char* journal_path,
                                 const char* dir_path, char* buf, size_t buf_size) {
  RollbackResult r;
  auto fail = [&r](RollbackResult::Step step) {
    r.failed = step;
    r.error = errno;
    return r;
  };
  CloseOnReturn journal{::open(journal_path, O_RDONLY | O_CLOEXEC)};
  if (journal.fd < 0) {
    if (errno == ENOENT) return r;
    return fail(RollbackResult::Step::kReadJournal);
  }
  r.journal_found = true;
  char header[kJournalHeaderBytes];
  bool valid = PreadAll(journal.fd, header, sizeof header, 0) == sizeof header &&
               std::memcmp(header, kJournalMagic, 8) == 0 &&
               JournalCrc(header, 16) == GetLe(header + 16, 4);
  if (valid) {
    // The file was touched: give the base back its size and bytes.
    CloseOnReturn file{::open(file_path, O_RDWR | O_CLOEXEC)};
    if (file.fd < 0) return fail(RollbackResult::Step::kOpenFile);
    uint64_t base = GetLe(header + 8, 8);
    if (::ftruncate(file.fd, static_cast<off_t>(base)) != 0)
      return fail(RollbackResult::Step::kTruncate);
    char head[16];
    for (uint64_t at = kJournalHeaderBytes; PreadAll(journal.fd, head, 16, at) == 16;) {
      uint64_t offset = GetLe(head, 8), length = GetLe(head + 8, 8);
      if (length > base || offset > base - length) break;  // not a record of ours
      // A torn tail, never fsynced: the file was not touched under it.
      if (!RecordChecksOut(journal.fd, at + 16, length, JournalCrc(head, 16), buf, buf_size)) break;
      for (uint64_t done = 0; done < length;) {
        size_t piece = static_cast<size_t>(std::min<uint64_t>(buf_size, length - done));
        if (PreadAll(journal.fd, buf, piece, at + 16 + done) != static_cast<ssize_t>(piece))
          return fail(RollbackResult::Step::kReadJournal);
        if (!PwriteFully(file.fd, buf, piece, offset + done))
          return fail(RollbackResult::Step::kWrite);
        done += piece;
      }
      at += 16 + length + 4;
    }
    if (::fsync(file.fd) != 0) return fail(RollbackResult::Step::kFsync);
  }
  if (::unlink(journal_path) != 0) return fail(RollbackResult::Step::kUnlink);
  CloseOnReturn dir{::open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (dir.fd < 0 || ::fsync(dir.fd) != 0) return fail(RollbackResult::Step::kSyncDir);
  r.rolled_back = valid;
  return r;
}

}  // namespace vh5
