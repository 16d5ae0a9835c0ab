#include "read/file_core.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "journal/journal_vfd.h"

namespace vh5 {

Result<std::shared_ptr<FileCore>> FileCore::Open(const std::string& path, DiskAccess access,
                                                 std::map<std::string, ChunkIndex> known) {
  auto core = std::make_shared<FileCore>();
  {
    MutexLock lock(&core->mu_);
    core->known_ = std::move(known);
  }
  core->path = path;
  core->access = std::move(access);
  core->fd = std::make_shared<Fd>(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!core->fd->valid()) return Status::IOError(path + ": " + std::strerror(errno));
  // A snapshot handle: HDF5 shares nothing with an older core of the file.
  VH5_ASSIGN_OR_RETURN(h5::Handle fapl, SnapshotFileAccess());
  // HDF5's metadata cache grows to 32 MiB by default, filled by tree walks
  // of wide versions; readers read data without it, so 8 MiB will do.
  H5AC_cache_config_t mdc{};
  mdc.version = H5AC__CURR_CACHE_CONFIG_VERSION;
  if (H5Pget_mdc_config(fapl.get(), &mdc) >= 0) {
    mdc.max_size = std::max<size_t>(mdc.min_size, size_t{8} << 20);
    mdc.initial_size = std::min(mdc.initial_size, mdc.max_size);
    if (H5Pset_mdc_config(fapl.get(), &mdc) < 0) h5::TakeErrorStack();
  }
  DiskRead disk(core->access, DiskRead::Kind::kMetadata, path);
  VH5_RETURN_IF_ERROR(disk.status());
  core->file = h5::Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()));
  if (!core->file) return h5::Error(path + ": cannot open as HDF5", Status::Code::kNotHdf5);
  Result<std::shared_ptr<ObjectChecker>> checker =
      ObjectChecker::Attach(core->file.get(), core->fd->get());
  if (!checker.ok()) return checker.status().WithContext(path);
  core->checker = std::move(*checker);
  return core;
}

FileCore::~FileCore() { MemoryCache::Process().Forget(cache_owner_); }

Result<std::shared_ptr<RawData>> FileCore::Raw(const std::string& raw_path) {
  MutexLock lock(&mu_);
  auto it = raw_.find(raw_path);
  if (it != raw_.end()) {
    if (std::shared_ptr<RawData> alive = it->second.lock()) {
      MemoryCache::Process().Find(cache_owner_, raw_path);  // recently used
      return alive;
    }
  }
  DiskRead disk(access, DiskRead::Kind::kMetadata, path);
  VH5_RETURN_IF_ERROR(disk.status());
  std::optional<ChunkIndex> known;
  if (auto k = known_.find(raw_path); k != known_.end()) {
    known = std::move(k->second);
    known_.erase(k);
  }
  VH5_ASSIGN_OR_RETURN(std::shared_ptr<RawData> raw,
                       RawData::Open(file.get(), fd, raw_path, access, known ? &*known : nullptr));
  raw_[raw_path] = raw;
  MemoryCache::Process().Insert(cache_owner_, raw_path, raw, raw->MemoryBytes());
  if (access.state) {
    MutexLock raws(&access.state->raws_mu);
    std::vector<std::weak_ptr<RawData>>& all = access.state->raws;
    std::erase_if(all, [](const std::weak_ptr<RawData>& r) { return r.expired(); });
    all.push_back(raw);
  }
  return raw;
}

std::map<std::string, ChunkIndex> FileCore::ChunkIndexes() {
  std::map<std::string, ChunkIndex> out;
  MutexLock lock(&mu_);
  for (const auto& [raw_path, weak] : raw_) {
    std::shared_ptr<RawData> raw = weak.lock();
    if (raw && raw->index()) out.emplace(raw_path, *raw->index());
  }
  return out;
}

void FileCore::ForgetRawData() {
  MemoryCache::Process().Forget(cache_owner_);
  MutexLock lock(&mu_);
  raw_.clear();
}

}  // namespace vh5
