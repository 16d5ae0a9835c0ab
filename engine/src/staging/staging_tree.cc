#include "staging/staging_tree.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <tuple>

#include "format/file_layout.h"
#include "hdf5/attribute_codec.h"
#include "hdf5/compression_spec.h"
#include "hdf5/dtype.h"
#include "hdf5/h5_handle.h"
#include "staging/staging_records.h"
#include "util/posix_file.h"
#include "vh5/shape.h"
#include "vh5/vlen_text.h"

namespace vh5 {
namespace {

// versioned-hdf5's chunk length of a 1-D dataset made without chunks
// (DEFAULT_CHUNK_SIZE), whatever the dtype.
constexpr uint64_t kDefaultChunkElements = 4096;

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    std::string part(path.substr(pos, slash == std::string_view::npos ? slash : slash - pos));
    if (!part.empty()) parts.push_back(part);
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return parts;
}

bool SameTrailingDims(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  return a.size() == b.size() && std::equal(a.begin() + 1, a.end(), b.begin() + 1);
}

// The same attributes (names are unique), whatever their order.
bool SameAttributes(const Attributes& a, const Attributes& b) {
  if (a.size() != b.size()) return false;
  auto key = [](const Attribute& x) { return std::tie(x.name, x.text, x.type); };
  auto by_name = [](const Attribute& x, const Attribute& y) { return x.name < y.name; };
  Attributes x = a, y = b;
  std::sort(x.begin(), x.end(), by_name);
  std::sort(y.begin(), y.end(), by_name);
  return std::equal(x.begin(), x.end(), y.begin(),
                    [&](const Attribute& p, const Attribute& q) { return key(p) == key(q); });
}

// The chunks a new dataset gets until user.vh5.chunks says otherwise, as
// versioned-hdf5 chooses them: 1-D, kDefaultChunkElements. It requires
// chunks of N-D datasets; for those vh5fs takes h5py's own guess
// (chunks=True, h5py._hl.filters.guess_chunk): halve each axis in turn until
// the chunk is near a target that grows with the dataset (8 KiB to 1 MiB).
std::vector<uint64_t> AutoChunks(const std::vector<uint64_t>& shape, uint64_t item) {
  if (shape.size() <= 1) return {kDefaultChunkElements};
  constexpr double kBase = 16 << 10, kMin = 8 << 10, kMax = 1 << 20;
  std::vector<double> chunks;
  double elements = 1;
  for (uint64_t d : shape) {
    chunks.push_back(d == 0 ? 1024 : static_cast<double>(d));  // h5py's guess for 0
    elements *= chunks.back();
  }
  double typesize = static_cast<double>(std::max<uint64_t>(item, 1));
  double target =
      std::clamp(kBase * std::pow(2.0, std::log10(elements * typesize / (1 << 20))), kMin, kMax);
  for (size_t axis = 0;; axis = (axis + 1) % chunks.size()) {
    double count = 1;
    for (double c : chunks) count *= c;
    double bytes = count * typesize;
    if ((bytes < target || std::abs(bytes - target) / target < 0.5) && bytes < kMax) break;
    if (count == 1) break;  // one element is larger than kMax
    chunks[axis] = std::ceil(chunks[axis] / 2);
  }
  return std::vector<uint64_t>(chunks.begin(), chunks.end());
}

// Writes are refused past this offset (1 TiB): a typo in dd's seek= must
// not become a dataset nobody can commit.
constexpr uint64_t kMaxContentBytes = uint64_t{1} << 40;

// A shape of `item`-byte elements must hold at most kMaxContentBytes, its
// element count computed without wrapping (4294967296,4294967296 is 2^64,
// not 0).
Status CheckShapeBytes(const std::vector<uint64_t>& shape, uint64_t item,
                       const std::string& where) {
  uint64_t bytes = std::max<uint64_t>(item, 1);
  bool empty = false;
  for (uint64_t d : shape) empty |= d == 0;
  if (empty) return Status::OK();
  for (uint64_t d : shape) {
    if (bytes > kMaxContentBytes / d)
      return Status::InvalidArgument(where + ": a shape of more than 1 TiB");
    bytes *= d;
  }
  return Status::OK();
}

// Bytes of one element of the fill value, repeated, `len` of them.
void FillElements(const std::string& fill, uint64_t item, char* out, uint64_t count) {
  if (fill.size() != item || fill.find_first_not_of('\0') == std::string::npos) {
    std::memset(out, 0, count * item);
    return;
  }
  for (uint64_t i = 0; i < count; ++i) std::memcpy(out + i * item, fill.data(), item);
}

// Copies the part of one axis-0 row shared by both shapes (dimensions 1 and
// up) from `from` (laid out by `old_shape`) to `to` (laid out by `shape`).
void CopyRowOverlap(const char* from, char* to, const std::vector<uint64_t>& old_shape,
                    const std::vector<uint64_t>& shape, uint64_t item, size_t dim = 1) {
  uint64_t n = std::min(old_shape[dim], shape[dim]);
  if (dim + 1 == shape.size()) {
    std::memcpy(to, from, n * item);
    return;
  }
  uint64_t old_stride = Product(std::span(old_shape).subspan(dim + 1)) * item;
  uint64_t stride = Product(std::span(shape).subspan(dim + 1)) * item;
  for (uint64_t i = 0; i < n; ++i)
    CopyRowOverlap(from + i * old_stride, to + i * stride, old_shape, shape, item, dim + 1);
}

std::string DimsText(const std::vector<uint64_t>& dims) {
  std::string out;
  for (size_t i = 0; i < dims.size(); ++i) out += (i ? "," : "") + std::to_string(dims[i]);
  return out;
}

// A name a node can have in a group.
Status CheckName(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos)
    return Status::InvalidArgument("staging: bad name " + std::string(name));
  return Status::OK();
}

}  // namespace

StagingTree::StagingTree(std::shared_ptr<const Version> base, std::string scratch_dir)
    : base_(std::move(base)),
      scratch_(std::make_shared<ScratchFile>(scratch_dir)),
      base_name_(base_ ? base_->info().name : kFirstVersionName),
      scratch_dir_(std::move(scratch_dir)) {
  root_ = MirrorBase(base_, nullptr);
}

std::unique_ptr<StagingTree::Node> StagingTree::NewNode(NodeKind kind) {
  auto node = std::make_unique<Node>();
  node->id = next_id_++;
  node->kind = kind;
  nodes_[node->id] = node.get();
  return node;
}

StagingTree::Node* StagingTree::Attach(Node* parent, std::string_view name,
                                       std::unique_ptr<Node> node) {
  node->parent = parent;
  node->name = std::string(name);
  Node* attached = node.get();
  parent->children[node->name] = std::move(node);
  return attached;
}

