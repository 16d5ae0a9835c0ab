#include "file/live_version.h"

namespace vh5 {
namespace {

// A refresh can land between loading and reading: a few tries, then the
// error stands.
constexpr int kTries = 4;

bool IsStale(const Status& s) { return s.code() == Status::Code::kStale; }

class LiveDataset final : public Dataset {
 public:
  LiveDataset(std::shared_ptr<const LiveVersion> version, std::string path,
              std::shared_ptr<const Version> tree, std::shared_ptr<const Dataset> inner)
      : version_(std::move(version)),
        path_(std::move(path)),
        info_(inner->info()),
        size_(inner->size()),
        tree_(std::move(tree)),
        inner_(std::move(inner)) {}

  const DatasetInfo& info() const override { return info_; }
  uint64_t size() const override { return size_; }
  Result<size_t> Read(uint64_t offset, size_t len, char* out) const override {
    return Retry<size_t>([&](const Dataset& d) { return d.Read(offset, len, out); });
  }
  Status Locate(uint64_t offset, size_t len, std::vector<Run>* out, ReadHold* hold) const override {
    return Retry<bool>([&](const Dataset& d) -> Result<bool> {
             VH5_RETURN_IF_ERROR(d.Locate(offset, len, out, hold));
             return true;
           })
        .status();
  }
  std::string ContentKey() const override {
    Result<std::string> key =
        Retry<std::string>([](const Dataset& d) -> Result<std::string> { return d.ContentKey(); });
    return key.ok() ? *key : std::string();
  }
  std::vector<uint64_t> MappedCells() const override {
    Result<std::vector<uint64_t>> cells = Retry<std::vector<uint64_t>>(
        [](const Dataset& d) -> Result<std::vector<uint64_t>> { return d.MappedCells(); });
    return cells.ok() ? *cells : std::vector<uint64_t>();
  }
  bool MapsCell(uint64_t cell) const override {
    Result<bool> maps =
        Retry<bool>([cell](const Dataset& d) -> Result<bool> { return d.MapsCell(cell); });
    return maps.ok() && *maps;
  }
  Result<std::shared_ptr<const Dataset>> OpenCell(uint64_t cell) const override {
    return Retry<std::shared_ptr<const Dataset>>(
        [cell](const Dataset& d) { return d.OpenCell(cell); });
  }

 private:
  template <typename T>
  Result<T> Retry(const std::function<Result<T>(const Dataset&)>& op) const {
    std::shared_ptr<const Version> tree;
    std::shared_ptr<const Dataset> inner;
    {
      MutexLock lock(&mu_);
      tree = tree_;
      inner = inner_;
    }
    for (int attempt = 1;; ++attempt) {
      Result<T> r = op(*inner);
      if (r.ok() || !IsStale(r.status()) || attempt == kTries) return r;
      VH5_ASSIGN_OR_RETURN(tree, version_->Tree(tree.get()));
      Result<std::shared_ptr<const Dataset>> fresh = tree->OpenDataset(path_);
      if (!fresh.ok() && !IsStale(fresh.status())) return fresh.status();
      if (!fresh.ok()) continue;  // the tree went stale too: the next try loads it again
      inner = std::move(*fresh);
      MutexLock lock(&mu_);
      tree_ = tree;
      inner_ = inner;
    }
  }

  const std::shared_ptr<const LiveVersion> version_;
  const std::string path_;
  const DatasetInfo info_;
  const uint64_t size_;
  mutable Mutex mu_;
  mutable std::shared_ptr<const Version> tree_ GUARDED_BY(mu_);
  mutable std::shared_ptr<const Dataset> inner_ GUARDED_BY(mu_);
};

}  // namespace

Result<std::shared_ptr<const Version>> LiveVersion::Tree(const Version* stale) const {
  MutexLock lock(&mu_);
  if (tree_ && tree_.get() != stale) return tree_;
  VH5_ASSIGN_OR_RETURN(std::shared_ptr<const Version> tree, loader_());
  tree_ = tree;
  return tree;
}

template <typename T>
Result<T> LiveVersion::WithTree(const std::function<Result<T>(const Version&)>& op) const {
  VH5_ASSIGN_OR_RETURN(std::shared_ptr<const Version> tree, Tree());
  for (int attempt = 1;; ++attempt) {
    Result<T> r = op(*tree);
    if (r.ok() || !IsStale(r.status()) || attempt == kTries) return r;
    VH5_ASSIGN_OR_RETURN(tree, Tree(tree.get()));
  }
}

Result<NodeKind> LiveVersion::Kind(std::string_view path) const {
  return WithTree<NodeKind>([&](const Version& t) { return t.Kind(path); });
}

Result<std::vector<DirEntry>> LiveVersion::List(std::string_view path) const {
  return WithTree<std::vector<DirEntry>>([&](const Version& t) { return t.List(path); });
}

Result<Attributes> LiveVersion::GetAttributes(std::string_view path) const {
  return WithTree<Attributes>([&](const Version& t) { return t.GetAttributes(path); });
}

Result<std::optional<DatasetInfo>> LiveVersion::StoredLayout(std::string_view path) const {
  return WithTree<std::optional<DatasetInfo>>(
      [&](const Version& t) { return t.StoredLayout(path); });
}

Result<std::shared_ptr<const Dataset>> LiveVersion::OpenDataset(std::string_view path) const {
  {
    MutexLock lock(&mu_);
    auto it = datasets_.find(path);
    if (it != datasets_.end())
      if (std::shared_ptr<const Dataset> alive = it->second.lock()) return alive;
  }
  VH5_ASSIGN_OR_RETURN(std::shared_ptr<const Version> tree, Tree());
  std::shared_ptr<const Dataset> inner;
  for (int attempt = 1;; ++attempt) {
    Result<std::shared_ptr<const Dataset>> r = tree->OpenDataset(path);
    if (r.ok()) {
      inner = std::move(*r);
      break;
    }
    if (!IsStale(r.status()) || attempt == kTries) return r.status();
    VH5_ASSIGN_OR_RETURN(tree, Tree(tree.get()));
  }
  // Not make_shared: an expired weak_ptr would keep the object's memory.
  std::shared_ptr<const Dataset> live(
      new LiveDataset(shared_from_this(), std::string(path), tree, inner));
  MutexLock lock(&mu_);
  // Datasets nobody holds any more are swept once the map doubled: a
  // version read through does not keep an entry per dataset it ever opened.
  if (datasets_.size() >= 2 * swept_size_ + 64) {
    std::erase_if(datasets_, [](const auto& entry) { return entry.second.expired(); });
    swept_size_ = datasets_.size();
  }
  std::weak_ptr<const Dataset>& slot = datasets_[std::string(path)];
  if (std::shared_ptr<const Dataset> other = slot.lock()) return other;  // another thread's
  slot = live;
  return live;
}

}  // namespace vh5
