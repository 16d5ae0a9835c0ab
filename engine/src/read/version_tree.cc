#include "read/version_tree.h"

#include <algorithm>
#include <unordered_set>

#include "format/file_layout.h"
#include "format/file_walk.h"
#include "format/object_check.h"
#include "hdf5/attributes.h"
#include "read/version_dataset.h"

namespace vh5 {
namespace {

std::string Normalize(std::string_view path) {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  return std::string(path);
}

}  // namespace

Result<std::shared_ptr<VersionTree>> VersionTree::Load(std::shared_ptr<FileCore> core,
                                                       VersionInfo info) {
  h5::SilenceAutomaticErrorPrinting();
  auto tree = std::shared_ptr<VersionTree>(new VersionTree(std::move(core), std::move(info)));
  DiskRead disk(tree->core_->access, DiskRead::Kind::kMetadata,
                tree->core_->path + ": version " + tree->info_.name);
  VH5_RETURN_IF_ERROR(disk.status());
  std::string group_path = layout::VersionPath(tree->info_.name);
  VH5_ASSIGN_OR_RETURN(h5::Handle group, OpenCheckedGroup(tree->core_->file.get(), group_path));
  std::unordered_set<uint64_t> walked;
  Status s = tree->Walk(group.get(), "", 0, &walked);
  if (!s.ok()) return s.WithContext(tree->core_->path + ": version " + tree->info_.name);
  return tree;
}

VersionTree::~VersionTree() { MemoryCache::Process().Forget(cache_owner_); }

uint64_t VersionTree::MemoryBytes() const {
  auto text = [](const std::string& s) { return sizeof(std::string) + s.capacity() + 16; };
  uint64_t bytes = sizeof(VersionTree) + nodes_.bucket_count() * sizeof(void*);
  for (const auto& [path, node] : nodes_) {
    bytes += 32 + text(path) + sizeof(Node);  // a hash node each
    for (const DirEntry& e : node.children) bytes += sizeof(DirEntry) + e.name.capacity();
    for (const Attribute& a : node.attrs) bytes += text(a.name) + text(a.text) + text(a.type);
  }
  return bytes;
}

Status VersionTree::Walk(hid_t group, const std::string& path, int depth,
                         std::unordered_set<uint64_t>* walked) {
  H5O_info_t self;
  if (H5Oget_info2(group, &self, H5O_INFO_BASIC) < 0)
    return h5::Error("cannot inspect group /" + path);
  // A group linked twice would be walked again for every path to it: forever
  // through a cycle, exponentially through a chain of double links.
  if (!walked->insert(self.addr).second)
    return Status::Corruption("/" + path + ": " + kLinkedAgain);
  if (depth >= kMaxGroupDepth) return Status::Corruption("/" + path + ": " + kNestedTooDeep);
  Result<std::vector<HardLink>> listed = AddressedHardLinks(group);
  if (!listed.ok()) return listed.status().WithContext("/" + path);
  const std::vector<HardLink>& links = *listed;
  Node node{NodeKind::kGroup, {}, {}};
  if (depth == 0) {
    VH5_ASSIGN_OR_RETURN(node.attrs,
                         ReadAttributes(group, {layout::kPrevVersionAttr, layout::kTimestampAttr,
                                                layout::kCommittedAttr}));
  } else {
    VH5_ASSIGN_OR_RETURN(node.attrs, ReadAttributes(group));
  }
  // Each child by the address its link gives: looked up by name (twice,
  // with the check) it cost a third of a commit on a 10,000-dataset version.
  std::shared_ptr<ObjectChecker> checker = CheckerFor(group);
  for (const HardLink& link : links) {
    const std::string& name = link.name;
    std::string child = path.empty() ? name : path + "/" + name;
    H5O_type_t type = H5O_TYPE_UNKNOWN;
    if (checker) {
      Result<ObjectChecker::Kind> kind = checker->CheckedKind(link.address);
      if (!kind.ok()) return kind.status().WithContext("/" + child);
      type = *kind == ObjectChecker::Kind::kGroup     ? H5O_TYPE_GROUP
             : *kind == ObjectChecker::Kind::kDataset ? H5O_TYPE_DATASET
                                                      : H5O_TYPE_NAMED_DATATYPE;
    } else {
      H5O_info_t info;
      if (H5Oget_info_by_name2(group, name.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
        return h5::Error("cannot inspect " + path + "/" + name);
      type = info.type;
    }
    if (type == H5O_TYPE_GROUP) {
      h5::Handle sub(H5Gopen2(group, name.c_str(), H5P_DEFAULT));
      if (!sub) return h5::Error("cannot open group " + child);
      VH5_RETURN_IF_ERROR(Walk(sub.get(), child, depth + 1, walked));
      node.children.push_back({name, NodeKind::kGroup});
    } else if (type == H5O_TYPE_DATASET) {
      nodes_.emplace(child, Node{NodeKind::kDataset, {}, {}});
      node.children.push_back({name, NodeKind::kDataset});
    }
  }
  nodes_.emplace(path, std::move(node));
  return Status::OK();
}

std::string VersionTree::Context(std::string_view path) const {
  return core_->path + ": version " + info_.name + ": /" + std::string(path);
}

Result<const VersionTree::Node*> VersionTree::Find(std::string_view path) const {
  std::string key = Normalize(path);
  auto it = nodes_.find(key);
  if (it != nodes_.end()) return &it->second;
  // A path through a dataset is "not a directory", as in any filesystem.
  for (size_t slash = key.find('/'); slash != std::string::npos; slash = key.find('/', slash + 1)) {
    auto parent = nodes_.find(key.substr(0, slash));
    if (parent != nodes_.end() && parent->second.kind == NodeKind::kDataset)
      return Status::NotADirectory(Context(path));
  }
  return Status::NotFound(Context(path));
}

Result<NodeKind> VersionTree::Kind(std::string_view path) const {
  VH5_ASSIGN_OR_RETURN(const Node* node, Find(path));
  return node->kind;
}

Result<std::vector<DirEntry>> VersionTree::List(std::string_view path) const {
  VH5_ASSIGN_OR_RETURN(const Node* node, Find(path));
  if (node->kind != NodeKind::kGroup) return Status::NotADirectory(Context(path));
  return node->children;
}

Result<Attributes> VersionTree::GetAttributes(std::string_view path) const {
  VH5_ASSIGN_OR_RETURN(const Node* node, Find(path));
  if (node->kind == NodeKind::kGroup) return node->attrs;
  VH5_ASSIGN_OR_RETURN(std::shared_ptr<const Dataset> dataset, OpenDataset(path));
  return dataset->info().attrs;
}

Result<std::optional<DatasetInfo>> VersionTree::StoredLayout(std::string_view path) const {
  std::string raw_path = layout::RawDataPath(path);
  // Held across Raw(), as OpenDataset does: the same lock order everywhere.
  DiskRead disk(core_->access, DiskRead::Kind::kMetadata, core_->path);
  VH5_RETURN_IF_ERROR(disk.status());
  if (!h5::LinkExists(core_->file.get(), raw_path)) return std::optional<DatasetInfo>();
  VH5_ASSIGN_OR_RETURN(std::shared_ptr<RawData> raw, core_->Raw(raw_path));
  VH5_ASSIGN_OR_RETURN(DatasetInfo info, raw->Layout());
  return std::optional<DatasetInfo>(std::move(info));
}

Result<std::shared_ptr<const Dataset>> VersionTree::OpenDataset(std::string_view path) const {
  VH5_ASSIGN_OR_RETURN(const Node* node, Find(path));
  if (node->kind != NodeKind::kDataset) return Status::IsADirectory(Context(path));
  std::string key = Normalize(path);
  MemoryCache& cache = MemoryCache::Process();
  if (std::shared_ptr<const Dataset> hit = cache.Get<Dataset>(cache_owner_, key)) return hit;
  // Two threads missing the same dataset both load it; the second insert wins.
  std::string full = layout::VersionPath(info_.name, key);
  FileCore* core = core_.get();
  DiskRead disk(core->access, DiskRead::Kind::kMetadata, Context(path));
  VH5_RETURN_IF_ERROR(disk.status());
  int fd = core->fd ? core->fd->get() : -1;
  Result<std::shared_ptr<const Dataset>> dataset = LoadVersionDataset(
      core->file.get(), fd, full, [core](const std::string& raw) { return core->Raw(raw); });
  if (!dataset.ok()) return dataset.status().WithContext(core_->path + ": version " + info_.name);
  cache.Insert(cache_owner_, key, *dataset, DatasetMemoryBytes(**dataset));
  return dataset;
}

}  // namespace vh5
