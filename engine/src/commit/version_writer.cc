#include "commit/version_writer.h"

#include <sys/stat.h>

#include <algorithm>
#include <set>
#include <string_view>
#include <utility>

#include "commit/data_version_upgrade.h"
#include "commit/dataset_writer.h"
#include "commit/link_order.h"
#include "format/file_layout.h"
#include "format/object_check.h"
#include "hdf5/attribute_codec.h"
#include "hdf5/h5_handle.h"
#include "vh5/timestamp.h"

namespace vh5 {
namespace {

// Links each of `paths` to the object at the same path in version `prev`:
// one more hard link to it, nothing copied. In PackedOrder within each
// group (link_order.h).
Status LinkFromBase(hid_t file, hid_t group, const std::string& prev,
                    std::vector<const std::string*> paths) {
  if (paths.empty()) return Status::OK();
  VH5_ASSIGN_OR_RETURN(h5::Handle base, OpenCheckedGroup(file, layout::VersionPath(prev)));
  h5::Handle fcpl(H5Fget_create_plist(file));
  unsigned inner_k = 0, leaf_k = 0;
  if (!fcpl || H5Pget_sym_k(fcpl.get(), &inner_k, &leaf_k) < 0) leaf_k = 4;
  // Each group's links in strcmp order of their names, groups one after another.
  auto parent = [](const std::string& p) {
    size_t slash = p.rfind('/');
    return std::string_view(p).substr(0, slash == std::string::npos ? 0 : slash);
  };
  std::sort(paths.begin(), paths.end(), [&](const std::string* a, const std::string* b) {
    return std::make_pair(parent(*a), std::string_view(*a)) <
           std::make_pair(parent(*b), std::string_view(*b));
  });
  h5::Handle lcpl = h5::IntermediateGroups();
  for (size_t begin = 0, end; begin < paths.size(); begin = end) {
    for (end = begin + 1; end < paths.size() && parent(*paths[end]) == parent(*paths[begin]);)
      ++end;
    for (size_t i : PackedOrder(end - begin, leaf_k)) {
      const char* path = paths[begin + i]->c_str();
      if (H5Lcreate_hard(base.get(), path, group, path, lcpl.get(), H5P_DEFAULT) < 0)
        return h5::Error(std::string("cannot link ") + path + " of version " + prev);
    }
  }
  return Status::OK();
}

// A version group's creation properties: its local heap made big enough for
// the names of its children at once. Grown by doubling instead, it would
// leave each smaller heap behind as a hole the file keeps (free space is not
// remembered once HDF5 closes it): ~80 KiB for 10,000 datasets.
h5::Handle VersionGroupCreation(const NewVersion& version) {
  h5::Handle gcpl(H5Pcreate(H5P_GROUP_CREATE));
  std::set<std::string_view> top;
  auto add = [&](const std::string& path) {
    if (!path.empty()) top.insert(std::string_view(path).substr(0, path.find('/')));
  };
  for (const NewGroup& g : version.groups) add(g.path);
  for (const NewDataset& d : version.datasets) add(d.path);
  size_t bytes = 8 + 64;  // the empty name at offset 0, and some slack
  for (std::string_view name : top) bytes += (name.size() + 1 + 7) / 8 * 8;  // NUL, 8-aligned
  if (gcpl) H5Pset_local_heap_size_hint(gcpl.get(), bytes);
  return gcpl;
}

// Fills a new version group: its attributes, groups and datasets.
Status WriteVersionGroup(hid_t file, hid_t group, const std::string& prev,
                         const std::string& timestamp, const VersionPlan& plan,
                         std::vector<MappingPatch>* patches) {
  const NewVersion& version = *plan.version;
  // committed stays False until everything is written, as in the Python library.
  VH5_RETURN_IF_ERROR(WriteAttribute(group, Attribute{layout::kCommittedAttr, "False", "|b1"}));
  VH5_RETURN_IF_ERROR(WriteAttribute(group, Attribute{layout::kPrevVersionAttr, prev, ""}));
  VH5_RETURN_IF_ERROR(WriteAttribute(group, Attribute{layout::kTimestampAttr, timestamp, ""}));
  h5::Handle lcpl = h5::IntermediateGroups();
  for (const NewGroup& g : version.groups) {
    if (g.path.empty()) {  // the version's root group
      for (const Attribute& a : g.attrs) VH5_RETURN_IF_ERROR(WriteAttribute(group, a));
      continue;
    }
    h5::Handle sub;
    if (h5::LinkExists(group, g.path)) {
      VH5_ASSIGN_OR_RETURN(sub, OpenCheckedGroup(group, g.path));
    } else {
      sub = h5::Handle(H5Gcreate2(group, g.path.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT));
    }
    if (!sub) return h5::Error("cannot create group " + g.path);
    for (const Attribute& a : g.attrs) VH5_RETURN_IF_ERROR(WriteAttribute(sub.get(), a));
  }
  std::vector<const std::string*> linked;
  for (const DatasetPlan& dataset : plan.datasets) {
    if (dataset.keep == DatasetPlan::Keep::kObject) {
      linked.push_back(&dataset.dataset->path);
      continue;
    }
    VH5_RETURN_IF_ERROR(
        WriteDataset(file, group, prev, dataset, patches, plan.hash_tables, plan.chunk_indexes));
  }
  VH5_RETURN_IF_ERROR(LinkFromBase(file, group, prev, std::move(linked)));
  return WriteAttribute(group, Attribute{layout::kCommittedAttr, "True", "|b1"});
}

Status Write(hid_t file_id, const std::string& path, const VersionPlan& plan,
             std::vector<MappingPatch>* patches) {
  const NewVersion& version = *plan.version;
  VH5_RETURN_IF_ERROR(ValidateVersionName(version.name));
  std::string timestamp = version.timestamp.empty() ? NowTimestamp() : version.timestamp;
  if (!ParseTimestamp(timestamp))
    return Status::InvalidArgument("timestamp \"" + timestamp + "\" is not of the form " +
                                   "2024-01-01 13:00:00.000001+0000");
  if (!h5::LinkExists(file_id, layout::kVersionsGroup))
    return Status::NotVersioned(path + ": an HDF5 file without versioned data");
  VH5_ASSIGN_OR_RETURN(h5::Handle versions, OpenCheckedGroup(file_id, layout::kVersionsGroup));
  VH5_ASSIGN_OR_RETURN(int64_t data_version, layout::ReadDataVersion(versions.get()));
  if (data_version > layout::kDataVersion)
    return Status::Unsupported("data_version " + std::to_string(data_version) +
                               " is newer than this vh5fs knows");
  if (data_version < layout::kDataVersion) VH5_RETURN_IF_ERROR(UpgradeToDataVersion4(file_id));
  if (h5::LinkExists(versions.get(), version.name))
    return Status::Exists("version " + version.name + " already exists");
  std::string prev = version.prev_version;
  if (prev.empty()) {
    VH5_ASSIGN_OR_RETURN(prev,
                         h5::ReadStringAttribute(versions.get(), layout::kCurrentVersionAttr));
  }
  if (!h5::LinkExists(versions.get(), prev))
    return Status::NotFound("previous version " + prev + " does not exist");

  h5::Handle gcpl = VersionGroupCreation(version);
  h5::Handle group(
      H5Gcreate2(versions.get(), version.name.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT));
  if (!group) return h5::Error("cannot create version " + version.name);
  Status written = WriteVersionGroup(file_id, group.get(), prev, timestamp, plan, patches);
  if (!written.ok()) {
    // Unlink the unfinished version so that its name stays free; chunks it
    // already appended stay unreferenced.
    group.Reset();
    H5Ldelete(versions.get(), version.name.c_str(), H5P_DEFAULT);
    h5::TakeErrorStack();
    return written;
  }
  if (version.make_current)
    VH5_RETURN_IF_ERROR(
        WriteAttribute(versions.get(), Attribute{layout::kCurrentVersionAttr, version.name, ""}));
  if (H5Fflush(file_id, H5F_SCOPE_GLOBAL) < 0) return h5::Error("cannot flush " + path);
  return Status::OK();
}

}  // namespace

Status WriteVersion(hid_t file, const std::string& path, const VersionPlan& plan,
                    std::vector<MappingPatch>* patches) {
  h5::SilenceAutomaticErrorPrinting();
  h5::RegisterLzfFilter();
  Status s = Write(file, path, plan, patches);
  return s.ok() ? s : s.WithContext(path + ": version " + plan.version->name);
}

Status ValidateVersionName(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name == kFirstVersionName ||
      name.find('/') != std::string::npos || name.find('\0') != std::string::npos)
    return Status::InvalidArgument("\"" + name + "\" is not a valid version name");
  return Status::OK();
}

Status CreateVersionedFile(const std::string& path) {
  h5::SilenceAutomaticErrorPrinting();
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return Status::Exists(path + " already exists");
  h5::Handle file(H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT));
  if (!file) return h5::Error(path + ": cannot create");
  h5::Handle lcpl = h5::IntermediateGroups();
  h5::Handle versions(
      H5Gcreate2(file.get(), layout::kVersionsGroup, lcpl.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!versions) return h5::Error(path + ": cannot create " + layout::kVersionsGroup);
  h5::Handle first(
      H5Gcreate2(versions.get(), kFirstVersionName, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!first) return h5::Error(path + ": cannot create the first version");
  VH5_RETURN_IF_ERROR(WriteAttribute(
      versions.get(), Attribute{layout::kCurrentVersionAttr, kFirstVersionName, ""}));
  VH5_RETURN_IF_ERROR(
      WriteAttribute(first.get(), Attribute{layout::kTimestampAttr, NowTimestamp(), ""}));
  VH5_RETURN_IF_ERROR(WriteAttribute(
      versions.get(),
      Attribute{layout::kDataVersionAttr, std::to_string(layout::kDataVersion), "<i8"}));
  return Status::OK();
}

}  // namespace vh5
