// A committed version's tree, walked once when the version is first used.
// Its datasets, once opened, are kept in the process's MemoryCache, not
// here: a version of 10,000 datasets read through keeps only those the
// budget holds.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "read/file_core.h"
#include "read/memory_cache.h"
#include "vh5/version.h"

namespace vh5 {

class VersionTree final : public Version {
 public:
  // Walks /_version_data/versions/<info.name>.
  static Result<std::shared_ptr<VersionTree>> Load(std::shared_ptr<FileCore> core,
                                                   VersionInfo info);
  ~VersionTree() override;

  // What the tree's nodes hold in memory, roughly (its datasets are charged
  // on their own).
  uint64_t MemoryBytes() const;

  const VersionInfo& info() const override { return info_; }
  Result<NodeKind> Kind(std::string_view path) const override;
  Result<std::vector<DirEntry>> List(std::string_view path) const override;
  Result<Attributes> GetAttributes(std::string_view path) const override;
  Result<std::shared_ptr<const Dataset>> OpenDataset(std::string_view path) const override;
  Result<std::optional<DatasetInfo>> StoredLayout(std::string_view path) const override;

 private:
  struct Node {
    NodeKind kind;
    std::vector<DirEntry> children;  // groups only, sorted by name
    Attributes attrs;                // groups only; datasets carry theirs
  };

  VersionTree(std::shared_ptr<FileCore> core, VersionInfo info)
      : core_(std::move(core)), info_(std::move(info)) {}
  // Walks `group` at `path`, `depth` levels below the version's root ("",
  // depth 0); `walked` holds the header addresses of the groups walked.
  Status Walk(hid_t group, const std::string& path, int depth,
              std::unordered_set<uint64_t>* walked);
  Result<const Node*> Find(std::string_view path) const;
  std::string Context(std::string_view path) const;

  std::shared_ptr<FileCore> core_;
  VersionInfo info_;
  std::unordered_map<std::string, Node> nodes_;           // by path; "" is the root
  const uint64_t cache_owner_ = MemoryCache::NewOwner();  // its datasets
};

}  // namespace vh5
