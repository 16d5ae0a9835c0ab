#include "vh5/current_version.h"

#include "format/file_layout.h"
#include "hdf5/attribute_codec.h"
#include "offline/offline_file.h"

namespace vh5 {

Status SetCurrentVersion(const std::string& path, const std::string& name,
                         std::chrono::milliseconds wait) {
  OfflineOpen how;
  how.access = VersionedFile::Access::kReadWrite;
  how.wait = wait;
  how.check = [&](const OfflineFile& f) {
    if (IsCommittedVersion(f.versions.get(), name)) return Status::OK();
    return Status::NotFound(path + ": no version " + name);
  };
  VH5_ASSIGN_OR_RETURN(OfflineFile f, OpenOffline(path, how));
  VH5_RETURN_IF_ERROR(
      WriteAttribute(f.versions.get(), Attribute{layout::kCurrentVersionAttr, name, ""})
          .WithContext(path));
  return f.Apply();
}

}  // namespace vh5
