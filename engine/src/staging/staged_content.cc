#include "staging/staged_content.h"

#include <algorithm>
#include <cstring>

namespace vh5 {
namespace {

uint64_t PagesFor(uint64_t bytes) {
  return (bytes + ScratchFile::kPageSize - 1) / ScratchFile::kPageSize;
}

bool AllZero(const char* p, size_t n) {
  static const char kZeros[4096] = {};
  while (n > 0) {
    size_t k = std::min(n, sizeof kZeros);
    if (std::memcmp(p, kZeros, k) != 0) return false;
    p += k;
    n -= k;
  }
  return true;
}

// Page-sized work buffers; a FUSE worker runs one write at a time.
char* PageBuffer() {
  thread_local std::vector<char> buf(ScratchFile::kPageSize);
  return buf.data();
}
char* BaseBuffer() {
  thread_local std::vector<char> buf(ScratchFile::kPageSize);
  return buf.data();
}

}  // namespace

StagedContent::StagedContent(std::shared_ptr<const ByteSource> base,
                             std::shared_ptr<ScratchFile> scratch, std::string fill,
                             bool compare_with_base)
    : base_(std::move(base)),
      scratch_(std::move(scratch)),
      compare_with_base_(compare_with_base && base_ != nullptr) {
  SetFill(std::move(fill));
  if (base_) {
    base_size_ = base_->size();
    size_ = base_size_;
    pages_.assign(PagesFor(size_), kBasePage);
  }
  checkpoint_pages_ = pages_;
  checkpoint_size_ = size_;
}

StagedContent::~StagedContent() {
  scratch_->Release(std::vector<uint64_t>(fresh_.begin(), fresh_.end()));
  std::vector<uint64_t> held;
  CheckpointPages(&held);
  scratch_->ReleaseWhenSynced(held);
}

void StagedContent::SetFill(std::string fill) {
  fill_ = fill.empty() ? std::string(1, '\0') : std::move(fill);
  zero_fill_ = AllZero(fill_.data(), fill_.size());
}

void StagedContent::FillRange(uint64_t offset, size_t len, char* out) const {
  if (zero_fill_) {
    std::memset(out, 0, len);
    return;
  }
  size_t item = fill_.size();
  for (size_t i = 0; i < len; ++i) out[i] = fill_[(offset + i) % item];
}

bool StagedContent::IsFill(uint64_t offset, const char* data, size_t len) const {
  if (zero_fill_) return AllZero(data, len);
  size_t item = fill_.size();
  for (size_t i = 0; i < len; ++i)
    if (data[i] != fill_[(offset + i) % item]) return false;
  return true;
}

Status StagedContent::ReadBasePage(uint64_t page, char* out) const {
  uint64_t at = page * kPage;
  size_t n = at < base_size_ ? static_cast<size_t>(std::min<uint64_t>(kPage, base_size_ - at)) : 0;
  if (n > 0) {
    VH5_ASSIGN_OR_RETURN(size_t got, base_->Read(at, n, out));
    n = got;
  }
  FillRange(at + n, kPage - n, out + n);
  return Status::OK();
}

Status StagedContent::ReadPage(uint64_t page, char* out) const {
  uint64_t state = State(page);
  if (state == kFillPage) {
    FillRange(page * kPage, kPage, out);
    return Status::OK();
  }
  if (state == kBasePage) return ReadBasePage(page, out);
  return scratch_->Read(state - kFirstScratch, 0, kPage, out);
}

Result<size_t> StagedContent::Read(uint64_t offset, size_t len, char* out) const {
  if (offset >= size_) return size_t{0};
  len = static_cast<size_t>(std::min<uint64_t>(len, size_ - offset));
  uint64_t pos = offset, end = offset + len;
  while (pos < end) {
    uint64_t page = pos / kPage;
    uint64_t state = State(page);
    char* dst = out + (pos - offset);
    if (state == kBasePage) {
      // One base read for a run of base pages.
      uint64_t run_end = (page + 1) * kPage;
      while (run_end < end && State(run_end / kPage) == kBasePage) run_end += kPage;
      run_end = std::min(run_end, end);
      uint64_t from_base = pos < base_size_ ? std::min(run_end, base_size_) - pos : 0;
      size_t got = 0;
      if (from_base > 0) {
        VH5_ASSIGN_OR_RETURN(got, base_->Read(pos, static_cast<size_t>(from_base), dst));
      }
      FillRange(pos + got, static_cast<size_t>(run_end - pos - got), dst + got);
      pos = run_end;
      continue;
    }
    size_t in_page = static_cast<size_t>(pos % kPage);
    size_t n = static_cast<size_t>(std::min<uint64_t>(kPage - in_page, end - pos));
    if (state == kFillPage) {
      FillRange(pos, n, dst);
    } else {
      // Pages written in order sit in order in the scratch file: one read.
      uint64_t next = page + 1;
      while (pos + n < end && State(next) == State(next - 1) + 1) {
        n += static_cast<size_t>(std::min<uint64_t>(kPage, end - pos - n));
        ++next;
      }
      VH5_RETURN_IF_ERROR(scratch_->Read(state - kFirstScratch, in_page, n, dst));
    }
    pos += n;
  }
  return len;
}

void StagedContent::Drop(uint64_t page) {
  uint64_t state = pages_[page];
  if (!InScratch(state)) return;
  uint64_t scratch_page = state - kFirstScratch;
  if (fresh_.erase(scratch_page)) {
    scratch_->Release(scratch_page);
  } else {
    retired_.push_back(scratch_page);
  }
}

Status StagedContent::Settle(uint64_t page, const char* bytes, const char* base_bytes) {
  if (base_bytes && std::memcmp(bytes, base_bytes, kPage) == 0) {
    Drop(page);
    pages_[page] = kBasePage;
    return Status::OK();
  }
  if (IsFill(page * kPage, bytes, kPage)) {
    Drop(page);
    pages_[page] = kFillPage;
    return Status::OK();
  }
  uint64_t state = pages_[page];
  if (InScratch(state) && fresh_.count(state - kFirstScratch))
    return scratch_->Write(state - kFirstScratch, 0, bytes, kPage);
  // Not written since the checkpoint: the checkpoint may still need the old page.
  VH5_ASSIGN_OR_RETURN(uint64_t fresh, scratch_->Allocate());
  if (Status s = scratch_->Write(fresh, 0, bytes, kPage); !s.ok()) {
    scratch_->Release(fresh);
    return s;
  }
  Drop(page);
  pages_[page] = fresh + kFirstScratch;
  fresh_.insert(fresh);
  return Status::OK();
}

Status StagedContent::WritePage(uint64_t page, size_t begin, size_t end, const char* data) {
  uint64_t state = State(page);
  bool whole = begin == 0 && end == kPage;
  // A page written since the checkpoint takes partial writes in place.
  if (!whole && InScratch(state) && fresh_.count(state - kFirstScratch))
    return scratch_->Write(state - kFirstScratch, begin, data, end - begin);
  char* base = BaseBuffer();
  bool have_base = false;
  const char* bytes = data;
  if (!whole) {
    char* buf = PageBuffer();
    if (state == kBasePage) {
      VH5_RETURN_IF_ERROR(ReadBasePage(page, base));
      have_base = true;
      if (std::memcmp(base + begin, data, end - begin) == 0) return Status::OK();
      std::memcpy(buf, base, kPage);
    } else {
      VH5_RETURN_IF_ERROR(ReadPage(page, buf));
    }
    std::memcpy(buf + begin, data, end - begin);
    bytes = buf;
  }
  if (ComparesWithBase(page) && !have_base) {
    VH5_RETURN_IF_ERROR(ReadBasePage(page, base));
    have_base = true;
  }
  return Settle(page, bytes, ComparesWithBase(page) ? base : nullptr);
}

Result<size_t> StagedContent::Write(uint64_t offset, std::string_view data) {
  if (data.empty()) return size_t{0};
  uint64_t end = offset + data.size();
  uint64_t old_size = size_;
  if (end > size_) pages_.resize(PagesFor(end), kFillPage);
  uint64_t pos = offset;
  Status s;
  while (pos < end) {
    uint64_t page = pos / kPage;
    size_t begin = static_cast<size_t>(pos % kPage);
    size_t stop = static_cast<size_t>(std::min<uint64_t>(kPage, end - page * kPage));
    s = WritePage(page, begin, stop, data.data() + (pos - offset));
    if (!s.ok()) break;
    pos = page * kPage + stop;
  }
  // A short write keeps what reached the scratch file, as write(2) does.
  modified_ = true;
  size_ = std::max(old_size, pos);
  for (uint64_t page = PagesFor(size_); page < pages_.size(); ++page) Drop(page);
  pages_.resize(PagesFor(size_));
  if (!s.ok() && pos == offset) return s;
  return static_cast<size_t>(pos - offset);
}

Status StagedContent::Truncate(uint64_t new_size) {
  modified_ = true;
  if (new_size >= size_) {
    pages_.resize(PagesFor(new_size), kFillPage);
    size_ = new_size;
    return Status::OK();
  }
  // The page the new end falls in must read as fill past it.
  size_t tail = static_cast<size_t>(new_size % kPage);
  uint64_t last = new_size / kPage;
  uint64_t state = State(last);
  bool base_past_end = state == kBasePage && new_size < base_size_;
  if (tail != 0 && (InScratch(state) || base_past_end)) {
    if (InScratch(state) && fresh_.count(state - kFirstScratch)) {
      char* buf = PageBuffer();
      FillRange(new_size, kPage - tail, buf);
      VH5_RETURN_IF_ERROR(scratch_->Write(state - kFirstScratch, tail, buf, kPage - tail));
    } else {
      char* buf = PageBuffer();
      char* base = BaseBuffer();
      VH5_RETURN_IF_ERROR(ReadPage(last, buf));
      FillRange(new_size, kPage - tail, buf + tail);
      if (ComparesWithBase(last)) VH5_RETURN_IF_ERROR(ReadBasePage(last, base));
      VH5_RETURN_IF_ERROR(Settle(last, buf, ComparesWithBase(last) ? base : nullptr));
    }
  }
  for (uint64_t page = PagesFor(new_size); page < pages_.size(); ++page) Drop(page);
  pages_.resize(PagesFor(new_size));
  size_ = new_size;
  return Status::OK();
}

void StagedContent::Checkpoint() {
  scratch_->ReleaseWhenSynced(retired_);
  retired_.clear();
  fresh_.clear();
  // Entries past a table's end compare as fill: the replayer's table grows with fill.
  size_t n = std::max(pages_.size(), checkpoint_pages_.size());
  if (unsaved_.size() < n) unsaved_.resize(n, false);
  for (size_t i = 0; i < n; ++i) {
    uint64_t before = i < checkpoint_pages_.size() ? checkpoint_pages_[i] : kFillPage;
    uint64_t after = i < pages_.size() ? pages_[i] : kFillPage;
    if (before != after) unsaved_[i] = true;
  }
  checkpoint_pages_ = pages_;
  checkpoint_size_ = size_;
  modified_ = false;
}

void StagedContent::Rollback() {
  scratch_->Release(std::vector<uint64_t>(fresh_.begin(), fresh_.end()));
  fresh_.clear();
  retired_.clear();
  pages_ = checkpoint_pages_;
  size_ = checkpoint_size_;
  modified_ = false;
}

namespace {

// Runs of the entries of `table` that `take` selects: equal entries (step
// 0) or consecutive scratch pages (step 1) share a run.
template <typename Take>
std::vector<PageRun> Runs(const std::vector<uint64_t>& table, uint64_t first_scratch, Take take) {
  std::vector<PageRun> runs;
  for (uint64_t i = 0; i < table.size(); ++i) {
    if (!take(i)) continue;
    if (!runs.empty()) {
      PageRun& r = runs.back();
      if (r.first + r.count == i) {
        uint64_t last = r.state + (r.count - 1) * r.step;
        if (r.count == 1 && table[i] == last + 1 && last >= first_scratch) r.step = 1;
        if (table[i] == last + r.step && (r.step == 0 || table[i] >= first_scratch)) {
          ++r.count;
          continue;
        }
      }
    }
    runs.push_back(PageRun{i, 1, table[i], 0});
  }
  return runs;
}

}  // namespace

ContentRecord StagedContent::Unsaved() const {
  ContentRecord record;
  record.origin = ContentRecord::Origin::kSame;
  record.compare_with_base = compare_with_base_;
  record.size = checkpoint_size_;
  record.runs = Runs(checkpoint_pages_, kFirstScratch,
                     [this](uint64_t i) { return i < unsaved_.size() && unsaved_[i]; });
  return record;
}

ContentRecord StagedContent::Whole() const {
  ContentRecord record;
  record.origin = base_ ? ContentRecord::Origin::kOnBase : ContentRecord::Origin::kEmpty;
  record.compare_with_base = compare_with_base_;
  record.size = checkpoint_size_;
  record.runs = Runs(checkpoint_pages_, kFirstScratch,
                     [this](uint64_t i) { return checkpoint_pages_[i] != InitialState(i); });
  return record;
}

Status StagedContent::Restore(const ContentRecord& record) {
  // No content is larger than staging lets one grow (1 TiB).
  if (record.size > (uint64_t{1} << 40))
    return Status::Corruption("staging log: a content of " + std::to_string(record.size) +
                              " bytes");
  std::vector<uint64_t> table = checkpoint_pages_;
  table.resize(PagesFor(record.size), kFillPage);
  for (const PageRun& r : record.runs) {
    bool fits = r.count > 0 && r.first < table.size() && r.count <= table.size() - r.first;
    bool state_ok =
        r.step == 0 ? (r.state != kBasePage || base_) : r.step == 1 && InScratch(r.state);
    if (!fits || !state_ok || (InScratch(r.state) && r.step == 0 && r.count > 1) ||
        r.state > (uint64_t{1} << 62))
      return Status::Corruption("staging log: a page run that no content can hold");
    for (uint64_t k = 0; k < r.count; ++k) table[r.first + k] = r.state + k * r.step;
  }
  checkpoint_pages_ = std::move(table);
  checkpoint_size_ = record.size;
  pages_ = checkpoint_pages_;
  size_ = checkpoint_size_;
  fresh_.clear();
  retired_.clear();
  unsaved_.clear();
  modified_ = false;
  return Status::OK();
}

void StagedContent::CheckpointPages(std::vector<uint64_t>* out) const {
  for (uint64_t state : checkpoint_pages_)
    if (InScratch(state)) out->push_back(state - kFirstScratch);
}

std::vector<std::pair<uint64_t, uint64_t>> StagedContent::ChangedRanges() const {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  auto add = [&out](uint64_t begin, uint64_t end) {
    if (begin >= end) return;
    if (!out.empty() && out.back().second >= begin) {
      out.back().second = std::max(out.back().second, end);
    } else {
      out.emplace_back(begin, end);
    }
  };
  for (uint64_t page = 0; page < pages_.size(); ++page) {
    if (pages_[page] == kBasePage && (page + 1) * kPage <= base_size_) continue;
    uint64_t begin = page * kPage;
    if (pages_[page] == kBasePage) begin = base_size_;  // only the part past the base's end
    add(begin, std::min((page + 1) * kPage, size_));
  }
  return out;
}

bool StagedContent::SameAsBase() const {
  if (!base_ || size_ != base_size_) return false;
  return std::all_of(pages_.begin(), pages_.end(), [](uint64_t s) { return s == kBasePage; });
}

uint64_t StagedContent::scratch_pages() const {
  return static_cast<uint64_t>(std::count_if(pages_.begin(), pages_.end(), InScratch));
}

}  // namespace vh5
