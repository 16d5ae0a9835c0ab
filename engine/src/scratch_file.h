// Pages of staged data in an unlinked file beside the versioned file, so
// that a multi-GiB write into staging/ costs disk space, not memory.
//
// The file is created on the first Allocate() and vanishes when the object
// is destroyed (or the process dies): it is never linked into a directory.
// Released pages are punched out, so their space returns at once.
//
// Thread safety: none; the owner serializes all calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fd.h"
#include "vh5/status.h"

namespace vh5 {

class ScratchFile {
 public:
  static constexpr size_t kPageSize = 64 << 10;

  // `dir`: the directory to spill into; when a file cannot be made there,
  // $TMPDIR (or /tmp) is used instead.
  explicit ScratchFile(std::string dir) : dir_(std::move(dir)) {}
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  // A page no one uses; its content is undefined until written.
  Result<uint64_t> Allocate();
  void Release(uint64_t page) { Release(std::vector<uint64_t>{page}); }
  // Punches the pages out in runs, one call per run of adjacent pages.
  void Release(std::vector<uint64_t> pages);
  // The file is about to go whole: releases become no-ops.
  void Abandon() { abandoned_ = true; }
  // `len` bytes at `offset` inside `page` (offset + len <= kPageSize).
  Status Write(uint64_t page, size_t offset, const char* data, size_t len);
  // `len` bytes from `offset` of `page` on, through the pages that follow it.
  Status Read(uint64_t page, size_t offset, size_t len, char* out) const;

  uint64_t pages_in_use() const { return next_ - free_.size(); }
  // Where the file lives (empty until created), for messages.
  const std::string& dir() const { return created_in_; }

 private:
  Status Create();

  std::string dir_;
  std::string created_in_;
  Fd fd_;
  uint64_t next_ = 0;           // pages ever handed out
  std::vector<uint64_t> free_;  // released pages, reused first
  bool abandoned_ = false;
};

}  // namespace vh5