void StagingTree::Drop(std::unique_ptr<Node> node) {
  std::vector<std::unique_ptr<Node>> pending;
  pending.push_back(std::move(node));
  while (!pending.empty()) {
    std::unique_ptr<Node> n = std::move(pending.back());
    pending.pop_back();
    for (auto& [name, child] : n->children) pending.push_back(std::move(child));
    n->children.clear();
    n->parent = nullptr;  // children may outlive it: nothing follows their parent pointers here
    if (n->id == 0) continue;  // its id went to a node of a rebuilt tree
    if (n->holds == 0) {
      nodes_.erase(n->id);
      continue;
    }
    // Read from the base while it is still this node's: a rebuilt tree
    // may have another. A node that cannot be read says so when used.
    (void)Load(n.get());
    NodeId id = n->id;
    detached_[id] = std::move(n);
  }
}

std::unique_ptr<StagingTree::Node> StagingTree::MirrorBase(
    const std::shared_ptr<const Version>& base, Node* old_root) {
  auto root = std::make_unique<Node>();
  root->id = Staging::kRootId;
  root->from_base = base != nullptr;
  if (old_root) {
    root->holds = old_root->holds;
    old_root->id = 0;
    old_root->holds = 0;
  }
  nodes_[root->id] = root.get();
  if (!base) {
    root->attrs = Attributes{};
    return root;
  }
  // Names and kinds only; data stays in the base.
  std::vector<std::pair<Node*, Node*>> pending = {{root.get(), old_root}};
  while (!pending.empty()) {
    auto [node, old] = pending.back();
    pending.pop_back();
    Result<std::vector<DirEntry>> children = base->List(node->origin);
    if (!children.ok()) continue;
    for (const DirEntry& e : *children) {
      Node* old_child = nullptr;
      if (old) {
        auto it = old->children.find(e.name);
        if (it != old->children.end() && it->second->kind == e.kind) old_child = it->second.get();
      }
      std::unique_ptr<Node> child;
      if (old_child) {
        // The kernel's inode of this path, and its open files, go on naming it.
        child = std::make_unique<Node>();
        child->id = old_child->id;
        child->kind = e.kind;
        child->holds = old_child->holds;
        old_child->id = 0;
        old_child->holds = 0;
        nodes_[child->id] = child.get();
      } else {
        child = NewNode(e.kind);
      }
      child->from_base = true;
      child->origin = node->origin.empty() ? e.name : node->origin + "/" + e.name;
      Node* attached = Attach(node, e.name, std::move(child));
      if (e.kind == NodeKind::kGroup) pending.push_back({attached, old_child});
    }
  }
  return root;
}

Status StagingTree::Load(Node* node) const {
  if (node->loaded()) return Status::OK();
  if (node->kind == NodeKind::kDataset && !node->info) {
    VH5_ASSIGN_OR_RETURN(node->base_dataset, base_->OpenDataset(node->origin));
    node->info = node->base_dataset->info();
    node->aligned_with_base = true;
  }
  if (!node->attrs) {
    if (node->kind == NodeKind::kDataset) {
      node->attrs = node->info->attrs;
    } else {
      VH5_ASSIGN_OR_RETURN(node->attrs, base_->GetAttributes(node->origin));
    }
  }
  return Status::OK();
}

bool StagingTree::IsAttached(const Node* node) const {
  return node->parent != nullptr || node == root_.get();
}

std::string StagingTree::PathOf(const Node* node) const {
  if (!IsAttached(node)) return node->name;
  std::vector<const std::string*> names;
  for (const Node* n = node; n->parent; n = n->parent) names.push_back(&n->name);
  std::string path;
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    if (!path.empty()) path += '/';
    path += **it;
  }
  return path;
}

std::string StagingTree::Where(const Node* node) const {
  if (!IsAttached(node)) return "staging: " + node->name + " (removed)";
  return "staging: /" + PathOf(node);
}

std::string StagingTree::Where(const Node* parent, std::string_view name) const {
  std::string path = PathOf(parent);
  return "staging: /" + (path.empty() ? std::string(name) : path + "/" + std::string(name));
}

Result<StagingTree::Node*> StagingTree::Find(NodeId id) const {
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return Status::NotFound("staging: no node " + std::to_string(id));
  Node* node = it->second;
  // A detached node's origin may be in a base the tree no longer has.
  if (!IsAttached(node) && !node->loaded())
    return Status::IOError(Where(node) + ": removed before it could be read");
  VH5_RETURN_IF_ERROR(Load(node));
  return node;
}

Result<StagingTree::Node*> StagingTree::FindDataset(NodeId id) const {
  VH5_ASSIGN_OR_RETURN(Node * node, Find(id));
  if (node->kind != NodeKind::kDataset) return Status::IsADirectory(Where(node));
  return node;
}

Result<StagingTree::Node*> StagingTree::ParentGroup(NodeId parent, std::string_view name) const {
  VH5_RETURN_IF_ERROR(CheckName(name));
  VH5_ASSIGN_OR_RETURN(Node * node, Find(parent));
  if (node->kind != NodeKind::kGroup) return Status::NotADirectory(Where(node));
  // A removed group takes no new names, as a removed directory.
  if (!IsAttached(node)) return Status::NotFound(Where(node));
  return node;
}

Result<StagingTree::NodeId> StagingTree::Lookup(NodeId parent, std::string_view name) const {
  auto it = nodes_.find(parent);
  if (it == nodes_.end()) return Status::NotFound("staging: no node " + std::to_string(parent));
  const Node* node = it->second;
  if (node->kind != NodeKind::kGroup) return Status::NotADirectory(Where(node));
  auto child = node->children.find(std::string(name));
  if (child == node->children.end()) return Status::NotFound(Where(node, name));
  return child->second->id;
}

Result<StagingTree::NodeId> StagingTree::Resolve(std::string_view path) const {
  NodeId id = Staging::kRootId;
  for (const std::string& part : SplitPath(path)) {
    Result<NodeId> child = Lookup(id, part);
    if (!child.ok()) {
      if (child.status().code() == Status::Code::kNotADirectory)
        return Status::NotADirectory("staging: /" + std::string(path));
      return Status::NotFound("staging: /" + std::string(path));
    }
    id = *child;
  }
  return id;
}

Status StagingTree::ResolveParent(std::string_view path, NodeId* parent, std::string* leaf) const {
  std::vector<std::string> parts = SplitPath(path);
  if (parts.empty()) return Status::InvalidArgument("staging: the root has no parent");
  *leaf = parts.back();
  std::string parent_path;
  for (size_t i = 0; i + 1 < parts.size(); ++i) parent_path += parts[i] + "/";
  VH5_ASSIGN_OR_RETURN(*parent, Resolve(parent_path));
  return Status::OK();
}

bool StagingTree::Attached(NodeId id) const {
  auto it = nodes_.find(id);
  return it != nodes_.end() && IsAttached(it->second);
}

Status StagingTree::Hold(NodeId id) {
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return Status::NotFound("staging: no node " + std::to_string(id));
  ++it->second->holds;
  return Status::OK();
}

void StagingTree::Release(NodeId id) {
  auto it = nodes_.find(id);
  if (it == nodes_.end() || it->second->holds == 0) return;
  if (--it->second->holds > 0) return;
  // The last holder of a detached node: its pages go back to the scratch file.
  auto detached = detached_.find(id);
  if (detached == detached_.end()) return;
  nodes_.erase(it);
  detached_.erase(detached);
}

