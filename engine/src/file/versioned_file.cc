#include "vh5/versioned_file.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>

#include "commit/atomic_commit.h"
#include "format/file_layout.h"
#include "format/object_check.h"
#include "hdf5/h5_handle.h"
#include "journal/held_lock.h"
#include "read/disk_read_lock.h"
#include "read/file_core.h"
#include "read/version_tree.h"
#include "vh5/mutex.h"
#include "vh5/timestamp.h"

namespace vh5 {
namespace {

herr_t CollectGroupName(hid_t, const char* name, const H5L_info_t* info, void* data) {
  if (info->type == H5L_TYPE_HARD) static_cast<std::vector<std::string>*>(data)->emplace_back(name);
  return 0;
}

class VersionedFileImpl final : public VersionedFile {
 public:
  static Result<std::shared_ptr<VersionedFile>> Open(const std::string& path, Access access);

  const std::string& path() const override { return path_; }
  int data_version() const override;
  std::vector<VersionInfo> ListVersions() const override;
  std::vector<std::string> ListVersionNames() const override;
  std::optional<std::string> CurrentVersion() const override;
  Result<VersionInfo> GetVersionInfo(const std::string& name) const override;
  Result<std::shared_ptr<const Version>> GetVersion(const std::string& name) const override;
  Status Commit(const NewVersion& version) override;
  Status Commit(const VersionPlan& plan) override;

 private:
  // Reads data_version and current_version; with `names`, also the names of
  // every version group (links only, no object is opened).
  Status ReadTop(bool names);
  // The metadata of version `name`, nullopt when it is not a version: not a
  // group, or a commit the Python library never finished.
  Result<std::optional<VersionInfo>> ReadInfo(const std::string& name) const;

  // The readers' handle, replaced by a fresh one after each commit (objects
  // handed out keep theirs: what they read never changes).
  std::shared_ptr<FileCore> Core() const {
    MutexLock lock(&mu_);
    return core_;
  }

  std::string path_;
  Access access_ = Access::kReadOnly;
  Fd lock_;  // flock on the file: exclusive when kReadWrite (held_lock.h)
  std::shared_ptr<std::shared_mutex> disk_mu_ = std::make_shared<std::shared_mutex>();

