// vh5::Staging: the public face of StagingTree. Operations on ids forward;
// those on paths resolve the path, then do the same. Commit is its own.
#include "vh5/staging.h"

#include "commit/version_plan.h"
#include "staging/staging_tree.h"
#include "util/crash_point.h"
#include "vh5/versioned_file.h"
#include "vh5/writer.h"

namespace vh5 {
namespace {

// `op(parent, name)` for the group that holds `path` and the name in it.
template <typename Op>
Status InParentOf(const StagingTree& tree, std::string_view path, Op op) {
  Staging::NodeId parent = 0;
  std::string name;
  VH5_RETURN_IF_ERROR(tree.ResolveParent(path, &parent, &name));
  return op(parent, name);
}

}  // namespace

Staging::Staging(std::shared_ptr<const Version> base, std::string scratch_dir)
    : tree_(std::make_unique<StagingTree>(std::move(base), std::move(scratch_dir))) {}

Staging::Staging(std::unique_ptr<StagingTree> tree) : tree_(std::move(tree)) {}

Staging::~Staging() = default;

Result<std::unique_ptr<Staging>> Staging::Open(const VersionedFile& file, std::string* note) {
  VH5_ASSIGN_OR_RETURN(std::unique_ptr<StagingTree> tree, StagingTree::Open(file, note));
  return std::unique_ptr<Staging>(new Staging(std::move(tree)));
}

const std::string& Staging::base_name() const { return tree_->base_name(); }
bool Staging::HasChanges() const { return tree_->HasChanges(); }
bool Staging::durable() const { return tree_->durable(); }
Status Staging::Sync() { return tree_->Sync(); }
const std::string& Staging::commit_timestamp() const { return tree_->commit_timestamp(); }
bool Staging::make_current() const { return tree_->make_current(); }
Status Staging::SetCommitTimestamp(const std::string& timestamp) {
  return tree_->SetCommitTimestamp(timestamp);
}
Status Staging::SetMakeCurrent(bool make_current) { return tree_->SetMakeCurrent(make_current); }
Status Staging::Rebase(std::shared_ptr<const Version> base) {
  return tree_->Rebase(std::move(base));
}
Status Staging::Discard(bool keep_base) { return tree_->Discard(keep_base); }
Status Staging::Commit(VersionedFile& file, const std::string& name, std::string* note) {
  VH5_RETURN_IF_ERROR(ValidateVersionName(name));
  NewVersion version;
  VersionPlan plan;
  VH5_RETURN_IF_ERROR(tree_->Plan(name, &version, &plan));
  VH5_RETURN_IF_ERROR(tree_->BeginCommit(&version));
  crash::Reach(crash::Point::kCommitNoted);
  if (Status committed = file.Commit(plan); !committed.ok()) {
    Status noted = tree_->EndCommit(false, nullptr);
    if (!noted.ok() && note) *note = noted.ToString();
    return committed;
  }
  crash::Reach(crash::Point::kAfterCommit);
  // The tree mirrors the (possibly new) current version.
  std::shared_ptr<const Version> base;
  std::string problems;
  if (std::optional<std::string> current = file.CurrentVersion()) {
    Result<std::shared_ptr<const Version>> loaded = file.GetVersion(*current);
    if (loaded.ok()) {
      base = *loaded;
    } else {
      problems = loaded.status().ToString();
    }
  }
  if (Status cleared = tree_->EndCommit(true, std::move(base)); !cleared.ok())
    problems += (problems.empty() ? "" : "; ") + cleared.ToString();
  if (note) *note = problems;
  return Status::OK();
}

Result<Staging::NodeId> Staging::Lookup(NodeId parent, std::string_view name) const {
  return tree_->Lookup(parent, name);
}
Result<Staging::NodeId> Staging::Resolve(std::string_view path) const {
  return tree_->Resolve(path);
}
bool Staging::Attached(NodeId node) const { return tree_->Attached(node); }
Status Staging::Hold(NodeId node) { return tree_->Hold(node); }
void Staging::Release(NodeId node) { tree_->Release(node); }

Result<NodeKind> Staging::Kind(NodeId node) const { return tree_->Kind(node); }
Result<NodeKind> Staging::Kind(std::string_view path) const {
  VH5_ASSIGN_OR_RETURN(NodeId node, Resolve(path));
  return Kind(node);
}

Result<std::vector<DirEntry>> Staging::List(NodeId node) const { return tree_->List(node); }
Result<std::vector<DirEntry>> Staging::List(std::string_view path) const {
  VH5_ASSIGN_OR_RETURN(NodeId node, Resolve(path));
  return List(node);
}

Result<DatasetInfo> Staging::Info(NodeId node) const { return tree_->Info(node); }
Result<DatasetInfo> Staging::Info(std::string_view path) const {
  VH5_ASSIGN_OR_RETURN(NodeId node, Resolve(path));
  return Info(node);
}

Result<uint64_t> Staging::Size(NodeId node) const { return tree_->Size(node); }
Result<uint64_t> Staging::Size(std::string_view path) const {
  VH5_ASSIGN_OR_RETURN(NodeId node, Resolve(path));
  return Size(node);
}

Result<size_t> Staging::Read(NodeId node, uint64_t offset, size_t len, char* out) const {
  return tree_->Read(node, offset, len, out);
}
Result<size_t> Staging::Read(std::string_view path, uint64_t offset, size_t len, char* out) const {
  VH5_ASSIGN_OR_RETURN(NodeId node, Resolve(path));
  return Read(node, offset, len, out);
}

Result<Attributes> Staging::GetAttributes(NodeId node) const { return tree_->GetAttributes(node); }
Result<Attributes> Staging::GetAttributes(std::string_view path) const {
  VH5_ASSIGN_OR_RETURN(NodeId node, Resolve(path));
  return GetAttributes(node);
}

Result<Staging::NodeId> Staging::Mkdir(NodeId parent, std::string_view name) {
  return tree_->Mkdir(parent, name);
}
Status Staging::Mkdir(std::string_view path) {
  return InParentOf(*tree_, path, [this](NodeId parent, std::string_view name) {
    return Mkdir(parent, name).status();
  });
}

Status Staging::Rmdir(NodeId parent, std::string_view name) { return tree_->Rmdir(parent, name); }
Status Staging::Rmdir(std::string_view path) {
  return InParentOf(*tree_, path,
                    [this](NodeId parent, std::string_view name) { return Rmdir(parent, name); });
}

Result<Staging::NodeId> Staging::CreateDataset(NodeId parent, std::string_view name) {
  return tree_->CreateDataset(parent, name);
}
Status Staging::CreateDataset(std::string_view path) {
  return InParentOf(*tree_, path, [this](NodeId parent, std::string_view name) {
    return CreateDataset(parent, name).status();
  });
}

Status Staging::Unlink(NodeId parent, std::string_view name) { return tree_->Unlink(parent, name); }
Status Staging::Unlink(std::string_view path) {
  return InParentOf(*tree_, path,
                    [this](NodeId parent, std::string_view name) { return Unlink(parent, name); });
}

Status Staging::Rename(NodeId parent, std::string_view name, NodeId new_parent,
                       std::string_view new_name) {
  return tree_->Rename(parent, name, new_parent, new_name);
}
Status Staging::Rename(std::string_view from, std::string_view to) {
  NodeId from_parent = 0, to_parent = 0;
  std::string from_leaf, to_leaf;
  VH5_RETURN_IF_ERROR(tree_->ResolveParent(from, &from_parent, &from_leaf));
  VH5_RETURN_IF_ERROR(tree_->ResolveParent(to, &to_parent, &to_leaf));
  return Rename(from_parent, from_leaf, to_parent, to_leaf);
}

Result<size_t> Staging::Write(NodeId node, uint64_t offset, std::string_view data) {
  return tree_->Write(node, offset, data);
}
Result<size_t> Staging::Write(std::string_view path, uint64_t offset, std::string_view data) {
  VH5_ASSIGN_OR_RETURN(NodeId node, Resolve(path));
  return Write(node, offset, data);
}

Status Staging::Truncate(NodeId node, uint64_t size) { return tree_->Truncate(node, size); }
Status Staging::Truncate(std::string_view path, uint64_t size) {
  VH5_ASSIGN_OR_RETURN(NodeId node, Resolve(path));
  return Truncate(node, size);
}

Status Staging::FillRange(NodeId node, uint64_t offset, uint64_t len) {
  return tree_->FillRange(node, offset, len);
}

Status Staging::Flush(NodeId node) { return tree_->Flush(node); }
Status Staging::Flush(std::string_view path) {
  VH5_ASSIGN_OR_RETURN(NodeId node, Resolve(path));
  return Flush(node);
}

Status Staging::SetAttributeText(NodeId node, const std::string& name, const std::string& text) {
  return tree_->SetAttributeText(node, name, text);
}
Status Staging::SetAttributeText(std::string_view path, const std::string& name,
                                 const std::string& text) {
  VH5_ASSIGN_OR_RETURN(NodeId node, Resolve(path));
  return SetAttributeText(node, name, text);
}

Status Staging::SetAttributeType(NodeId node, const std::string& name, const std::string& type) {
  return tree_->SetAttributeType(node, name, type);
}
Status Staging::SetAttributeType(std::string_view path, const std::string& name,
                                 const std::string& type) {
  VH5_ASSIGN_OR_RETURN(NodeId node, Resolve(path));
  return SetAttributeType(node, name, type);
}

Status Staging::RemoveAttribute(NodeId node, const std::string& name) {
  return tree_->RemoveAttribute(node, name);
}
Status Staging::RemoveAttribute(std::string_view path, const std::string& name) {
  VH5_ASSIGN_OR_RETURN(NodeId node, Resolve(path));
  return RemoveAttribute(node, name);
}

Status Staging::SetDtype(NodeId node, const std::string& dtype) {
  return tree_->SetDtype(node, dtype);
}
Status Staging::SetDtype(std::string_view path, const std::string& dtype) {
  VH5_ASSIGN_OR_RETURN(NodeId node, Resolve(path));
  return SetDtype(node, dtype);
}

Status Staging::SetShape(NodeId node, const std::vector<uint64_t>& shape) {
  return tree_->SetShape(node, shape);
}
Status Staging::SetShape(std::string_view path, const std::vector<uint64_t>& shape) {
  VH5_ASSIGN_OR_RETURN(NodeId node, Resolve(path));
  return SetShape(node, shape);
}

Status Staging::SetChunks(NodeId node, const std::vector<uint64_t>& chunks) {
  return tree_->SetChunks(node, chunks);
}
Status Staging::SetChunks(std::string_view path, const std::vector<uint64_t>& chunks) {
  VH5_ASSIGN_OR_RETURN(NodeId node, Resolve(path));
  return SetChunks(node, chunks);
}

Status Staging::SetFillValue(NodeId node, const std::string& fill) {
  return tree_->SetFillValue(node, fill);
}
Status Staging::SetFillValue(std::string_view path, const std::string& fill) {
  VH5_ASSIGN_OR_RETURN(NodeId node, Resolve(path));
  return SetFillValue(node, fill);
}

Status Staging::SetCompression(NodeId node, const std::string& compression) {
  return tree_->SetCompression(node, compression);
}
Status Staging::SetCompression(std::string_view path, const std::string& compression) {
  VH5_ASSIGN_OR_RETURN(NodeId node, Resolve(path));
  return SetCompression(node, compression);
}

uint64_t Staging::ScratchPages() const { return tree_->ScratchPages(); }

}  // namespace vh5