Result<NodeKind> StagingTree::Kind(NodeId id) const {
  VH5_ASSIGN_OR_RETURN(Node * node, Find(id));
  return node->kind;
}

Result<std::vector<DirEntry>> StagingTree::List(NodeId id) const {
  VH5_ASSIGN_OR_RETURN(Node * node, Find(id));
  if (node->kind != NodeKind::kGroup) return Status::NotADirectory(Where(node));
  std::vector<DirEntry> out;
  out.reserve(node->children.size());
  for (const auto& [name, child] : node->children) out.push_back({name, child->kind});
  return out;
}

Result<DatasetInfo> StagingTree::Info(NodeId id) const {
  VH5_ASSIGN_OR_RETURN(Node * node, FindDataset(id));
  DatasetInfo info = *node->info;
  info.attrs = *node->attrs;
  return info;
}

Result<uint64_t> StagingTree::Size(NodeId id) const {
  VH5_ASSIGN_OR_RETURN(Node * node, FindDataset(id));
  return node->source().size();
}

Result<size_t> StagingTree::Read(NodeId id, uint64_t offset, size_t len, char* out) const {
  VH5_ASSIGN_OR_RETURN(Node * node, FindDataset(id));
  return node->source().Read(offset, len, out);
}

Result<Attributes> StagingTree::GetAttributes(NodeId id) const {
  VH5_ASSIGN_OR_RETURN(Node * node, Find(id));
  return *node->attrs;
}

Result<StagingTree::NodeId> StagingTree::Mkdir(NodeId parent_id, std::string_view name) {
  VH5_ASSIGN_OR_RETURN(Node * parent, ParentGroup(parent_id, name));
  if (parent->children.count(std::string(name))) return Status::Exists(Where(parent, name));
  std::unique_ptr<Node> made = NewNode(NodeKind::kGroup);
  made->attrs = Attributes{};
  Node* node = Attach(parent, name, std::move(made));
  changed_ = true;
  Log(static_cast<uint8_t>(RecordType::kPlace),
      Encode(PlaceRecord{PathOf(node), NodeKind::kGroup, false, ""}));
  VH5_RETURN_IF_ERROR(Persist(Durability::kWritten));
  return node->id;
}

Status StagingTree::Rmdir(NodeId parent_id, std::string_view name) {
  return Remove(parent_id, name, NodeKind::kGroup);
}

Status StagingTree::Remove(NodeId parent_id, std::string_view name, NodeKind kind) {
  VH5_ASSIGN_OR_RETURN(Node * parent, ParentGroup(parent_id, name));
  auto it = parent->children.find(std::string(name));
  if (it == parent->children.end()) return Status::NotFound(Where(parent, name));
  if (it->second->kind != kind)
    return kind == NodeKind::kGroup ? Status::NotADirectory(Where(parent, name))
                                    : Status::IsADirectory(Where(parent, name));
  if (!it->second->children.empty()) return Status::NotEmpty(Where(parent, name) + " is not empty");
  std::string path = PathOf(it->second.get());
  std::unique_ptr<Node> removed = std::move(it->second);
  parent->children.erase(it);
  Drop(std::move(removed));
  changed_ = true;
  Log(static_cast<uint8_t>(RecordType::kRemove), Encode(PathRecord{path, ""}));
  return Persist(Durability::kWritten);
}

Result<StagingTree::NodeId> StagingTree::CreateDataset(NodeId parent_id, std::string_view name) {
  VH5_ASSIGN_OR_RETURN(Node * parent, ParentGroup(parent_id, name));
  if (parent->children.count(std::string(name))) return Status::Exists(Where(parent, name));
  std::unique_ptr<Node> made = NewNode(NodeKind::kDataset);
  made->is_new = true;
  made->auto_chunks = true;
  made->attrs = Attributes{};
  DatasetInfo info;
  info.dtype = DType{"|u1", 1, false};
  info.shape = {0};
  info.chunks = AutoChunks(info.shape, info.dtype.itemsize);
  info.fill_bytes = std::string(1, '\0');
  info.fill_text = "0";
  info.compression = "none";
  made->content = std::make_shared<StagedContent>(nullptr, scratch_, info.fill_bytes, false);
  made->info = info;
  made->valid_shape = info.shape;
  made->unwritten = true;
  // At a path the file already has data for (`rm f; cat > f`, tar), it is
  // that dataset again unless its xattrs say otherwise.
  DatasetInfo adopted;
  std::optional<Attributes> adopted_attrs;
  std::string path = PathOf(parent);
  path = path.empty() ? std::string(name) : path + "/" + std::string(name);
  bool adopting = false;
  if (!replaying_) {
    Result<bool> found = PlanAdoption(made.get(), path, nullptr, &adopted, &adopted_attrs);
    if (!found.ok()) return found.status();
    adopting = *found;
  }
  Node* node = Attach(parent, name, std::move(made));
  changed_ = true;
  // Replaying the record makes this very node: its content is the log's already.
  Log(static_cast<uint8_t>(RecordType::kPlace),
      Encode(PlaceRecord{PathOf(node), NodeKind::kDataset, false, ""}));
  if (adopting) Adopt(node, std::move(adopted), std::move(adopted_attrs));
  VH5_RETURN_IF_ERROR(Persist(Durability::kWritten));
  return node->id;
}

Status StagingTree::Unlink(NodeId parent_id, std::string_view name) {
  return Remove(parent_id, name, NodeKind::kDataset);
}

Status StagingTree::Rename(NodeId parent_id, std::string_view name, NodeId new_parent_id,
                           std::string_view new_name) {
  VH5_ASSIGN_OR_RETURN(Node * from_parent, ParentGroup(parent_id, name));
  VH5_ASSIGN_OR_RETURN(Node * to_parent, ParentGroup(new_parent_id, new_name));
  auto it = from_parent->children.find(std::string(name));
  if (it == from_parent->children.end()) return Status::NotFound(Where(from_parent, name));
  Node* node = it->second.get();
  for (const Node* n = to_parent; n; n = n->parent)
    if (n == node) return Status::InvalidArgument("staging: cannot move a group into itself");
  // Load what the node needs from the base while its origin is still valid.
  VH5_RETURN_IF_ERROR(Load(node));
  auto target = to_parent->children.find(std::string(new_name));
  if (target != to_parent->children.end()) {
    if (target->second.get() == node) return Status::OK();
    bool from_group = node->kind == NodeKind::kGroup;
    bool to_group = target->second->kind == NodeKind::kGroup;
    if (from_group && !to_group) return Status::NotADirectory(Where(to_parent, new_name));
    if (!from_group && to_group) return Status::IsADirectory(Where(to_parent, new_name));
    if (to_group && !target->second->children.empty())
      return Status::NotEmpty(Where(to_parent, new_name) + " is not empty");
  }
  // A new dataset renamed over another (rsync, editors' safe save) becomes
  // that dataset with new content; any dataset must be storable there.
  DatasetInfo adopted;
  std::optional<Attributes> adopted_attrs;
  bool adopting = false;
  if (node->kind == NodeKind::kDataset && !replaying_) {
    std::string to_path = PathOf(to_parent);
    to_path = to_path.empty() ? std::string(new_name) : to_path + "/" + std::string(new_name);
    Node* replaced = target != to_parent->children.end() ? target->second.get() : nullptr;
    if (replaced) VH5_RETURN_IF_ERROR(Load(replaced));
    // Still being written: its close checks it, the commit tells.
    bool open_writes = node->content && node->content->modified();
    if (node->is_new && !open_writes) {
      Result<bool> found = PlanAdoption(node, to_path, replaced, &adopted, &adopted_attrs);
      if (!found.ok()) return found.status();
      adopting = *found;
    } else if (!open_writes) {
      VH5_RETURN_IF_ERROR(CheckStorable(to_path, node->info->dtype.numpy, node->info->chunks));
    }
  }
  std::string from = PathOf(node);
  std::unique_ptr<Node> moved = std::move(it->second);
  from_parent->children.erase(it);
  std::unique_ptr<Node> replaced;
  if (target != to_parent->children.end()) {
    replaced = std::move(target->second);
    to_parent->children.erase(target);
  }
  Attach(to_parent, new_name, std::move(moved));
  if (replaced) Drop(std::move(replaced));
  changed_ = true;
  Log(static_cast<uint8_t>(RecordType::kMove), Encode(PathRecord{from, PathOf(node)}));
  if (adopting) Adopt(node, std::move(adopted), std::move(adopted_attrs));
  return Persist(Durability::kWritten);
}
Result<std::optional<DatasetInfo>> StagingTree::StoredLayout(const std::string& path) const {
  if (!base_) return std::optional<DatasetInfo>();
  return base_->StoredLayout(path);
}

