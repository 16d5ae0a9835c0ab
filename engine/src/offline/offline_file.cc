#include "offline/offline_file.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "format/file_layout.h"
#include "format/object_check.h"
#include "journal/held_lock.h"
#include "journal/journal_vfd.h"
#include "read/file_core.h"

namespace vh5 {

Result<OfflineFile> OpenOffline(const std::string& path, const OfflineOpen& how) {
  h5::SilenceAutomaticErrorPrinting();
  h5::RegisterLzfFilter();
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no such file");
    return Status::IOError(path + ": " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) return Status::NotHdf5(path + ": is a directory, not an HDF5 file");
  const bool writing = how.access == VersionedFile::Access::kReadWrite;
  OfflineFile out;
  // Held from before the first read to the end (held_lock.h): HDF5's own
  // lock is off in every handle below, this one stands for them.
  if (writing || how.exclusive) {
    VH5_ASSIGN_OR_RETURN(out.lock, HoldFileLock(path, /*exclusive=*/true, how.wait));
    VH5_RETURN_IF_ERROR(RecoverHeldFile(path));
  } else {
    VH5_RETURN_IF_ERROR(RecoverInterruptedChange(path, how.wait));
    VH5_ASSIGN_OR_RETURN(out.lock, HoldFileLock(path, /*exclusive=*/false, how.wait));
  }
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    h5::TakeErrorStack();
    return Status::NotHdf5(path + ": not an HDF5 file");
  }
  out.path = path;
  h5::Handle read_access(H5Pcreate(H5P_FILE_ACCESS));
  if (!read_access || H5Pset_file_locking(read_access.get(), false, true) < 0)
    return h5::Error(path + ": cannot set up file access");
  out.file = h5::Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, read_access.get()));
  if (!out.file) return h5::Error(path + ": cannot open", Status::Code::kNotHdf5);
  out.fd = std::make_shared<const Fd>(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!out.fd->valid()) return Status::IOError(path + ": " + std::strerror(errno));
  VH5_ASSIGN_OR_RETURN(out.checker, ObjectChecker::Attach(out.file.get(), out.fd->get()));
  VH5_RETURN_IF_ERROR(GuardPath(out.file.get(), layout::kVersionsGroup).WithContext(path));
  if (!h5::LinkExists(out.file.get(), layout::kVersionsGroup))
    return Status::NotVersioned(path + ": an HDF5 file without versioned data (no " +
                                std::string(layout::kVersionsGroup) + ")");
  Result<h5::Handle> versions = OpenCheckedGroup(out.file.get(), layout::kVersionsGroup);
  if (!versions.ok()) return versions.status().WithContext(path);
  out.versions = std::move(*versions);
  Result<int64_t> data_version = layout::ReadDataVersion(out.versions.get());
  if (!data_version.ok()) return data_version.status().WithContext(path + ": data_version");
  out.data_version = static_cast<int>(*data_version);
  if (!writing) return out;
  // Every check is made read-only: HDF5 writes to a file opened read-write
  // when it closes it, even when nothing changed.
  if (out.data_version < 1 || out.data_version > layout::kDataVersion)
    return Status::Unsupported(path + ": data_version " + std::to_string(out.data_version) +
                               " is not one this vh5 knows (1 to " +
                               std::to_string(layout::kDataVersion) + ")");
  if (how.check) VH5_RETURN_IF_ERROR(how.check(out));
  // Written in place from here on: the checker's bytes would go stale.
  out.checker.reset();
  out.versions.Reset();
  out.file.Reset();
  VH5_ASSIGN_OR_RETURN(out.txn, Transaction::Begin(path));
  VH5_ASSIGN_OR_RETURN(h5::Handle fapl, JournaledFileAccess(out.txn.get()));
  out.file = h5::Handle(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get()));
  if (!out.file) return h5::Error(path + ": cannot open for writing");
  versions = OpenCheckedGroup(out.file.get(), layout::kVersionsGroup);
  if (!versions.ok()) return versions.status().WithContext(path);
  out.versions = std::move(*versions);
  return out;
}

OfflineFile::~OfflineFile() {
  versions.Reset();
  // Not applied: the transaction is aborted below whatever the close says.
  if (txn && file) (void)CloseJournaled(file.Release(), txn.get(), /*failed=*/true);
}

Status OfflineFile::Apply() {
  if (!txn) return Status::ReadOnly(path + ": opened read-only");
  versions.Reset();
  VH5_RETURN_IF_ERROR(CloseJournaled(file.Release(), txn.get(), false).WithContext(path));
  Status s = txn->Apply();
  txn.reset();
  return s.ok() ? s : s.WithContext(path);
}

bool IsCommittedVersion(hid_t versions, const std::string& name) {
  if (name == kFirstVersionName || name.empty() || !h5::LinkExists(versions, name)) return false;
  if (!GuardPath(versions, name).ok()) return false;
  H5O_info_t info;
  if (H5Oget_info_by_name2(versions, name.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
    h5::TakeErrorStack();
    return false;
  }
  if (info.type != H5O_TYPE_GROUP) return false;
  h5::Handle group(H5Gopen2(versions, name.c_str(), H5P_DEFAULT));
  if (!group) {
    h5::TakeErrorStack();
    return false;
  }
  if (!h5::AttributeExists(group.get(), layout::kCommittedAttr)) return true;
  Result<int64_t> committed = h5::ReadIntAttribute(group.get(), layout::kCommittedAttr);
  return committed.ok() && *committed != 0;
}

}  // namespace vh5
