#include "vh5/history.h"

#include <algorithm>
#include <set>

namespace vh5 {

std::vector<std::string> PrevChain(const VersionedFile& file, const std::string& from) {
  std::vector<std::string> chain;
  std::set<std::string> seen;
  std::string name = from;
  while (name != kFirstVersionName && seen.insert(name).second) {
    Result<VersionInfo> info = file.GetVersionInfo(name);
    if (!info.ok()) break;
    chain.push_back(name);
    name = info->prev_version;
  }
  return chain;
}

TimeIndex::TimeIndex(const std::vector<VersionInfo>& versions) {
  by_time_.reserve(versions.size());
  for (const VersionInfo& v : versions)
    if (v.timestamp_ns != 0) by_time_.emplace_back(v.timestamp_ns, v.name);
  std::sort(by_time_.begin(), by_time_.end());
}

std::optional<std::string> TimeIndex::At(int64_t ns) const {
  // The first entry after `ns`; the entries of the time before it start
  // with the first name.
  auto after = std::upper_bound(by_time_.begin(), by_time_.end(), ns,
                                [](int64_t t, const auto& e) { return t < e.first; });
  if (after == by_time_.begin()) return std::nullopt;
  int64_t t = std::prev(after)->first;
  auto first = std::lower_bound(by_time_.begin(), after, t,
                                [](const auto& e, int64_t v) { return e.first < v; });
  return first->second;
}

std::vector<std::pair<int64_t, std::string>> TimeIndex::Moments() const {
  std::vector<std::pair<int64_t, std::string>> out;
  for (const auto& e : by_time_)
    if (out.empty() || out.back().first != e.first) out.push_back(e);
  return out;
}

}  // namespace vh5
