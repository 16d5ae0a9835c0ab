// A committed version that outlives the file changing under it.
//
// Another process may change the versioned file while a mount reads it:
// after that, objects read before answer Stale (file_state.h). A
// LiveVersion, and each LiveDataset it hands out, then loads its tree, or
// its dataset, again through the file as it is now, and retries: the
// caller never sees the change, unless the version itself is gone (deleted
// by the other process): then Stale, with the version's name.
//
// Thread safety: every method may be called from any thread at once.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "vh5/dataset.h"
#include "vh5/mutex.h"
#include "vh5/version.h"

namespace vh5 {

class LiveVersion final : public Version, public std::enable_shared_from_this<LiveVersion> {
 public:
  // Loads the version's tree as the file is now; Stale when it is gone.
  using Loader = std::function<Result<std::shared_ptr<const Version>>()>;
  LiveVersion(std::shared_ptr<const Version> tree, Loader loader)
      : info_(tree->info()), loader_(std::move(loader)), tree_(std::move(tree)) {}

  const VersionInfo& info() const override { return info_; }
  Result<NodeKind> Kind(std::string_view path) const override;
  Result<std::vector<DirEntry>> List(std::string_view path) const override;
  Result<Attributes> GetAttributes(std::string_view path) const override;
  Result<std::shared_ptr<const Dataset>> OpenDataset(std::string_view path) const override;
  Result<std::optional<DatasetInfo>> StoredLayout(std::string_view path) const override;

  // The tree now; a fresh one when `stale` is the one held.
  Result<std::shared_ptr<const Version>> Tree(const Version* stale = nullptr) const;

 private:
  // Runs `op` on the tree, loading it again while `op` says Stale.
  template <typename T>
  Result<T> WithTree(const std::function<Result<T>(const Version&)>& op) const;

  const VersionInfo info_;
  const Loader loader_;
  mutable Mutex mu_;
  mutable std::shared_ptr<const Version> tree_ GUARDED_BY(mu_);
  // Held weakly: each dataset holds its version, to load itself again.
  mutable std::map<std::string, std::weak_ptr<const Dataset>, std::less<>> datasets_
      GUARDED_BY(mu_);
  mutable size_t swept_size_ GUARDED_BY(mu_) = 0;  // datasets_.size() after the last sweep
};

}  // namespace vh5
