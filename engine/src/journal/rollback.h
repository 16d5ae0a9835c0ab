// Rolling a file back by its journal (the format is in journal.h) with
// system calls only: no allocation, no locks, no exceptions. A forked child
// of a multi-threaded process (death_guard.h) runs it, and so does
// Transaction::Recover: one reader of the journal.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vh5 {

inline constexpr char kJournalMagic[8] = {'V', 'H', '5', 'J', 'R', 'N', 'L', '1'};
inline constexpr size_t kJournalHeaderBytes = 8 + 8 + 4;

// CRC-32 (zlib's) of `n` bytes, continuing `crc`.
uint32_t JournalCrc(const char* p, size_t n, uint32_t crc = 0);

struct RollbackResult {
  enum class Step { kNone, kReadJournal, kOpenFile, kTruncate, kWrite, kFsync, kUnlink, kSyncDir };
  bool journal_found = false;
  bool rolled_back = false;  // the header checked out: the file has its base back
  Step failed = Step::kNone;
  int error = 0;  // errno of the failed step
};

// When `journal_path` exists: if its header checks out, truncates
// `file_path` to the base's size, writes back each record up to the first
// that does not check out (a torn tail) and fsyncs the file; then unlinks
// the journal and fsyncs `dir_path`, the directory of both. `buf` (any
// size from 16 bytes up) holds what is read, a piece at a time.
RollbackResult RollBackByJournal(const char* file_path, const char* journal_path,
                                 const char* dir_path, char* buf, size_t buf_size);

}  // namespace vh5