  // Readers take only mu_, and never hold it across an HDF5 call.
  Mutex commit_mu_;  // one commit at a time
  mutable Mutex mu_ ACQUIRED_AFTER(commit_mu_);
  std::shared_ptr<FileCore> core_ GUARDED_BY(mu_);
  int data_version_ GUARDED_BY(mu_) = 1;
  std::optional<std::string> current_ GUARDED_BY(mu_);
  std::set<std::string> names_ GUARDED_BY(mu_);  // every link in versions/ but kFirstVersionName
  // Metadata read so far, by name; nullopt: named, but not a version.
  mutable std::map<std::string, std::optional<VersionInfo>> infos_ GUARDED_BY(mu_);
  // Trees walked recently, at most kCachedTrees, so that memory stays bounded
  // however many versions are read; whoever holds a tree keeps it alive.
  static constexpr size_t kCachedTrees = 64;
  struct CachedTree {
    std::shared_ptr<const Version> tree;
    uint64_t last_use = 0;
  };
  mutable std::map<std::string, CachedTree> trees_ GUARDED_BY(mu_);
  mutable uint64_t uses_ GUARDED_BY(mu_) = 0;
};

Result<std::shared_ptr<VersionedFile>> VersionedFileImpl::Open(const std::string& path,
                                                               Access access) {
  h5::SilenceAutomaticErrorPrinting();
  h5::RegisterLzfFilter();
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::NotFound(path + ": " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) return Status::NotHdf5(path + ": is a directory, not an HDF5 file");
  if (access == Access::kReadWrite) {
    // A commit opens the file for writing and makes its journal beside it.
    std::string dir = path.rfind('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
    if (::access(path.c_str(), W_OK) != 0 || ::access(dir.empty() ? "/" : dir.c_str(), W_OK) != 0)
      return Status::ReadOnly(path + ": no permission to write it (or its directory)");
  }
  VH5_RETURN_IF_ERROR(RecoverInterruptedChange(path));
  auto impl = std::shared_ptr<VersionedFileImpl>(new VersionedFileImpl());
  impl->path_ = path;
  impl->access_ = access;
  VH5_ASSIGN_OR_RETURN(impl->lock_, HoldFileLock(path, access == Access::kReadWrite));
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    h5::TakeErrorStack();
    return Status::NotHdf5(path + ": not an HDF5 file");
  }
  VH5_ASSIGN_OR_RETURN(std::shared_ptr<FileCore> core, FileCore::Open(path, impl->disk_mu_));
  {
    DiskReadLock disk(impl->disk_mu_);
    Status guard = GuardPath(core->file.get(), layout::kVersionsGroup);
    if (!guard.ok()) return guard.WithContext(path);
    if (!h5::LinkExists(core->file.get(), layout::kVersionsGroup))
      return Status::NotVersioned(path + ": an HDF5 file without versioned data (no " +
                                  std::string(layout::kVersionsGroup) + ")");
  }
  {
    MutexLock lock(&impl->mu_);
    impl->core_ = std::move(core);
  }
  Status s = impl->ReadTop(/*names=*/true);
  if (!s.ok()) return s.WithContext(path);
  if (std::optional<std::string> current = impl->CurrentVersion()) {
    Result<VersionInfo> info = impl->GetVersionInfo(*current);
    if (!info.ok())
      return Status::Corruption(path + ": current_version " + *current + " is not a version");
  }
  return std::shared_ptr<VersionedFile>(impl);
}

Status VersionedFileImpl::ReadTop(bool names) {
  std::shared_ptr<FileCore> core = Core();
  DiskReadLock disk(core->disk_mu);
  VH5_ASSIGN_OR_RETURN(h5::Handle group,
                       OpenCheckedGroup(core->file.get(), layout::kVersionsGroup));
  hid_t versions = group.get();
  VH5_ASSIGN_OR_RETURN(int64_t data_version, layout::ReadDataVersion(versions));
  std::optional<std::string> current;
  if (h5::AttributeExists(versions, layout::kCurrentVersionAttr)) {
    VH5_ASSIGN_OR_RETURN(std::string name,
                         h5::ReadStringAttribute(versions, layout::kCurrentVersionAttr));
    if (name != kFirstVersionName) current = name;
  }
  std::vector<std::string> links;
  if (names) {
    hsize_t idx = 0;
    if (H5Literate(versions, H5_INDEX_NAME, H5_ITER_INC, &idx, CollectGroupName, &links) < 0)
      return h5::Error("cannot list versions");
  }
  MutexLock lock(&mu_);
  data_version_ = static_cast<int>(data_version);
  current_ = std::move(current);
  if (names) {
    names_.clear();
    for (std::string& name : links)
      if (name != kFirstVersionName) names_.insert(std::move(name));
  }
  return Status::OK();
}

Result<std::optional<VersionInfo>> VersionedFileImpl::ReadInfo(const std::string& name) const {
  std::shared_ptr<FileCore> core = Core();
  DiskReadLock disk(core->disk_mu);
  VH5_ASSIGN_OR_RETURN(h5::Handle versions,
                       OpenCheckedGroup(core->file.get(), layout::kVersionsGroup));
  VH5_RETURN_IF_ERROR(GuardPath(versions.get(), name).WithContext("version " + name));
  H5O_info_t oinfo;
  if (H5Oget_info_by_name2(versions.get(), name.c_str(), &oinfo, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
    return h5::Error("cannot inspect version " + name);
  if (oinfo.type != H5O_TYPE_GROUP) return std::optional<VersionInfo>();
  h5::Handle group(H5Gopen2(versions.get(), name.c_str(), H5P_DEFAULT));
  if (!group) return h5::Error("cannot open version " + name);
  if (h5::AttributeExists(group.get(), layout::kCommittedAttr)) {
    VH5_ASSIGN_OR_RETURN(int64_t committed,
                         h5::ReadIntAttribute(group.get(), layout::kCommittedAttr));
    if (!committed) return std::optional<VersionInfo>();
  }
  VersionInfo info;
  info.name = name;
  Result<std::string> prev = h5::ReadStringAttribute(group.get(), layout::kPrevVersionAttr);
  info.prev_version = prev.ok() ? *prev : kFirstVersionName;
  Result<std::string> ts = h5::ReadStringAttribute(group.get(), layout::kTimestampAttr);
  if (ts.ok()) {
    info.timestamp = *ts;
    info.timestamp_ns = ParseTimestamp(*ts).value_or(0);
  }
  return std::optional<VersionInfo>(std::move(info));
}

int VersionedFileImpl::data_version() const {
  MutexLock lock(&mu_);
  return data_version_;
}

std::optional<std::string> VersionedFileImpl::CurrentVersion() const {
  MutexLock lock(&mu_);
  return current_;
}

Status VersionedFileImpl::Commit(const NewVersion& version) { return Commit(PlanAsGiven(version)); }

Status VersionedFileImpl::Commit(const VersionPlan& plan) {
  if (access_ != Access::kReadWrite) return Status::ReadOnly(path_ + ": opened read-only");
  MutexLock commit_lock(&commit_mu_);
  Status written = CommitAtomically(path_, plan, disk_mu_.get());
  // HDF5 keeps a virtual dataset's selections (~25 KiB per chunk) on its free
  // lists after the commit: give them back to the system.
  H5garbage_collect();
  malloc_trim(0);
  // A failed commit left the file, and so the readers' view, as it was.
  if (!written.ok()) return written;
  // The readers' handle knows the file as it was before: a fresh one sees it whole.
  VH5_ASSIGN_OR_RETURN(std::shared_ptr<FileCore> core, FileCore::Open(path_, disk_mu_));
  {
    MutexLock lock(&mu_);
    core_ = std::move(core);
    // Metadata read so far still holds: a commit adds a version, it changes none.
    trees_.clear();
  }
  return ReadTop(/*names=*/true).WithContext(path_);
}

std::vector<std::string> VersionedFileImpl::ListVersionNames() const {
  MutexLock lock(&mu_);
  std::vector<std::string> out;
  out.reserve(names_.size());
  for (const std::string& name : names_) {
    auto it = infos_.find(name);
    if (it == infos_.end() || it->second) out.push_back(name);
  }
  return out;
}

std::vector<VersionInfo> VersionedFileImpl::ListVersions() const {
  std::vector<VersionInfo> out;
  for (const std::string& name : ListVersionNames()) {
    Result<VersionInfo> info = GetVersionInfo(name);
    if (info.ok()) out.push_back(std::move(*info));
  }
  return out;
}

Result<VersionInfo> VersionedFileImpl::GetVersionInfo(const std::string& name) const {
  {
    MutexLock lock(&mu_);
    if (!names_.count(name)) return Status::NotFound(path_ + ": no version " + name);
    auto it = infos_.find(name);
    if (it != infos_.end()) {
      if (!it->second) return Status::NotFound(path_ + ": no version " + name);
      return *it->second;
    }
  }
  Result<std::optional<VersionInfo>> read = ReadInfo(name);
  if (!read.ok()) return read.status().WithContext(path_);
  MutexLock lock(&mu_);
  auto it = infos_.emplace(name, std::move(*read)).first;
  if (!it->second) return Status::NotFound(path_ + ": no version " + name);
  return *it->second;
}

Result<std::shared_ptr<const Version>> VersionedFileImpl::GetVersion(
    const std::string& name) const {
  VH5_ASSIGN_OR_RETURN(VersionInfo info, GetVersionInfo(name));
  {
    MutexLock lock(&mu_);
    auto it = trees_.find(name);
    if (it != trees_.end()) {
      it->second.last_use = ++uses_;
      return it->second.tree;
    }
  }
  // Loaded outside mu_: a commit must not wait on a tree walk.
  VH5_ASSIGN_OR_RETURN(std::shared_ptr<VersionTree> tree, VersionTree::Load(Core(), info));
  MutexLock lock(&mu_);
  auto [it, inserted] = trees_.emplace(name, CachedTree{tree, 0});
  it->second.last_use = ++uses_;
  if (trees_.size() > kCachedTrees) {
    auto oldest = std::min_element(trees_.begin(), trees_.end(), [](const auto& a, const auto& b) {
      return a.second.last_use < b.second.last_use;
    });
    trees_.erase(oldest);
  }
  return it->second.tree;
}

}  // namespace

Result<std::shared_ptr<VersionedFile>> VersionedFile::Open(const std::string& path, Access access) {
  return VersionedFileImpl::Open(path, access);
}

}  // namespace vh5
