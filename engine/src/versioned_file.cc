#include "vh5/versioned_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "commit.h"
#include "file_core.h"
#include "h5_handle.h"
#include "version_tree.h"
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

  const std::string& path() const override { return core_->path; }
  int data_version() const override;
  std::vector<VersionInfo> ListVersions() const override;
  std::optional<std::string> CurrentVersion() const override;
  Result<VersionInfo> GetVersionInfo(const std::string& name) const override;
  Result<std::shared_ptr<const Version>> GetVersion(const std::string& name) const override;
  Status Commit(const NewVersion& version) override;

 private:
  // Reads data_version, current_version and every version's metadata.
  Status ReadVersionList();

  std::shared_ptr<FileCore> core_;
  Access access_ = Access::kReadOnly;

  // Lock order: commit_mu_, then mu_. Readers take only mu_.
  std::mutex commit_mu_;   // one commit at a time
  mutable std::mutex mu_;  // guards everything below
  int data_version_ = 1;
  std::optional<std::string> current_;
  std::map<std::string, VersionInfo> versions_;
  mutable std::map<std::string, std::shared_ptr<const Version>> trees_;
};

Result<std::shared_ptr<VersionedFile>> VersionedFileImpl::Open(const std::string& path,
                                                               Access access) {
  h5::SilenceAutomaticErrorPrinting();
  h5::RegisterLzfFilter();
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::NotFound(path + ": " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) return Status::NotHdf5(path + ": is a directory, not an HDF5 file");
  auto fd = std::make_shared<Fd>(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd->valid()) return Status::IOError(path + ": " + std::strerror(errno));
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    h5::TakeErrorStack();
    return Status::NotHdf5(path + ": not an HDF5 file");
  }

  auto impl = std::shared_ptr<VersionedFileImpl>(new VersionedFileImpl());
  impl->core_ = std::make_shared<FileCore>();
  FileCore& core = *impl->core_;
  core.path = path;
  core.fd = fd;
  impl->access_ = access;
  core.file = h5::Handle(H5Fopen(
      path.c_str(), access == Access::kReadWrite ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!core.file) return h5::Error(path + ": cannot open as HDF5", Status::Code::kNotHdf5);

  if (!h5::LinkExists(core.file.get(), kVersionsGroup))
    return Status::NotVersioned(path + ": an HDF5 file without versioned data (no " +
                                std::string(kVersionsGroup) + ")");
  Status s = impl->ReadVersionList();
  if (!s.ok()) return s.WithContext(path);
  return std::shared_ptr<VersionedFile>(impl);
}

Status VersionedFileImpl::ReadVersionList() {
  VH5_ASSIGN_OR_RETURN(h5::Handle group, h5::OpenGroup(core_->file.get(), kVersionsGroup));
  hid_t versions = group.get();
  int data_version = 1;
  std::optional<std::string> current;
  std::map<std::string, VersionInfo> infos;
  if (h5::AttributeExists(versions, "data_version")) {
    VH5_ASSIGN_OR_RETURN(int64_t dv, h5::ReadIntAttribute(versions, "data_version"));
    data_version = static_cast<int>(dv);
  }
  if (h5::AttributeExists(versions, "current_version")) {
    VH5_ASSIGN_OR_RETURN(std::string name, h5::ReadStringAttribute(versions, "current_version"));
    if (name != kFirstVersionName) current = name;
  }
  std::vector<std::string> names;
  hsize_t idx = 0;
  if (H5Literate(versions, H5_INDEX_NAME, H5_ITER_INC, &idx, CollectGroupName, &names) < 0)
    return h5::Error("cannot list versions");
  for (const std::string& name : names) {
    if (name == kFirstVersionName) continue;
    H5O_info_t oinfo;
    if (H5Oget_info_by_name2(versions, name.c_str(), &oinfo, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
      return h5::Error("cannot inspect version " + name);
    if (oinfo.type != H5O_TYPE_GROUP) continue;
    h5::Handle group(H5Gopen2(versions, name.c_str(), H5P_DEFAULT));
    if (!group) return h5::Error("cannot open version " + name);
    // A version the Python library began but never finished is not a version.
    if (h5::AttributeExists(group.get(), "committed")) {
      VH5_ASSIGN_OR_RETURN(int64_t committed, h5::ReadIntAttribute(group.get(), "committed"));
      if (!committed) continue;
    }
    VersionInfo info;
    info.name = name;
    Result<std::string> prev = h5::ReadStringAttribute(group.get(), "prev_version");
    info.prev_version = prev.ok() ? *prev : kFirstVersionName;
    Result<std::string> ts = h5::ReadStringAttribute(group.get(), "timestamp");
    if (ts.ok()) {
      info.timestamp = *ts;
      info.timestamp_ns = ParseTimestamp(*ts).value_or(0);
    }
    infos.emplace(name, std::move(info));
  }
  if (current && !infos.count(*current))
    return Status::Corruption("current_version " + *current + " is not a version");
  std::lock_guard<std::mutex> lock(mu_);
  data_version_ = data_version;
  current_ = std::move(current);
  versions_ = std::move(infos);
  return Status::OK();
}

int VersionedFileImpl::data_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return data_version_;
}

std::optional<std::string> VersionedFileImpl::CurrentVersion() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

Status VersionedFileImpl::Commit(const NewVersion& version) {
  if (access_ != Access::kReadWrite) return Status::ReadOnly(core_->path + ": opened read-only");
  std::lock_guard<std::mutex> commit_lock(commit_mu_);
  Status written = CommitToOpenFile(core_->file.get(), core_->path, version);
  // raw_data may have grown: later readers open it afresh.
  core_->ForgetRawData();
  Status reread = ReadVersionList();
  if (!written.ok()) return written;
  return reread.WithContext(core_->path);
}

std::vector<VersionInfo> VersionedFileImpl::ListVersions() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<VersionInfo> out;
  out.reserve(versions_.size());
  for (const auto& [name, info] : versions_) out.push_back(info);
  return out;
}

Result<VersionInfo> VersionedFileImpl::GetVersionInfo(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = versions_.find(name);
  if (it == versions_.end()) return Status::NotFound(core_->path + ": no version " + name);
  return it->second;
}

Result<std::shared_ptr<const Version>> VersionedFileImpl::GetVersion(
    const std::string& name) const {
  VH5_ASSIGN_OR_RETURN(VersionInfo info, GetVersionInfo(name));
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = trees_.find(name);
    if (it != trees_.end()) return it->second;
  }
  // Loaded outside mu_: a commit's ReadVersionList must not wait on a tree walk.
  VH5_ASSIGN_OR_RETURN(std::shared_ptr<VersionTree> tree, VersionTree::Load(core_, info));
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = trees_.emplace(name, tree);
  return it->second;
}

}  // namespace

Result<std::shared_ptr<VersionedFile>> VersionedFile::Open(const std::string& path, Access access) {
  return VersionedFileImpl::Open(path, access);
}

}  // namespace vh5