Status StagingTree::CheckStorable(const std::string& path, const std::string& dtype,
                                  const std::vector<uint64_t>& chunks) const {
  VH5_ASSIGN_OR_RETURN(std::optional<DatasetInfo> stored, StoredLayout(path));
  return CheckStorableIn(stored, path, dtype, chunks);
}

Status StagingTree::CheckStorableIn(const std::optional<DatasetInfo>& stored,
                                    const std::string& path, const std::string& dtype,
                                    const std::vector<uint64_t>& chunks) {
  if (!stored) return Status::OK();
  std::string why;
  if (!dtype.empty() && dtype != stored->dtype.numpy)
    why = "dtype " + dtype + ", where the file stores " + stored->dtype.numpy;
  else if (!chunks.empty() && chunks != stored->chunks)
    why = "chunks " + DimsText(chunks) + ", where the file stores chunks of " +
          DimsText(stored->chunks);
  if (why.empty()) return Status::OK();
  return Status::InvalidArgument("staging: /" + path + ": " + why +
                                 " (versioned-hdf5 keeps one raw_data per path)");
}

Result<bool> StagingTree::PlanAdoption(const Node* node, const std::string& path,
                                       const Node* replaced, DatasetInfo* out,
                                       std::optional<Attributes>* attrs) const {
  const DatasetInfo& now = *node->info;
  *out = now;
  attrs->reset();
  std::string where = "staging: /" + path;
  // What the file has at `path`: the dataset replaced, the base's, or only raw_data.
  std::shared_ptr<const Dataset> base_dataset;
  const DatasetInfo* from = nullptr;
  const Attributes* from_attrs = nullptr;
  if (replaced && replaced->kind == NodeKind::kDataset && replaced->info) {
    from = &*replaced->info;
    from_attrs = replaced->attrs ? &*replaced->attrs : nullptr;
  } else if (base_) {
    Result<NodeKind> kind = base_->Kind(path);
    if (kind.ok() && *kind == NodeKind::kDataset) {
      VH5_ASSIGN_OR_RETURN(base_dataset, base_->OpenDataset(path));
      from = &base_dataset->info();
      from_attrs = &from->attrs;
    }
  }
  VH5_ASSIGN_OR_RETURN(std::optional<DatasetInfo> stored, StoredLayout(path));
  if (!from && stored) from = &*stored;
  uint32_t set = node->explicit_bits;
  // A dtype set explicitly to another type: nothing of that dataset applies.
  if (!from || ((set & kSetDtype) && now.dtype.numpy != from->dtype.numpy)) {
    VH5_RETURN_IF_ERROR(CheckStorableIn(stored, path, now.dtype.numpy,
                                        (set & kSetChunks) ? now.chunks : std::vector<uint64_t>{}));
    return false;
  }
  DatasetInfo& info = *out;
  info.dtype = from->dtype;
  if (!(set & kSetFill)) {
    info.fill_bytes = from->fill_bytes;
    info.fill_text = from->fill_text;
  }
  if (!(set & kSetCompression)) info.compression = from->compression;
  if (!(set & kSetChunks)) info.chunks = from->chunks;
  if (!(set & kSetAttrs) && from_attrs) *attrs = *from_attrs;
  VH5_RETURN_IF_ERROR(CheckStorableIn(stored, path, info.dtype.numpy, info.chunks));
  if (set & kSetShape) return true;
  // The shape: rows of the dataset's row size, as many as the bytes hold.
  // Only raw_data: its rows' width is unknown, so 1-D until user.vh5.shape says.
  std::vector<uint64_t> shape = from->shape.empty() ? std::vector<uint64_t>{0} : from->shape;
  uint64_t size = node->source().size();
  uint64_t count = size;  // bytes, or lines of variable-length strings
  uint64_t item = info.dtype.itemsize;
  if (info.dtype.is_vlen_string) {
    std::string text(size, '\0');
    VH5_ASSIGN_OR_RETURN(size_t n, node->source().Read(0, size, text.data()));
    text.resize(n);
    Result<std::vector<std::string>> lines = DecodeLines(text);
    if (!lines.ok()) return lines.status().WithContext(where);
    count = lines->size();
    item = 1;
  }
  auto fits = [&](const std::vector<uint64_t>& s) {
    uint64_t row = item * RowElements(s);
    return row == 0 ? count == 0 : count % row == 0;
  };
  // Another size, in rows of an N-D dataset: an earlier version of exactly
  // that size (a resized dataset copied back from it) says the width
  // better than the rows it has now; rows of that width that fit come next.
  bool same_size = !from->shape.empty() && item * Product(from->shape) == count;
  if (shape.size() > 1 && !same_size) {
    std::optional<std::vector<uint64_t>> earlier = EarlierShape(path, info.dtype, count, item);
    if (earlier && (item * Product(*earlier) == count || !fits(shape))) shape = *earlier;
  }
  if (!fits(shape))
    return Status::InvalidArgument(where + ": " + std::to_string(size) +
                                   " bytes are not whole rows of the dataset there (" +
                                   info.dtype.numpy + ", " + DimsText(shape) + ")");
  uint64_t row = item * RowElements(shape);
  if (row != 0) shape[0] = count / row;
  info.shape = shape;
  return true;
}

