// Pages of staged data in a file beside the versioned file, so that a
// multi-GiB write into staging/ costs disk space, not memory.
//
// Two kinds:
//  - unnamed (a non-durable staging): an unlinked file, created on the first
//    Allocate() and gone when the object is destroyed or the process dies;
//  - named (a durable staging, doc/staging.md): the "pages" file of the
//    staging state, kept across unmounts and crashes; page n is at byte
//    n * kPageSize. Pages a persisted state may still reference are not
//    reused, nor their space punched out, until a state that no longer
//    references them is durable: ReleaseWhenSynced() holds them until
//    Synced().
// Released pages are punched out, so their space returns at once.
//
// Thread safety: none; the owner serializes all calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "util/fd.h"
#include "vh5/status.h"

namespace vh5 {

class ScratchFile {
 public:
  static constexpr size_t kPageSize = 64 << 10;

  // Unnamed, in `dir`; when a file cannot be made there, $TMPDIR (or /tmp).
  explicit ScratchFile(std::string dir) : dir_(std::move(dir)) {}
  // Named: the file `path` (its directory is made if needed), created empty
  // on the first Allocate() unless Adopt() opened it first.
  struct Named {};
  ScratchFile(Named, std::string path) : path_(std::move(path)) {}
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  bool named() const { return !path_.empty(); }

  // A page no one uses; its content is undefined until written.
  Result<uint64_t> Allocate();
  // Pages no persisted state references (written since the last
  // checkpoint): free at once. Punched out in runs of adjacent pages.
  void Release(uint64_t page) { Release(std::vector<uint64_t>{page}); }
  void Release(std::vector<uint64_t> pages);
  // Pages a persisted state may reference: free at the next Synced() (at
  // once when unnamed).
  void ReleaseWhenSynced(const std::vector<uint64_t>& pages);
  size_t pages_waiting() const { return waiting_.size(); }

  // fdatasync(2) of the pages written since the last Sync() (the first
  // time, of the directory entry too).
  Status Sync();
  // A state that references none of the waiting pages is durable: they are free.
  void Synced();
  // Called by Allocate() while pages wait (at most once until more do); returns
  // true after making the state durable and calling Synced().
  void SetReclaim(std::function<bool()> reclaim) { reclaim_ = std::move(reclaim); }

  // Releases become no-ops: the file is about to go whole, or its pages
  // are being adopted (replaying a persisted state).
  void Abandon() { abandoned_ = true; }
  // The state this file belonged to is gone (a commit, a discard, a
  // rebase): as Abandon(), and pages that detached datasets still write go
  // to an unnamed file in the same directory, never to the state's path,
  // where a new state's file lives.
  void Retire();
  // Reopening a named file: `in_use` (sorted, distinct) are the pages the
  // persisted state references; every other page is free, punched out, and
  // the file cut after the last page in use. Corruption when the file does
  // not hold them all.
  Status Adopt(const std::vector<uint64_t>& in_use);

  // `len` bytes at `offset` inside `page` (offset + len <= kPageSize).
  Status Write(uint64_t page, size_t offset, const char* data, size_t len);
  // `len` bytes from `offset` of `page` on, through the pages that follow it.
  Status Read(uint64_t page, size_t offset, size_t len, char* out) const;

  uint64_t pages_in_use() const { return next_ - free_.size() - waiting_.size(); }
  // Where the file lives (empty until created), for messages.
  const std::string& dir() const { return created_in_; }

 private:
  Status Create();
  Status OpenNamed(bool truncate);
  void Punch(std::vector<uint64_t>* pages);

  std::string dir_;   // unnamed
  std::string path_;  // named
  std::string created_in_;
  Fd fd_;
  uint64_t next_ = 0;              // pages ever handed out
  std::vector<uint64_t> free_;     // released pages, reused first
  std::vector<uint64_t> waiting_;  // released, free at the next Synced()
  std::function<bool()> reclaim_;
  bool reclaim_failed_ = false;  // until more pages wait
  bool abandoned_ = false;
  bool unsynced_ = false;   // written since the last Sync()
  bool dir_synced_ = true;  // the named file's directory entry is durable
};

}  // namespace vh5
