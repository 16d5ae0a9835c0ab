#include "vh5/rename_version.h"

#include "format/file_layout.h"
#include "format/file_walk.h"
#include "format/object_check.h"
#include "hdf5/attribute_codec.h"
#include "hdf5/h5_handle.h"
#include "offline/offline_file.h"
#include "vh5/metadata.h"
#include "vh5/writer.h"

namespace vh5 {
namespace {

Status CheckRename(const OfflineFile& f, const std::string& path, const std::string& from,
                   const std::string& to) {
  if (from == kFirstVersionName)
    return Status::InvalidArgument(std::string("cannot rename ") + kFirstVersionName);
  VH5_RETURN_IF_ERROR(ValidateVersionName(to));
  if (from.find('/') != std::string::npos || !IsCommittedVersion(f.versions.get(), from))
    return Status::NotFound(path + ": no version " + from);
  if (h5::LinkExists(f.versions.get(), to))
    return Status::Exists(path + ": version " + to + " exists");
  return Status::OK();
}

}  // namespace

Status RenameVersion(const std::string& path, const std::string& from, const std::string& to,
                     std::chrono::milliseconds wait) {
  OfflineOpen how;
  how.access = Access::kReadWrite;
  how.wait = wait;
  how.check = [&](const OfflineFile& f) { return CheckRename(f, path, from, to); };
  VH5_ASSIGN_OR_RETURN(OfflineFile f, OpenOffline(path, how));
  hid_t versions = f.versions.get();
  // The versions made on `from` name it: every one of them, not only the
  // committed ones (an unfinished commit keeps its base too).
  for (const std::string& name : HardLinks(versions)) {
    if (name == from || name == kFirstVersionName) continue;
    Result<h5::Handle> group = OpenCheckedGroup(versions, name);
    if (!group.ok()) continue;  // not a group: no prev_version
    if (!h5::AttributeExists(group->get(), layout::kPrevVersionAttr)) continue;
    Result<std::string> prev = h5::ReadStringAttribute(group->get(), layout::kPrevVersionAttr);
    if (!prev.ok() || *prev != from) continue;
    VH5_RETURN_IF_ERROR(WriteAttribute(group->get(), Attribute{layout::kPrevVersionAttr, to, ""})
                            .WithContext(path + ": version " + name));
  }
  if (H5Lmove(versions, from.c_str(), versions, to.c_str(), H5P_DEFAULT, H5P_DEFAULT) < 0)
    return h5::Error(path + ": cannot rename version " + from + " to " + to);
  Result<std::string> current = h5::ReadStringAttribute(versions, layout::kCurrentVersionAttr);
  if (current.ok() && *current == from)
    VH5_RETURN_IF_ERROR(
        WriteAttribute(versions, Attribute{layout::kCurrentVersionAttr, to, ""}).WithContext(path));
  return f.Apply();
}

}  // namespace vh5