std::optional<std::vector<uint64_t>> StagingTree::EarlierShape(const std::string& path,
                                                               const DType& dtype, uint64_t count,
                                                               uint64_t item) const {
  if (!find_version_ || !base_) return std::nullopt;
  std::optional<std::vector<uint64_t>> divides;
  std::string name = base_->info().prev_version;
  // Bounded: a lookup of at most this many versions' trees.
  for (int steps = 0; steps < 64 && name != kFirstVersionName; ++steps) {
    Result<std::shared_ptr<const Version>> version = find_version_(name);
    if (!version.ok()) break;
    Result<NodeKind> kind = (*version)->Kind(path);
    if (kind.ok() && *kind == NodeKind::kDataset) {
      Result<std::shared_ptr<const Dataset>> dataset = (*version)->OpenDataset(path);
      if (dataset.ok() && (*dataset)->info().dtype.numpy == dtype.numpy) {
        const std::vector<uint64_t>& shape = (*dataset)->info().shape;
        uint64_t row = item * RowElements(shape);
        if (!shape.empty() && row != 0 && count % row == 0) {
          if (row * shape[0] == count) return shape;  // its very size
          if (!divides) divides = shape;
        }
      }
    }
    name = (*version)->info().prev_version;
  }
  return divides;
}

void StagingTree::Adopt(Node* node, DatasetInfo info, std::optional<Attributes> attrs) {
  // Its chunks are that dataset's now: they no longer follow the shape.
  node->auto_chunks = false;
  bool same = info.dtype.numpy == node->info->dtype.numpy && info.shape == node->info->shape &&
              info.chunks == node->info->chunks && info.fill_bytes == node->info->fill_bytes &&
              info.compression == node->info->compression;
  if (!same) {
    node->info = std::move(info);
    if (node->content) {
      node->content->SetFill(node->info->fill_bytes);
      node->content->Checkpoint();
    }
    node->valid_shape = node->info->shape;
    LogDataset(node);
  }
  if (attrs) {
    node->attrs = std::move(*attrs);
    LogAttributes(node);
  }
}

std::shared_ptr<ScratchFile> StagingTree::ScratchFor(const Node* node) {
  if (IsAttached(node) || !durable()) return scratch_;
  // Not the state's pages: a rebase may start that file afresh while a
  // detached dataset still reads its pages.
  if (!detached_scratch_) detached_scratch_ = std::make_shared<ScratchFile>(DirName(state_dir_));
  return detached_scratch_;
}

Status StagingTree::Materialize(Node* node) {
  if (node->content) return Status::OK();
  const DatasetInfo& info = *node->info;
  // Comparing writes with the base pays when the base reads without
  // decompressing (strings are rendered in memory already).
  bool cheap_base = info.dtype.is_vlen_string || info.compression == "none";
  node->content = std::make_shared<StagedContent>(node->base_dataset, ScratchFor(node),
                                                  info.fill_bytes, cheap_base);
  node->content_new = true;
  node->valid_shape = info.shape;
  return Status::OK();
}

Status StagingTree::Regrid(Node* node, const std::vector<uint64_t>& shape) {
  const DatasetInfo& info = *node->info;
  const std::vector<uint64_t>& old_shape = info.shape;
  uint64_t item = info.dtype.itemsize;
  uint64_t old_row = item * RowElements(old_shape), new_row = item * RowElements(shape);
  auto regridded =
      std::make_shared<StagedContent>(nullptr, ScratchFor(node), info.fill_bytes, false);
  VH5_RETURN_IF_ERROR(regridded->Truncate(shape[0] * new_row));
  // Row batches of a few MiB: the data streams through, never whole in memory.
  uint64_t rows = std::min(old_shape[0], shape[0]);
  uint64_t batch =
      std::max<uint64_t>(1, (4 << 20) / std::max<uint64_t>(1, std::max(old_row, new_row)));
  std::vector<char> in;
  std::string out;
  for (uint64_t first = 0; first < rows; first += batch) {
    uint64_t n = std::min(batch, rows - first);
    in.resize(n * old_row);
    out.resize(n * new_row);
    VH5_RETURN_IF_ERROR(node->content->Read(first * old_row, in.size(), in.data()).status());
    FillElements(info.fill_bytes, item, out.data(), n * new_row / item);
    for (uint64_t r = 0; r < n; ++r)
      CopyRowOverlap(in.data() + r * old_row, out.data() + r * new_row, old_shape, shape, item);
    // A short write means the scratch disk is full: the retry reports it.
    for (size_t done = 0; done < out.size();) {
      VH5_ASSIGN_OR_RETURN(
          size_t n, regridded->Write(first * new_row + done, std::string_view(out).substr(done)));
      done += n;
    }
  }
  regridded->Checkpoint();
  node->content = std::move(regridded);
  node->content_new = true;
  node->aligned_with_base = false;
  return Status::OK();
}

Result<size_t> StagingTree::Write(NodeId id, uint64_t offset, std::string_view data) {
  VH5_ASSIGN_OR_RETURN(Node * node, FindDataset(id));
  if (offset > kMaxContentBytes || data.size() > kMaxContentBytes - offset)
    return Status::InvalidArgument(Where(node) + ": a write past 1 TiB");
  bool attached = IsAttached(node);
  if (attached) VH5_RETURN_IF_ERROR(EnsureState().WithContext(Where(node)));
  VH5_RETURN_IF_ERROR(Materialize(node));
  changed_ |= attached;
  node->unwritten = false;
  Result<size_t> written = node->content->Write(offset, data);
  if (!written.ok()) return written.status().WithContext(Where(node));
  return written;
}

Status StagingTree::Truncate(NodeId id, uint64_t size) {
  VH5_ASSIGN_OR_RETURN(Node * node, FindDataset(id));
  if (size > kMaxContentBytes) return Status::InvalidArgument(Where(node) + ": a size past 1 TiB");
  bool attached = IsAttached(node);
  if (attached) VH5_RETURN_IF_ERROR(EnsureState().WithContext(Where(node)));
  VH5_RETURN_IF_ERROR(Materialize(node));
  changed_ |= attached;
  return node->content->Truncate(size).WithContext(Where(node));
}

Status StagingTree::FillRange(NodeId id, uint64_t offset, uint64_t len) {
  VH5_ASSIGN_OR_RETURN(Node * node, FindDataset(id));
  if (offset > kMaxContentBytes || len > kMaxContentBytes - offset)
    return Status::InvalidArgument(Where(node) + ": a range past 1 TiB");
  const DatasetInfo& info = *node->info;
  uint64_t item = info.dtype.itemsize;
  uint64_t row = item * RowElements(info.shape);
  // Part of a row, or part of a line, has no fill value of its own.
  if (info.dtype.is_vlen_string || row == 0 || offset % row != 0 || len % row != 0)
    return Status::Unsupported(Where(node) + ": only whole rows can be filled");
  bool attached = IsAttached(node);
  if (attached) VH5_RETURN_IF_ERROR(EnsureState().WithContext(Where(node)));
  VH5_RETURN_IF_ERROR(Materialize(node));
  changed_ |= attached;
  // Persisted as writes are: with the content, at the next Flush.
  std::string fill(std::min<uint64_t>(len, std::max<uint64_t>(row, 1 << 20) / row * row), '\0');
  FillElements(info.fill_bytes, item, fill.data(), fill.size() / item);
  for (uint64_t done = 0; done < len;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(fill.size(), len - done));
    Result<size_t> written = node->content->Write(offset + done, std::string_view(fill.data(), n));
    if (!written.ok()) return written.status().WithContext(Where(node));
    if (*written == 0) return Status::NoSpace(Where(node) + ": the scratch disk is full");
    done += *written;
  }
  return Status::OK();
}

