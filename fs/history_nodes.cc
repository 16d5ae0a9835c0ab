// prev/<N> and at/<TIME>: versions by position along current's
// prev_version chain (the Python library's file[-N]) and by time
// (get_version_by_timestamp's rule), each a symlink to ../versions/<name>
// (SPEC "The tree", vh5fs(1) HISTORY). Lookups answer from an index kept
// until the file's versions change: no walk of every version per lookup.
#include <cerrno>
#include <charconv>

#include "filesystem.h"
#include "vh5/timestamp.h"

namespace vh5fs {

void Filesystem::SyncHistory() {
  // Read before what it guards is rebuilt: a change meanwhile makes the
  // next call build again.
  uint64_t generation = file_->versions_generation();
  if (generation == history_.generation) return;
  history_ = History{};
  history_.generation = generation;
}

const std::vector<std::string>& Filesystem::Chain() {
  SyncHistory();
  if (!history_.have_chain) {
    if (std::optional<std::string> current = file_->CurrentVersion())
      history_.chain = vh5::PrevChain(*file_, *current);
    history_.have_chain = true;
  }
  return history_.chain;
}

const vh5::TimeIndex& Filesystem::Times() {
  SyncHistory();
  if (!history_.have_times) {
    // Every version's metadata, read once (then kept by the engine).
    history_.times = vh5::TimeIndex(file_->ListVersions());
    history_.have_times = true;
  }
  return history_.times;
}

int Filesystem::HistoryVersion(const NodeId& link, std::string* version) {
  vh5::MutexLock lock(&history_mu_);
  if (link.type == NodeType::kPrevLink) {
    // One spelling per N: "0", "1", ..., no sign, no leading zero.
    const std::string& text = link.path;
    size_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() ||
        (text.size() > 1 && text[0] == '0'))
      return ENOENT;
    const std::vector<std::string>& chain = Chain();
    if (n >= chain.size()) return ENOENT;
    *version = chain[n];
    return 0;
  }
  std::optional<int64_t> ns = vh5::ParseMoment(link.path);
  if (!ns) return ENOENT;
  std::optional<std::string> found = Times().At(*ns);
  if (!found) return ENOENT;
  *version = std::move(*found);
  return 0;
}

void Filesystem::ListHistory(const NodeId& dir, std::vector<std::string>* names) {
  // Committed elsewhere a moment ago? As versions/ does for a listing.
  if (vh5::Status s = file_->Refresh(); !s.ok()) Fail(s);
  vh5::MutexLock lock(&history_mu_);
  if (dir.type == NodeType::kPrevDir) {
    for (size_t i = 0; i < Chain().size(); ++i) names->push_back(std::to_string(i));
    return;
  }
  for (const auto& [ns, name] : Times().Moments()) names->push_back(vh5::IsoTimestamp(ns));
}

}  // namespace vh5fs
