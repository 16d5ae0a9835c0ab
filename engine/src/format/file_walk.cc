#include "format/file_walk.h"

#include <unordered_set>

#include "format/file_layout.h"
#include "format/object_check.h"
#include "hdf5/h5_handle.h"

namespace vh5 {
namespace {

herr_t CollectHardLink(hid_t, const char* name, const H5L_info_t* info, void* data) {
  if (info->type == H5L_TYPE_HARD) static_cast<std::vector<std::string>*>(data)->emplace_back(name);
  return 0;
}

herr_t CollectAddressedHardLink(hid_t, const char* name, const H5L_info_t* info, void* data) {
  if (info->type == H5L_TYPE_HARD)
    static_cast<std::vector<HardLink>*>(data)->push_back({name, info->u.address});
  return 0;
}

// Groups already walked, by header address: a hard link back to an
// ancestor (or a group linked twice) is walked once, not forever.
using Walked = std::unordered_set<uint64_t>;

// Searches the group at `path` (relative to /_version_data), `depth` levels
// down, unless it was searched already.
void FindDataGroups(hid_t file, const std::string& path, int depth, Walked* walked,
                    std::vector<std::string>* out) {
  std::string full = layout::DataGroupPath(path);
  Result<h5::Handle> group = OpenCheckedGroup(file, full);
  H5O_info_t self;
  if (!group.ok() || H5Oget_info2(group->get(), &self, H5O_INFO_BASIC) < 0 ||
      !walked->insert(self.addr).second) {
    h5::TakeErrorStack();
    return;
  }
  if (h5::LinkExists(file, full + "/raw_data")) {
    out->push_back(path);
    return;
  }
  if (depth >= kMaxGroupDepth) return;
  for (const std::string& child : HardLinks(group->get())) {
    H5O_info_t info;
    if (!GuardPathOrPushError(group->get(), child) ||
        H5Oget_info_by_name2(group->get(), child.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
      h5::TakeErrorStack();
      continue;
    }
    if (info.type == H5O_TYPE_GROUP)
      FindDataGroups(file, path + "/" + child, depth + 1, walked, out);
  }
}

}  // namespace

std::vector<std::string> HardLinks(hid_t group) {
  std::vector<std::string> names;
  hsize_t idx = 0;
  if (H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &idx, CollectHardLink, &names) < 0)
    h5::TakeErrorStack();
  return names;
}

Result<std::vector<HardLink>> AddressedHardLinks(hid_t group) {
  std::vector<HardLink> links;
  hsize_t idx = 0;
  if (H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &idx, CollectAddressedHardLink, &links) < 0)
    return h5::Error("cannot list a group");
  return links;
}

std::vector<std::string> DataGroupPaths(hid_t file) {
  std::vector<std::string> paths;
  Result<h5::Handle> data = OpenCheckedGroup(file, layout::kDataGroup);
  if (!data.ok()) return paths;
  Walked walked;
  for (const std::string& child : HardLinks(data->get()))
    if (child != "versions") FindDataGroups(file, child, 1, &walked, &paths);
  return paths;
}

namespace {

void Visit(hid_t group, const std::string& prefix, int depth, const TreeVisitor& visit,
           Walked* walked, std::vector<NotEntered>* not_entered) {
  for (const std::string& name : HardLinks(group)) {
    std::string path = prefix.empty() ? name : prefix + "/" + name;
    H5O_info_t info;
    if (!GuardPathOrPushError(group, name) ||
        H5Oget_info_by_name2(group, name.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
      visit(path, group, name, H5O_TYPE_UNKNOWN);
      continue;
    }
    visit(path, group, name, info.type);
    if (info.type != H5O_TYPE_GROUP) continue;
    if (!walked->insert(info.addr).second) {
      not_entered->push_back({path, kLinkedAgain});
      continue;
    }
    if (depth + 1 >= kMaxGroupDepth) {
      not_entered->push_back({path, kNestedTooDeep});
      continue;
    }
    h5::Handle sub(H5Gopen2(group, name.c_str(), H5P_DEFAULT));
    if (sub) Visit(sub.get(), path, depth + 1, visit, walked, not_entered);
  }
}

}  // namespace

const char kLinkedAgain[] = "a group linked a second time (a cycle, or two paths to it)";
static_assert(kMaxGroupDepth == 512, "kNestedTooDeep names the limit");
const char kNestedTooDeep[] = "groups nested deeper than 512 levels";

std::vector<NotEntered> VisitTree(hid_t group, const TreeVisitor& visit) {
  Walked walked;
  H5O_info_t info;
  if (H5Oget_info2(group, &info, H5O_INFO_BASIC) >= 0) walked.insert(info.addr);
  std::vector<NotEntered> not_entered;
  Visit(group, "", 0, visit, &walked, &not_entered);
  return not_entered;
}

}  // namespace vh5