Status StagingTree::Flush(NodeId id) {
  VH5_ASSIGN_OR_RETURN(Node * node, Find(id));
  bool checkpointed = false;
  VH5_RETURN_IF_ERROR(FlushNode(node, &checkpointed));
  Status persisted;
  if (checkpointed) {
    LogDataset(node);
    // Written, not synced: a kill of the process keeps it, fsync(2) (Sync)
    // makes it survive a crash of the machine.
    persisted = Persist(Durability::kWritten);
  }
  VH5_RETURN_IF_ERROR(persisted);
  // Chunks set ahead of a shape of their rank: by the close, the shape must be there.
  if (node->kind == NodeKind::kDataset && node->info->chunks.size() != node->info->shape.size())
    return Status::InvalidArgument(
        Where(node) + ": user.vh5.chunks " + DimsText(node->info->chunks) +
        " has another rank than its shape " + DimsText(node->info->shape) + ": set user.vh5.shape");
  return Status::OK();
}

Status StagingTree::FlushNode(Node* node, bool* checkpointed) {
  // Nothing written since the last close: the content is that close's, checked then.
  if (node->kind != NodeKind::kDataset || !node->content || !node->content->modified())
    return Status::OK();
  DatasetInfo& info = *node->info;
  StagedContent& content = *node->content;
  // A new dataset's row width that nobody set (taken after the dataset at
  // its path) gives way to bytes of another width: 1-D until a shape is set.
  bool width_open = node->is_new && !(node->explicit_bits & kSetShape) && info.shape.size() > 1;
  Status refused;
  if (info.dtype.is_vlen_string) {
    std::string text(content.size(), '\0');
    VH5_RETURN_IF_ERROR(content.Read(0, text.size(), text.data()).status());
    Result<std::vector<std::string>> lines = DecodeLines(text);
    if (!lines.ok()) {
      refused = lines.status();
    } else {
      // Whole rows of lines, as bytes are whole rows of a fixed-size type.
      uint64_t row = RowElements(info.shape);
      if (row != 0 && lines->size() % row == 0)
        info.shape[0] = lines->size() / row;
      else if (width_open)
        info.shape = {lines->size()};
      else if (row != 0 || !lines->empty())
        refused = Status::InvalidArgument(std::to_string(lines->size()) +
                                          " lines are not whole rows of " + std::to_string(row));
    }
  } else {
    uint64_t item = info.dtype.itemsize;
    uint64_t row = item * RowElements(info.shape);
    if (row != 0 && content.size() % row == 0) {
      info.shape[0] = content.size() / row;
    } else if (width_open && item != 0 && content.size() % item == 0) {
      info.shape = {content.size() / item};
    } else {
      refused = Status::InvalidArgument(std::to_string(content.size()) +
                                        " bytes are not a whole number of rows of " +
                                        std::to_string(row) + " bytes");
    }
  }
  if (!refused.ok()) {
    content.Rollback();
    info.shape = node->valid_shape;
    return refused.WithContext(Where(node));
  }
  if (node->auto_chunks) info.chunks = AutoChunks(info.shape, info.dtype.itemsize);
  content.Checkpoint();
  node->valid_shape = info.shape;
  *checkpointed = true;
  return Status::OK();
}

namespace {

// The version group's own attributes cannot be the user's.
Status CheckAttributeName(bool root, const std::string& name) {
  if (name.empty()) return Status::InvalidArgument("staging: an attribute needs a name");
  if (root && (name == layout::kPrevVersionAttr || name == layout::kTimestampAttr ||
               name == layout::kCommittedAttr))
    return Status::InvalidArgument("staging: " + name +
                                   " is reserved on a version's root (see user.vh5.*)");
  return Status::OK();
}

}  // namespace

void StagingTree::Changed(const Node* node) { changed_ |= IsAttached(node); }

Status StagingTree::SetAttributeText(NodeId id, const std::string& name, const std::string& text) {
  VH5_RETURN_IF_ERROR(CheckAttributeName(id == Staging::kRootId, name));
  VH5_ASSIGN_OR_RETURN(Node * node, Find(id));
  auto it = std::find_if(node->attrs->begin(), node->attrs->end(),
                         [&](const Attribute& a) { return a.name == name; });
  if (it != node->attrs->end()) {
    it->text = text;
  } else {
    node->attrs->push_back(Attribute{name, text, ""});
  }
  node->explicit_bits |= kSetAttrs;
  Changed(node);
  LogAttributes(node);
  return Persist(Durability::kWritten);
}

Status StagingTree::SetAttributeType(NodeId id, const std::string& name, const std::string& type) {
  VH5_RETURN_IF_ERROR(CheckAttributeName(id == Staging::kRootId, name));
  VH5_ASSIGN_OR_RETURN(Node * node, Find(id));
  // The value is checked against it at the commit: either may come first.
  VH5_RETURN_IF_ERROR(CheckAttributeType(type).WithContext(Where(node) + ": " + name));
  auto it = std::find_if(node->attrs->begin(), node->attrs->end(),
                         [&](const Attribute& a) { return a.name == name; });
  if (it != node->attrs->end()) {
    it->type = type;
  } else {
    node->attrs->push_back(Attribute{name, "", type});
  }
  node->explicit_bits |= kSetAttrs;
  Changed(node);
  LogAttributes(node);
  return Persist(Durability::kWritten);
}

Status StagingTree::RemoveAttribute(NodeId id, const std::string& name) {
  VH5_ASSIGN_OR_RETURN(Node * node, Find(id));
  auto it = std::find_if(node->attrs->begin(), node->attrs->end(),
                         [&](const Attribute& a) { return a.name == name; });
  if (it == node->attrs->end()) return Status::NotFound("staging: no attribute " + name);
  node->attrs->erase(it);
  node->explicit_bits |= kSetAttrs;
  Changed(node);
  LogAttributes(node);
  return Persist(Durability::kWritten);
}

template <typename Change>
Status StagingTree::ChangeMetadata(NodeId id, const char* key, Change&& change) {
  VH5_ASSIGN_OR_RETURN(Node * node, Find(id));
  std::string where = Where(node) + ": user.vh5." + key;
  if (node->kind != NodeKind::kDataset) return Status::InvalidArgument(where + " on a group");
  if (IsAttached(node)) VH5_RETURN_IF_ERROR(EnsureState());
  bool flushed = false;
  Status s = change(node, where, &flushed);
  if (!s.ok() && !flushed) return s;
  // Shape and dtype changes move the checkpoint, as a close does.
  LogDataset(node);
  Status persisted = Persist(Durability::kWritten);
  return s.ok() ? persisted : s;
}

