// The content of one dataset in staging/: its base version's bytes plus
// the pages written since, copy-on-write at ScratchFile::kPageSize.
//
// Every page is in one of three states: it reads as the base (the bytes at
// the same offsets in the base version, the fill value past its end), as the
// fill value, or from its own scratch page. Nothing is copied until written,
// and a write that leaves a page equal to the base (cp of unchanged data over
// a dataset) stores nothing: the page reads as the base again. Bytes at or
// past size() always read as the fill value, so growing the content exposes
// fill, as SPEC's "new rows read as the fill value" asks.
//
// A checkpoint is what close(2) returns to when it refuses the content:
// Rollback() restores it, Checkpoint() moves it to the present. It is also
// what a durable staging persists (doc/staging.md): scratch pages written
// since the checkpoint are new pages, never the checkpoint's, so a crash
// mid-write leaves the checkpoint whole; the checkpoint's pages go back to
// the scratch file through ReleaseWhenSynced, once a state without them is
// durable.
//
// Thread safety: none; the owner serializes all calls.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "staging/scratch_file.h"
#include "staging/staging_records.h"
#include "vh5/byte_source.h"

namespace vh5 {

class StagedContent final : public ByteSource {
 public:
  // `base`: what the content starts as (nullptr: empty). `fill`: the bytes of
  // one element, repeated from offset 0. `compare_with_base`: whether writes
  // compare pages with the base (worth it when the base reads cheaply).
  StagedContent(std::shared_ptr<const ByteSource> base, std::shared_ptr<ScratchFile> scratch,
                std::string fill, bool compare_with_base);
  ~StagedContent() override;
  StagedContent(const StagedContent&) = delete;
  StagedContent& operator=(const StagedContent&) = delete;

  uint64_t size() const override { return size_; }
  Result<size_t> Read(uint64_t offset, size_t len, char* out) const override;

  // Returns the bytes written: all of `data`, or fewer when the scratch file
  // failed part way (an error only when nothing was written), as write(2).
  Result<size_t> Write(uint64_t offset, std::string_view data);
  Status Truncate(uint64_t size);
  // What regions read as fill read as from now on.
  void SetFill(std::string fill);

  void Checkpoint();
  void Rollback();
  // Written or truncated since the checkpoint.
  bool modified() const { return modified_; }

  // The checkpoint's page-table entries that changed since the last
  // MarkSaved() (since construction at first), as a kSame record:
  // replayed over the records before it, it rebuilds the checkpoint.
  ContentRecord Unsaved() const;
  // The whole checkpoint, as a record of a new content (kOnBase or kEmpty).
  ContentRecord Whole() const;
  // What the log holds is the checkpoint as it stands.
  void MarkSaved() { unsaved_.clear(); }
  // Replaying: the checkpoint, and the present, become `record` applied
  // over the checkpoint. Corruption when the record cannot be one of this
  // content's.
  Status Restore(const ContentRecord& record);
  // The scratch pages the checkpoint holds, appended to `out`.
  void CheckpointPages(std::vector<uint64_t>* out) const;
  bool has_base() const { return base_ != nullptr; }
  bool compares_with_base() const { return compare_with_base_; }

  // Sorted, disjoint [begin, end) byte ranges that may differ from the base
  // at the same offsets; anything past the base's end counts.
  std::vector<std::pair<uint64_t, uint64_t>> ChangedRanges() const;
  // True when the content is the base's, byte for byte.
  bool SameAsBase() const;
  uint64_t scratch_pages() const;

 private:
  static constexpr uint64_t kFillPage = 0;
  static constexpr uint64_t kBasePage = 1;
  static constexpr uint64_t kFirstScratch = 2;  // state = scratch page + kFirstScratch
  static constexpr size_t kPage = ScratchFile::kPageSize;

  uint64_t State(uint64_t page) const { return page < pages_.size() ? pages_[page] : kFillPage; }
  static bool InScratch(uint64_t state) { return state >= kFirstScratch; }
  // The page's current content, kPage bytes.
  Status ReadPage(uint64_t page, char* out) const;
  // The base's bytes for the page, fill past the base's end.
  Status ReadBasePage(uint64_t page, char* out) const;
  void FillRange(uint64_t offset, size_t len, char* out) const;
  bool IsFill(uint64_t offset, const char* data, size_t len) const;
  // Writes [begin, end) of one page.
  Status WritePage(uint64_t page, size_t begin, size_t end, const char* data);
  // Gives the page the full content `bytes`, in the cheapest state that holds it.
  Status Settle(uint64_t page, const char* bytes, const char* base_bytes);
  // The page leaves its scratch page (if any): freed now if written since
  // the checkpoint, else at the next checkpoint.
  void Drop(uint64_t page);
  // The entry a new content starts with.
  uint64_t InitialState(uint64_t page) const {
    return base_ && page * kPage < base_size_ ? kBasePage : kFillPage;
  }
  bool ComparesWithBase(uint64_t page) const {
    return compare_with_base_ && page * kPage < base_size_;
  }

  std::shared_ptr<const ByteSource> base_;
  uint64_t base_size_ = 0;
  std::shared_ptr<ScratchFile> scratch_;
  std::string fill_;
  bool zero_fill_ = true;
  bool compare_with_base_ = false;

  uint64_t size_ = 0;
  std::vector<uint64_t> pages_;  // state per page, ceil(size_ / kPage) of them

  uint64_t checkpoint_size_ = 0;
  std::vector<uint64_t> checkpoint_pages_;
  std::unordered_set<uint64_t> fresh_;  // scratch pages written since the checkpoint
  std::vector<uint64_t> retired_;       // checkpoint scratch pages no longer in pages_
  bool modified_ = false;
  // Checkpoint entries changed since the last Take*(), by page (past the
  // table's end: an entry that was cut off and may come back as fill).
  std::vector<bool> unsaved_;
};

}  // namespace vh5
