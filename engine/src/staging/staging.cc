#include "vh5/staging.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "hdf5/attribute_codec.h"
#include "hdf5/compression_spec.h"
#include "hdf5/dtype.h"
#include "hdf5/h5_handle.h"
#include "staging/record_log.h"
#include "staging/scratch_file.h"
#include "staging/staged_content.h"
#include "staging/staging_node.h"
#include "staging/staging_records.h"
#include "vh5/shape.h"
#include "vh5/vlen_text.h"

namespace vh5 {
namespace {

// New datasets get chunks of about this size until user.vh5.chunks says otherwise.
constexpr uint64_t kAutoChunkBytes = 64 << 10;

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

}  // namespace

Staging::Staging(std::shared_ptr<const Version> base, std::string scratch_dir)
    : base_(std::move(base)),
      scratch_(std::make_shared<ScratchFile>(scratch_dir)),
      base_name_(base_ ? base_->info().name : kFirstVersionName),
      root_(std::make_unique<Node>()),
      scratch_dir_(std::move(scratch_dir)) {
  MirrorBase();
}

void Staging::MirrorBase() {
  root_ = std::make_unique<Node>();
  root_->from_base = base_ != nullptr;
  if (!base_) {
    root_->attrs = Attributes{};
    return;
  }
  // Mirror the base's tree: names and kinds only; data stays in the base.
  std::vector<std::pair<Node*, std::string>> pending = {{root_.get(), ""}};
  while (!pending.empty()) {
    auto [node, path] = pending.back();
    pending.pop_back();
    Result<std::vector<DirEntry>> children = base_->List(path);
    if (!children.ok()) continue;
    for (const DirEntry& e : *children) {
      auto child = std::make_unique<Node>();
      child->kind = e.kind;
      child->from_base = true;
      child->origin = path.empty() ? e.name : path + "/" + e.name;
      if (e.kind == NodeKind::kGroup) pending.push_back({child.get(), child->origin});
      node->children.emplace(e.name, std::move(child));
    }
  }
}

Result<Staging::Node*> Staging::Find(std::string_view path) const {
  Node* node = root_.get();
  for (const std::string& part : SplitPath(path)) {
    if (node->kind != NodeKind::kGroup)
      return Status::NotADirectory("staging: /" + std::string(path));
    auto it = node->children.find(part);
    if (it == node->children.end()) return Status::NotFound("staging: /" + std::string(path));
    node = it->second.get();
  }
  // Load a base dataset's metadata the first time it is needed.
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
  return node;
}

Result<Staging::Node*> Staging::Parent(std::string_view path, std::string* leaf) const {
  std::vector<std::string> parts = SplitPath(path);
  if (parts.empty()) return Status::InvalidArgument("staging: the root has no parent");
  *leaf = parts.back();
  if (*leaf == "." || *leaf == "..") return Status::InvalidArgument("staging: bad name " + *leaf);
  std::string parent_path;
  for (size_t i = 0; i + 1 < parts.size(); ++i) parent_path += parts[i] + "/";
  VH5_ASSIGN_OR_RETURN(Node * parent, Find(parent_path));
  if (parent->kind != NodeKind::kGroup)
    return Status::NotADirectory("staging: /" + std::string(path));
  return parent;
}

Result<NodeKind> Staging::Kind(std::string_view path) const {
  VH5_ASSIGN_OR_RETURN(Node * node, Find(path));
  return node->kind;
}

Result<std::vector<DirEntry>> Staging::List(std::string_view path) const {
  VH5_ASSIGN_OR_RETURN(Node * node, Find(path));
  if (node->kind != NodeKind::kGroup)
    return Status::NotADirectory("staging: /" + std::string(path));
  std::vector<DirEntry> out;
  for (const auto& [name, child] : node->children) out.push_back({name, child->kind});
  return out;
}

Result<DatasetInfo> Staging::Info(std::string_view path) const {
  VH5_ASSIGN_OR_RETURN(Node * node, Find(path));
  if (node->kind != NodeKind::kDataset)
    return Status::IsADirectory("staging: /" + std::string(path));
  DatasetInfo info = *node->info;
  info.attrs = *node->attrs;
  return info;
}

Result<uint64_t> Staging::Size(std::string_view path) const {
  VH5_ASSIGN_OR_RETURN(Node * node, Find(path));
  if (node->kind != NodeKind::kDataset)
    return Status::IsADirectory("staging: /" + std::string(path));
  return node->source().size();
}

Result<size_t> Staging::Read(std::string_view path, uint64_t offset, size_t len, char* out) const {
  VH5_ASSIGN_OR_RETURN(Node * node, Find(path));
  if (node->kind != NodeKind::kDataset)
    return Status::IsADirectory("staging: /" + std::string(path));
  return node->source().Read(offset, len, out);
}

Result<Attributes> Staging::GetAttributes(std::string_view path) const {
  VH5_ASSIGN_OR_RETURN(Node * node, Find(path));
  return *node->attrs;
}

Status Staging::Mkdir(std::string_view path) {
  std::string leaf;
  VH5_ASSIGN_OR_RETURN(Node * parent, Parent(path, &leaf));
  if (parent->children.count(leaf)) return Status::Exists("staging: /" + std::string(path));
  auto node = std::make_unique<Node>();
  node->attrs = Attributes{};
  parent->children.emplace(leaf, std::move(node));
  changed_ = true;
  Log(static_cast<uint8_t>(RecordType::kPlace),
      Encode(PlaceRecord{std::string(path), NodeKind::kGroup, false, ""}));
  return Persist(Durability::kWritten);
}

Status Staging::Rmdir(std::string_view path) {
  std::string leaf;
  VH5_ASSIGN_OR_RETURN(Node * parent, Parent(path, &leaf));
  auto it = parent->children.find(leaf);
  if (it == parent->children.end()) return Status::NotFound("staging: /" + std::string(path));
  if (it->second->kind != NodeKind::kGroup)
    return Status::NotADirectory("staging: /" + std::string(path));
  if (!it->second->children.empty())
    return Status::NotEmpty("staging: /" + std::string(path) + " is not empty");
  parent->children.erase(it);
  changed_ = true;
  Log(static_cast<uint8_t>(RecordType::kRemove), Encode(PathRecord{std::string(path), ""}));
  return Persist(Durability::kWritten);
}

Status Staging::CreateDataset(std::string_view path) {
  std::string leaf;
  VH5_ASSIGN_OR_RETURN(Node * parent, Parent(path, &leaf));
  if (parent->children.count(leaf)) return Status::Exists("staging: /" + std::string(path));
  auto node = std::make_unique<Node>();
  node->kind = NodeKind::kDataset;
  node->is_new = true;
  node->auto_chunks = true;
  node->attrs = Attributes{};
  DatasetInfo info;
  info.dtype = DType{"|u1", 1, false};
  info.shape = {0};
  info.chunks = {kAutoChunkBytes};
  info.fill_bytes = std::string(1, '\0');
  info.fill_text = "0";
  info.compression = "none";
  node->content = std::make_shared<StagedContent>(nullptr, scratch_, info.fill_bytes, false);
  node->info = info;
  node->valid_shape = info.shape;
  parent->children.emplace(leaf, std::move(node));
  changed_ = true;
  // Replaying the record makes this very node: its content is the log's already.
  Log(static_cast<uint8_t>(RecordType::kPlace),
      Encode(PlaceRecord{std::string(path), NodeKind::kDataset, false, ""}));
  return Persist(Durability::kWritten);
}

Status Staging::Unlink(std::string_view path) {
  std::string leaf;
  VH5_ASSIGN_OR_RETURN(Node * parent, Parent(path, &leaf));
  auto it = parent->children.find(leaf);
  if (it == parent->children.end()) return Status::NotFound("staging: /" + std::string(path));
  if (it->second->kind != NodeKind::kDataset)
    return Status::IsADirectory("staging: /" + std::string(path));
  parent->children.erase(it);
  changed_ = true;
  Log(static_cast<uint8_t>(RecordType::kRemove), Encode(PathRecord{std::string(path), ""}));
  return Persist(Durability::kWritten);
}

Status Staging::Rename(std::string_view from, std::string_view to) {
  VH5_RETURN_IF_ERROR(MoveNode(from, to));
  Log(static_cast<uint8_t>(RecordType::kMove),
      Encode(PathRecord{std::string(from), std::string(to)}));
  return Persist(Durability::kWritten);
}

Status Staging::MoveNode(std::string_view from, std::string_view to) {
  std::string from_leaf, to_leaf;
  VH5_ASSIGN_OR_RETURN(Node * from_parent, Parent(from, &from_leaf));
  VH5_ASSIGN_OR_RETURN(Node * to_parent, Parent(to, &to_leaf));
  auto it = from_parent->children.find(from_leaf);
  if (it == from_parent->children.end()) return Status::NotFound("staging: /" + std::string(from));
  std::string from_prefix = std::string(from) + "/";
  if (std::string(to).rfind(from_prefix, 0) == 0)
    return Status::InvalidArgument("staging: cannot move a group into itself");
  // Load what the node needs from the base while its origin is still valid.
  VH5_RETURN_IF_ERROR(Find(from).status());
  auto target = to_parent->children.find(to_leaf);
  if (target != to_parent->children.end()) {
    if (target->second.get() == it->second.get()) return Status::OK();
    bool from_group = it->second->kind == NodeKind::kGroup;
    bool to_group = target->second->kind == NodeKind::kGroup;
    if (from_group && !to_group) return Status::NotADirectory("staging: /" + std::string(to));
    if (!from_group && to_group) return Status::IsADirectory("staging: /" + std::string(to));
    if (to_group && !target->second->children.empty())
      return Status::NotEmpty("staging: /" + std::string(to) + " is not empty");
  }
  std::unique_ptr<Node> node = std::move(it->second);
  from_parent->children.erase(it);
  to_parent->children[to_leaf] = std::move(node);
  changed_ = true;
  return Status::OK();
}

Status Staging::Materialize(Node* node) {
  if (node->content) return Status::OK();
  const DatasetInfo& info = *node->info;
  // Comparing writes with the base pays when the base reads without
  // decompressing (strings are rendered in memory already).
  bool cheap_base = info.dtype.is_vlen_string || info.compression == "none";
  node->content =
      std::make_shared<StagedContent>(node->base_dataset, scratch_, info.fill_bytes, cheap_base);
  node->content_new = true;
  node->valid_shape = info.shape;
  return Status::OK();
}

Status Staging::Regrid(Node* node, const std::vector<uint64_t>& shape) {
  const DatasetInfo& info = *node->info;
  const std::vector<uint64_t>& old_shape = info.shape;
  uint64_t item = info.dtype.itemsize;
  uint64_t old_row = item * RowElements(old_shape), new_row = item * RowElements(shape);
  auto regridded = std::make_shared<StagedContent>(nullptr, scratch_, info.fill_bytes, false);
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

Result<size_t> Staging::Write(std::string_view path, uint64_t offset, std::string_view data) {
  VH5_ASSIGN_OR_RETURN(Node * node, Find(path));
  if (node->kind != NodeKind::kDataset)
    return Status::IsADirectory("staging: /" + std::string(path));
  if (offset > kMaxContentBytes || data.size() > kMaxContentBytes - offset)
    return Status::InvalidArgument("staging: /" + std::string(path) + ": a write past 1 TiB");
  VH5_RETURN_IF_ERROR(EnsureState().WithContext("staging: /" + std::string(path)));
  VH5_RETURN_IF_ERROR(Materialize(node));
  changed_ = true;
  Result<size_t> written = node->content->Write(offset, data);
  if (!written.ok()) return written.status().WithContext("staging: /" + std::string(path));
  return written;
}

Status Staging::Truncate(std::string_view path, uint64_t size) {
  VH5_ASSIGN_OR_RETURN(Node * node, Find(path));
  if (node->kind != NodeKind::kDataset)
    return Status::IsADirectory("staging: /" + std::string(path));
  if (size > kMaxContentBytes)
    return Status::InvalidArgument("staging: /" + std::string(path) + ": a size past 1 TiB");
  VH5_RETURN_IF_ERROR(EnsureState().WithContext("staging: /" + std::string(path)));
  VH5_RETURN_IF_ERROR(Materialize(node));
  changed_ = true;
  return node->content->Truncate(size).WithContext("staging: /" + std::string(path));
}

Status Staging::Flush(std::string_view path) {
  VH5_ASSIGN_OR_RETURN(Node * node, Find(path));
  bool checkpointed = false;
  VH5_RETURN_IF_ERROR(FlushNode(node, path, &checkpointed));
  if (!checkpointed) return Status::OK();
  LogDataset(path, node);
  // Written, not synced: a kill of the process keeps it, fsync(2) (Sync)
  // makes it survive a crash of the machine.
  return Persist(Durability::kWritten);
}

Status Staging::FlushNode(Node* node, std::string_view path, bool* checkpointed) {
  // Nothing written since the last close: the content is that close's, checked then.
  if (node->kind != NodeKind::kDataset || !node->content || !node->content->modified())
    return Status::OK();
  DatasetInfo& info = *node->info;
  StagedContent& content = *node->content;
  Status refused;
  if (info.dtype.is_vlen_string) {
    std::string text(content.size(), '\0');
    VH5_RETURN_IF_ERROR(content.Read(0, text.size(), text.data()).status());
    Result<std::vector<std::string>> lines = DecodeLines(text);
    if (!lines.ok()) {
      refused = lines.status();
    } else if (info.shape.size() == 1) {
      info.shape[0] = lines->size();
    } else if (lines->size() != Product(info.shape)) {
      refused = Status::InvalidArgument("not one line per element");
    }
  } else {
    uint64_t row = info.dtype.itemsize * RowElements(info.shape);
    if (row == 0 || content.size() % row != 0) {
      refused = Status::InvalidArgument(std::to_string(content.size()) +
                                        " bytes are not a whole number of rows of " +
                                        std::to_string(row) + " bytes");
    } else {
      info.shape[0] = content.size() / row;
    }
  }
  if (!refused.ok()) {
    content.Rollback();
    info.shape = node->valid_shape;
    return refused.WithContext("staging: /" + std::string(path));
  }
  if (node->auto_chunks) {
    info.chunks.assign(info.shape.size(), 0);
    for (size_t d = 1; d < info.shape.size(); ++d)
      info.chunks[d] = std::max<uint64_t>(1, info.shape[d]);
    uint64_t row =
        std::max<uint64_t>(1, std::max<uint64_t>(1, info.dtype.itemsize) * RowElements(info.shape));
    info.chunks[0] = std::max<uint64_t>(1, kAutoChunkBytes / row);
  }
  content.Checkpoint();
  node->valid_shape = info.shape;
  *checkpointed = true;
  return Status::OK();
}

// The version group's own attributes cannot be the user's.
Status CheckAttributeName(std::string_view path, const std::string& name) {
  if (name.empty()) return Status::InvalidArgument("staging: an attribute needs a name");
  if (SplitPath(path).empty() &&
      (name == "prev_version" || name == "timestamp" || name == "committed"))
    return Status::InvalidArgument("staging: " + name +
                                   " is reserved on a version's root (see user.vh5.*)");
  return Status::OK();
}

Status Staging::SetAttributeText(std::string_view path, const std::string& name,
                                 const std::string& text) {
  VH5_RETURN_IF_ERROR(CheckAttributeName(path, name));
  VH5_ASSIGN_OR_RETURN(Node * node, Find(path));
  auto it = std::find_if(node->attrs->begin(), node->attrs->end(),
                         [&](const Attribute& a) { return a.name == name; });
  if (it != node->attrs->end()) {
    it->text = text;
  } else {
    node->attrs->push_back(Attribute{name, text, ""});
  }
  changed_ = true;
  LogAttributes(path, node);
  return Persist(Durability::kWritten);
}

Status Staging::SetAttributeType(std::string_view path, const std::string& name,
                                 const std::string& type) {
  VH5_RETURN_IF_ERROR(CheckAttributeName(path, name));
  // The value is checked against it at the commit: either may come first.
  VH5_RETURN_IF_ERROR(
      CheckAttributeType(type).WithContext("staging: /" + std::string(path) + ": " + name));
  VH5_ASSIGN_OR_RETURN(Node * node, Find(path));
  auto it = std::find_if(node->attrs->begin(), node->attrs->end(),
                         [&](const Attribute& a) { return a.name == name; });
  if (it != node->attrs->end()) {
    it->type = type;
  } else {
    node->attrs->push_back(Attribute{name, "", type});
  }
  changed_ = true;
  LogAttributes(path, node);
  return Persist(Durability::kWritten);
}

Status Staging::RemoveAttribute(std::string_view path, const std::string& name) {
  VH5_ASSIGN_OR_RETURN(Node * node, Find(path));
  auto it = std::find_if(node->attrs->begin(), node->attrs->end(),
                         [&](const Attribute& a) { return a.name == name; });
  if (it == node->attrs->end()) return Status::NotFound("staging: no attribute " + name);
  node->attrs->erase(it);
  changed_ = true;
  LogAttributes(path, node);
  return Persist(Durability::kWritten);
}

Status Staging::SetMetadata(std::string_view path, const std::string& key,
                            const std::string& value) {
  VH5_ASSIGN_OR_RETURN(Node * node, Find(path));
  if (node->kind != NodeKind::kDataset)
    return Status::InvalidArgument("staging: /" + std::string(path) + ": user.vh5." + key +
                                   " on a group");
  VH5_RETURN_IF_ERROR(EnsureState());
  bool flushed = false;
  Status s = ChangeMetadata(node, path, key, value, &flushed);
  if (!s.ok() && !flushed) return s;
  // Shape and dtype changes move the checkpoint, as a close does.
  LogDataset(path, node);
  Status persisted = Persist(Durability::kWritten);
  return s.ok() ? persisted : s;
}

Status Staging::ChangeMetadata(Node* node, std::string_view path, const std::string& key,
                               const std::string& value, bool* flushed) {
  std::string where = "staging: /" + std::string(path) + ": user.vh5." + key;
  DatasetInfo& info = *node->info;
  // Writes not yet closed (cp -a sets xattrs before close) count as they stand.
  if (node->content && (key == "shape" || key == "dtype")) {
    Status s = FlushNode(node, path, flushed);
    if (!s.ok()) return s.WithContext(where);
  }
  if (key == "shape") {
    Result<std::vector<uint64_t>> parsed = ParseDims(value);
    if (!parsed.ok()) return parsed.status().WithContext(where);
    std::vector<uint64_t> shape = std::move(*parsed);
    if (shape == info.shape) return Status::OK();
    uint64_t item = info.dtype.itemsize;
    VH5_RETURN_IF_ERROR(CheckShapeBytes(shape, item, where));
    if (info.dtype.is_vlen_string) {
      // Lines are elements in C order: another rank of the same count reshapes.
      if (Product(shape) != Product(info.shape))
        return Status::Unsupported(where + ": resizing variable-length strings to " + value);
    } else if (shape.size() != info.shape.size()) {
      // Another rank: the same bytes, reinterpreted in C order.
      uint64_t size = node->source().size();
      if (Product(shape) * item != size)
        return Status::InvalidArgument(where + ": " + value + " does not fit " +
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
    if (node->auto_chunks) {
      info.chunks.assign(shape.size(), 0);
      for (size_t d = 1; d < shape.size(); ++d) info.chunks[d] = std::max<uint64_t>(1, shape[d]);
      info.chunks[0] =
          std::max<uint64_t>(1, kAutoChunkBytes / std::max<uint64_t>(1, item * RowElements(shape)));
    }
    if (node->content) node->content->Checkpoint();
    node->valid_shape = shape;
    changed_ = true;
    return Status::OK();
  }
  if (key == "dtype") {
    if (value == info.dtype.numpy) return Status::OK();
    if (!node->is_new)
      return Status::Unsupported(where +
                                 ": the dtype of a dataset already in the file cannot change");
    VH5_ASSIGN_OR_RETURN(h5::Handle type, TypeFromNumpy(value));
    VH5_ASSIGN_OR_RETURN(DType dtype, DescribeType(type.get()));
    VH5_RETURN_IF_ERROR(Materialize(node));
    StagedContent& content = *node->content;
    uint64_t size = content.size();
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
    content.SetFill(info.fill_bytes);
    content.Checkpoint();
    node->valid_shape = info.shape;
    changed_ = true;
    return Status::OK();
  }
  if (key == "chunks") {
    Result<std::vector<uint64_t>> parsed = ParseDims(value);
    if (!parsed.ok()) return parsed.status().WithContext(where);
    std::vector<uint64_t> chunks = std::move(*parsed);
    if (chunks == info.chunks) return Status::OK();
    if (!node->is_new)
      return Status::Unsupported(where +
                                 ": the chunks of a dataset already in the file cannot change");
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
    changed_ = true;
    return Status::OK();
  }
  if (key == "fillvalue") {
    if (value == info.fill_text) return Status::OK();
    if (!node->is_new)
      return Status::Unsupported(where +
                                 ": the fill value of a dataset already in the file cannot change");
    VH5_ASSIGN_OR_RETURN(std::string bytes, ParseElement(info.dtype.numpy, value));
    info.fill_bytes = bytes;
    info.fill_text = value;
    if (node->content) node->content->SetFill(bytes);
    changed_ = true;
    return Status::OK();
  }
  if (key == "compression") {
    if (value == info.compression) return Status::OK();
    if (!node->is_new)
      return Status::Unsupported(
          where + ": the compression of a dataset already in the file cannot change");
    VH5_RETURN_IF_ERROR(ParseCompression(value).status().WithContext(where));
    info.compression = value;
    changed_ = true;
    return Status::OK();
  }
  return Status::InvalidArgument(where + ": not a settable attribute");
}

uint64_t Staging::ScratchPages() const { return scratch_->pages_in_use(); }

Result<NewVersion> Staging::ToNewVersion(const std::string& name) const {
  NewVersion version;
  version.name = name;
  version.prev_version = base_name_;
  version.timestamp = commit_timestamp_;
  version.make_current = make_current_;
  std::vector<std::pair<const Node*, std::string>> pending = {{root_.get(), ""}};
  while (!pending.empty()) {
    auto [node, path] = pending.back();
    pending.pop_back();
    VH5_ASSIGN_OR_RETURN(Node * loaded, Find(path));
    if (node->kind == NodeKind::kGroup) {
      version.groups.push_back(NewGroup{path, *loaded->attrs});
      for (const auto& [child_name, child] : node->children)
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
    // Unchanged and still at its base path: the commit copies its mappings.
    if (base_shape && info.shape == *base_shape &&
        (!loaded->content || loaded->content->SameAsBase())) {
      d.unchanged_from = base_name_;
      version.datasets.push_back(std::move(d));
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
      d.partly_from = base_name_;
      if (loaded->content) d.dirty = loaded->content->ChangedRanges();
    }
    version.datasets.push_back(std::move(d));
  }
  return version;
}

}  // namespace vh5