Status StagingTree::SetShape(NodeId id, const std::vector<uint64_t>& shape) {
  return ChangeMetadata(id, "shape", [&](Node* node, const std::string& where, bool* flushed) {
    if (shape.empty()) return Status::InvalidArgument(where + ": no dimensions");
    const DatasetInfo& info = *node->info;
    if (!node->auto_chunks && info.chunks.size() != shape.size())
      return Status::InvalidArgument(where + ": " + DimsText(shape) + " has another rank than " +
                                     "user.vh5.chunks " + DimsText(info.chunks));
    if (node->is_new && node->unwritten) {
      VH5_RETURN_IF_ERROR(ShapeAhead(node, shape).WithContext(where));
      node->explicit_bits |= kSetShape;
      return Status::OK();
    }
    // Writes not yet closed (cp -a sets xattrs before close) count as they stand.
    if (node->content) {
      Status s = FlushNode(node, flushed);
      if (!s.ok()) return s.WithContext(where);
    }
    VH5_RETURN_IF_ERROR(ApplyShape(node, shape, where));
    if (node->is_new) node->explicit_bits |= kSetShape;
    return Status::OK();
  });
}

Status StagingTree::ShapeAhead(Node* node, const std::vector<uint64_t>& shape) {
  DatasetInfo& info = *node->info;
  uint64_t item = info.dtype.itemsize;
  VH5_RETURN_IF_ERROR(CheckShapeBytes(shape, item, "the shape " + DimsText(shape)));
  VH5_RETURN_IF_ERROR(Materialize(node));
  StagedContent& content = *node->content;
  VH5_RETURN_IF_ERROR(content.Truncate(0));
  if (info.dtype.is_vlen_string) {
    // Empty strings, one line each, for the lines to come to overwrite.
    std::string lines(Product(shape), '\n');
    for (size_t done = 0; done < lines.size();) {
      VH5_ASSIGN_OR_RETURN(size_t n, content.Write(done, std::string_view(lines).substr(done)));
      done += n;
    }
  } else {
    VH5_RETURN_IF_ERROR(content.Truncate(Product(shape) * item));
  }
  info.shape = shape;
  if (node->auto_chunks) info.chunks = AutoChunks(shape, item);
  content.Checkpoint();
  node->valid_shape = shape;
  node->aligned_with_base = false;
  Changed(node);
  return Status::OK();
}

Status StagingTree::ApplyShape(Node* node, const std::vector<uint64_t>& shape,
                               const std::string& where) {
  DatasetInfo& info = *node->info;
  if (shape.empty()) return Status::InvalidArgument(where + ": no dimensions");
  if (shape == info.shape) return Status::OK();
  uint64_t item = info.dtype.itemsize;
  VH5_RETURN_IF_ERROR(CheckShapeBytes(shape, item, where));
  if (info.dtype.is_vlen_string) {
    // Lines are elements in C order: another rank of the same count reshapes.
    if (Product(shape) != Product(info.shape))
      return Status::Unsupported(where + ": resizing variable-length strings to " +
                                 DimsText(shape));
  } else if (shape.size() != info.shape.size() ||
             (node->is_new && !(node->explicit_bits & kSetShape) &&
              Product(shape) * item == node->source().size())) {
    // Another rank, or a first shape given to bytes whose width nobody set
    // (cp -a sets it after the bytes): the same bytes, read in C order.
    uint64_t size = node->source().size();
    if (Product(shape) * item != size)
      return Status::InvalidArgument(where + ": " + DimsText(shape) + " does not fit " +
                                     std::to_string(size) + " bytes");
  } else if (SameTrailingDims(shape, info.shape)) {
    // Rows added or removed at the end: every other byte stays put.
    VH5_RETURN_IF_ERROR(Materialize(node));
    VH5_RETURN_IF_ERROR(node->content->Truncate(shape[0] * item * RowElements(shape)));
  } else {
    VH5_RETURN_IF_ERROR(Materialize(node));
    VH5_RETURN_IF_ERROR(Regrid(node, shape).WithContext(where));
  }
  info.shape = shape;
  if (node->auto_chunks) info.chunks = AutoChunks(shape, item);
  if (node->content) node->content->Checkpoint();
  node->valid_shape = shape;
  Changed(node);
  return Status::OK();
}

Status StagingTree::SetDtype(NodeId id, const std::string& dtype) {
  return ChangeMetadata(id, "dtype", [&](Node* node, const std::string& where, bool* flushed) {
    if (node->is_new && IsAttached(node))
      VH5_RETURN_IF_ERROR(CheckStorable(PathOf(node), dtype, {}).WithContext("user.vh5.dtype"));
    if (node->content && !node->unwritten) {
      Status s = FlushNode(node, flushed);
      if (!s.ok()) return s.WithContext(where);
    }
    VH5_RETURN_IF_ERROR(ApplyDtype(node, dtype, where));
    if (node->is_new) node->explicit_bits |= kSetDtype;
    return Status::OK();
  });
}

Status StagingTree::ApplyDtype(Node* node, const std::string& value, const std::string& where) {
  DatasetInfo& info = *node->info;
  if (value == info.dtype.numpy) return Status::OK();
  if (!node->is_new)
    return Status::Unsupported(where +
                               ": the dtype of a dataset already in the file cannot change");
  VH5_ASSIGN_OR_RETURN(h5::Handle type, TypeFromNumpy(value));
  VH5_ASSIGN_OR_RETURN(DType dtype, DescribeType(type.get()));
  VH5_RETURN_IF_ERROR(Materialize(node));
  StagedContent& content = *node->content;
  uint64_t size = content.size();
  if (node->unwritten && (node->explicit_bits & kSetShape)) {
    // A shape set ahead of the bytes stays: the elements to come change type.
    Result<std::string> fill = ParseElement(dtype.numpy, info.fill_text);
    info.fill_bytes = dtype.is_vlen_string ? std::string()
                      : fill.ok()          ? *fill
                                           : std::string(dtype.itemsize, '\0');
    info.fill_text.clear();
    if (!dtype.is_vlen_string) {
      VH5_ASSIGN_OR_RETURN(info.fill_text, ElementToText(type.get(), info.fill_bytes.data()));
    }
    info.dtype = dtype;
    content.SetFill(info.fill_bytes);
    return ShapeAhead(node, std::vector<uint64_t>(info.shape)).WithContext(where);
  }
  if (dtype.is_vlen_string) {
    std::string text(size, '\0');
    VH5_RETURN_IF_ERROR(content.Read(0, size, text.data()).status());
    Result<std::vector<std::string>> lines = DecodeLines(text);
    if (!lines.ok()) return lines.status().WithContext(where);
    info.shape = {lines->size()};
    info.fill_bytes.clear();
    info.fill_text.clear();
  } else {
    VH5_RETURN_IF_ERROR(CheckShapeBytes(
        std::vector<uint64_t>(info.shape.begin() + 1, info.shape.end()), dtype.itemsize, where));
    uint64_t row = dtype.itemsize * RowElements(info.shape);
    // A row of no bytes (a trailing dimension of 0) holds only nothing.
    if (row == 0 ? size != 0 : size % row != 0)
      return Status::InvalidArgument(where + ": " + std::to_string(size) +
                                     " bytes are not whole elements of " + value);
    if (row != 0) info.shape[0] = size / row;
    // The fill value keeps its meaning in the new type when it can.
    Result<std::string> fill = ParseElement(dtype.numpy, info.fill_text);
    info.fill_bytes = fill.ok() ? *fill : std::string(dtype.itemsize, '\0');
    VH5_ASSIGN_OR_RETURN(info.fill_text, ElementToText(type.get(), info.fill_bytes.data()));
  }
  info.dtype = dtype;
  if (node->auto_chunks) info.chunks = AutoChunks(info.shape, dtype.itemsize);
  content.SetFill(info.fill_bytes);
  content.Checkpoint();
  node->valid_shape = info.shape;
  Changed(node);
  return Status::OK();
}

