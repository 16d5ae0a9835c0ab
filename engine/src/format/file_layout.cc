#include "format/file_layout.h"

#include "hdf5/h5_handle.h"
#include "util/posix_file.h"

namespace vh5::layout {

std::string DataGroupPath(std::string_view dataset_path) {
  return std::string(kDataGroup) + "/" + std::string(dataset_path);
}

std::string RawDataPath(std::string_view dataset_path) {
  return DataGroupPath(dataset_path) + "/" + kRawData;
}

std::string VersionPath(std::string_view version) {
  return std::string(kVersionsGroup) + "/" + std::string(version);
}

std::string VersionPath(std::string_view version, std::string_view path) {
  return VersionPath(version) + "/" + std::string(path);
}

Result<int64_t> ReadDataVersion(hid_t versions_group) {
  if (!h5::AttributeExists(versions_group, kDataVersionAttr)) return int64_t{1};
  return h5::ReadIntAttribute(versions_group, kDataVersionAttr);
}

std::string JournalPath(const std::string& file_path) {
  return SiblingPath(file_path, ".vh5-journal");
}

std::string StagingStateDir(const std::string& file_path) {
  return SiblingPath(file_path, ".vh5-staging");
}

std::string StagingLockPath(const std::string& file_path) {
  return SiblingPath(file_path, ".vh5-staging.lock");
}

}  // namespace vh5::layout