Status StagingTree::SetChunks(NodeId id, const std::vector<uint64_t>& chunks) {
  return ChangeMetadata(id, "chunks", [&](Node* node, const std::string& where, bool*) {
    DatasetInfo& info = *node->info;
    if (chunks.empty()) return Status::InvalidArgument(where + ": no dimensions");
    if (chunks == info.chunks) return Status::OK();
    if (!node->is_new)
      return Status::Unsupported(where +
                                 ": the chunks of a dataset already in the file cannot change");
    if (RankSettled(node) && chunks.size() != info.shape.size())
      return Status::InvalidArgument(where + ": " + DimsText(chunks) +
                                     " has another rank than the shape " + DimsText(info.shape));
    if (IsAttached(node)) VH5_RETURN_IF_ERROR(CheckStorable(PathOf(node), "", chunks));
    // Readers refuse chunks past 1 GiB (HDF5 allocates one whole to read it).
    uint64_t chunk_bytes = std::max<uint64_t>(1, info.dtype.itemsize);
    for (uint64_t c : chunks) {
      if (c == 0) return Status::InvalidArgument(where + ": a chunk dimension of 0");
      if (chunk_bytes > (uint64_t{1} << 30) / c)
        return Status::InvalidArgument(where + ": chunks of more than 1 GiB");
      chunk_bytes *= c;
    }
    info.chunks = chunks;
    node->auto_chunks = false;
    node->explicit_bits |= kSetChunks;
    Changed(node);
    return Status::OK();
  });
}

Status StagingTree::SetFillValue(NodeId id, const std::string& fill) {
  return ChangeMetadata(id, "fillvalue", [&](Node* node, const std::string& where, bool*) {
    DatasetInfo& info = *node->info;
    if (fill == info.fill_text) return Status::OK();
    if (!node->is_new)
      return Status::Unsupported(where +
                                 ": the fill value of a dataset already in the file cannot change");
    VH5_ASSIGN_OR_RETURN(std::string bytes, ParseElement(info.dtype.numpy, fill));
    info.fill_bytes = bytes;
    info.fill_text = fill;
    if (node->content) node->content->SetFill(bytes);
    node->explicit_bits |= kSetFill;
    Changed(node);
    return Status::OK();
  });
}

Status StagingTree::SetCompression(NodeId id, const std::string& compression) {
  return ChangeMetadata(id, "compression", [&](Node* node, const std::string& where, bool*) {
    DatasetInfo& info = *node->info;
    if (compression == info.compression) return Status::OK();
    if (!node->is_new)
      return Status::Unsupported(
          where + ": the compression of a dataset already in the file cannot change");
    VH5_RETURN_IF_ERROR(ParseCompression(compression).status().WithContext(where));
    info.compression = compression;
    node->explicit_bits |= kSetCompression;
    Changed(node);
    return Status::OK();
  });
}

Status StagingTree::Plan(const std::string& name, NewVersion* out, VersionPlan* plan) const {
  NewVersion& version = *out;
  std::vector<DatasetPlan> kept;  // one per dataset, `dataset` set once `version` is whole
  version.name = name;
  version.prev_version = base_name_;
  version.timestamp = commit_timestamp_;
  version.make_current = make_current_;
  std::vector<std::pair<Node*, std::string>> pending = {{root_.get(), ""}};
  while (!pending.empty()) {
    auto [loaded, path] = pending.back();
    pending.pop_back();
    // A dataset nothing has loaded since the tree was made over its base is
    // the base's, attributes and all: linked as it is, never opened (a wide
    // version's untouched datasets cost neither reads nor memory).
    if (loaded->kind == NodeKind::kDataset && !loaded->info && !loaded->attrs && !loaded->content &&
        !loaded->is_new && loaded->origin == path) {
      NewDataset d;
      d.path = path;
      version.datasets.push_back(std::move(d));
      DatasetPlan keep;
      keep.keep = DatasetPlan::Keep::kObject;
      kept.push_back(std::move(keep));
      continue;
    }
    VH5_RETURN_IF_ERROR(Load(loaded));
    if (loaded->kind == NodeKind::kGroup) {
      version.groups.push_back(NewGroup{path, *loaded->attrs});
      for (const auto& [child_name, child] : loaded->children)
        pending.push_back({child.get(), path.empty() ? child_name : path + "/" + child_name});
      continue;
    }
    const DatasetInfo& info = *loaded->info;
    NewDataset d;
    d.path = path;
    d.dtype = info.dtype.numpy;
    d.shape = info.shape;
    d.chunks = info.chunks;
    d.fill_bytes = info.fill_bytes;
    d.compression = info.compression;
    d.attrs = *loaded->attrs;
    d.source = loaded->content ? std::static_pointer_cast<const ByteSource>(loaded->content)
                               : std::static_pointer_cast<const ByteSource>(loaded->base_dataset);
    bool at_base_path = !loaded->is_new && loaded->origin == path;
    const std::vector<uint64_t>* base_shape =
        at_base_path ? &loaded->base_dataset->info().shape : nullptr;
    DatasetPlan keep;
    // Unchanged and still at its base path: the commit copies its mappings.
    if (base_shape && info.shape == *base_shape &&
        (!loaded->content || loaded->content->SameAsBase())) {
      // Attributes as the base's too: the base's object itself is linked.
      keep.keep = SameAttributes(*loaded->attrs, loaded->base_dataset->info().attrs)
                      ? DatasetPlan::Keep::kObject
                      : DatasetPlan::Keep::kAll;
      version.datasets.push_back(std::move(d));
      kept.push_back(std::move(keep));
      continue;
    }
    if (info.dtype.is_vlen_string) {
      std::string text(d.source->size(), '\0');
      VH5_ASSIGN_OR_RETURN(size_t n, d.source->Read(0, text.size(), text.data()));
      text.resize(n);
      VH5_ASSIGN_OR_RETURN(d.strings, DecodeLines(text));
      d.source.reset();
    } else if (base_shape && loaded->aligned_with_base &&
               SameTrailingDims(info.shape, *base_shape)) {
      // Elements where they were: chunks no changed byte touches keep their mappings.
      keep.keep = DatasetPlan::Keep::kCleanCells;
      if (loaded->content) keep.dirty = loaded->content->ChangedRanges();
    }
    version.datasets.push_back(std::move(d));
    kept.push_back(std::move(keep));
  }
  plan->version = &version;
  plan->datasets = std::move(kept);
  for (size_t i = 0; i < version.datasets.size(); ++i)
    plan->datasets[i].dataset = &version.datasets[i];
  return Status::OK();
}

}  // namespace vh5
