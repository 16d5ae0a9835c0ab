// zarr/<version>/...: every version as a Zarr v2 store (SPEC "zarr/",
// vh5fs(1) ZARR VIEW). A group is a directory with .zgroup and .zattrs; a
// dataset a directory with .zarray, .zattrs and one file per chunk the
// version maps, named by its key. The metadata is made from the version's
// tree on each open; the chunks come from vh5::Dataset::OpenCell. Nothing
// here runs until zarr/ is looked up.
#include <algorithm>
#include <cerrno>

#include "filesystem.h"
#include "vh5/zarr.h"

namespace vh5fs {
namespace {

constexpr const char kZgroup[] = ".zgroup";
constexpr const char kZattrs[] = ".zattrs";
constexpr const char kZarray[] = ".zarray";

std::string ChildOf(const std::string& parent, const std::string& name) {
  return parent.empty() ? name : parent + "/" + name;
}

// The cell a chunk key names, if the dataset maps it.
std::optional<uint64_t> MappedCell(const vh5::Dataset& dataset, const std::string& key) {
  const vh5::DatasetInfo& info = dataset.info();
  std::optional<uint64_t> cell = vh5::ZarrCellOfKey(key, info.shape, vh5::ZarrChunks(info));
  if (!cell || !dataset.MapsCell(*cell)) return std::nullopt;
  return cell;
}

}  // namespace

std::shared_ptr<const vh5::Dataset> Filesystem::ZarrDataset(const NodeId& node, int* err) {
  std::shared_ptr<const vh5::Version> version = Version(node, err);
  if (!version) return nullptr;
  vh5::Result<vh5::NodeKind> kind = version->Kind(node.path);
  if (!kind.ok()) {
    *err = Fail(kind.status());
    return nullptr;
  }
  if (*kind == vh5::NodeKind::kGroup) return nullptr;
  vh5::Result<std::shared_ptr<const vh5::Dataset>> dataset = version->OpenDataset(node.path);
  if (!dataset.ok()) {
    *err = Fail(dataset.status());
    return nullptr;
  }
  return *dataset;
}

int Filesystem::ZarrChunk(const NodeId& node, std::shared_ptr<const vh5::Dataset>* chunk) {
  int err = 0;
  std::shared_ptr<const vh5::Dataset> dataset = ZarrDataset(node, &err);
  if (err) return err;
  if (!dataset) return ENOENT;
  std::optional<uint64_t> cell = MappedCell(*dataset, node.leaf);
  if (!cell) return ENOENT;
  vh5::Result<std::shared_ptr<const vh5::Dataset>> opened = dataset->OpenCell(*cell);
  if (!opened.ok()) return Fail(opened.status());
  *chunk = std::move(*opened);
  return 0;
}

int Filesystem::ZarrChild(const NodeId& parent, const std::string& name, NodeId* child) {
  if (!parent.leaf.empty()) return ENOTDIR;
  *child = parent;
  if (name == kZgroup || name == kZattrs || name == kZarray) {
    child->leaf = name;
    return 0;
  }
  int err = 0;
  std::shared_ptr<const vh5::Dataset> dataset = ZarrDataset(parent, &err);
  if (err) return err;
  if (dataset) {
    child->leaf = name;  // a chunk key: StatZarr says whether it is one
  } else {
    child->path = ChildOf(parent.path, name);
  }
  return 0;
}

int Filesystem::ZarrText(const NodeId& node, std::string* text) {
  int err = 0;
  std::shared_ptr<const vh5::Dataset> dataset = ZarrDataset(node, &err);
  if (err) return err;
  if (node.leaf == kZarray) {
    if (!dataset) return ENOENT;
    *text = vh5::ZarrArrayJson(dataset->info());
  } else if (node.leaf == kZgroup) {
    if (dataset) return ENOENT;
    *text = vh5::kZarrGroupJson;
  } else {
    if (dataset) {
      std::string name = node.path.substr(node.path.rfind('/') + 1);
      *text = vh5::ZarrAttrsJson(dataset->info().attrs,
                                 vh5::ZarrDimensionNames(name, dataset->info().shape.size()));
      return 0;
    }
    std::shared_ptr<const vh5::Version> version = Version(node, &err);
    if (!version) return err;
    vh5::Result<vh5::Attributes> attrs = version->GetAttributes(node.path);
    if (!attrs.ok()) return Fail(attrs.status());
    *text = vh5::ZarrAttrsJson(*attrs);
  }
  return 0;
}

int Filesystem::StatZarr(const NodeId& node, struct stat* st) {
  int err = 0;
  if (node.path.empty() && node.leaf.empty()) {
    // A version's root: its metadata only, no tree walked (as in versions/).
    vh5::Result<vh5::VersionInfo> info = file_->GetVersionInfo(node.version);
    if (!info.ok()) return Fail(info.status());
    if (info->timestamp != node.incarnation) return ESTALE;
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 1;
    return 0;
  }
  std::shared_ptr<const vh5::Version> version = Version(node, &err);
  if (!version) return err;
  if (version->info().timestamp_ns != 0) {
    int64_t ns = version->info().timestamp_ns;
    st->st_mtim.tv_sec = static_cast<time_t>(ns / 1000000000);
    st->st_mtim.tv_nsec = static_cast<long>(ns % 1000000000);
    st->st_atim = st->st_ctim = st->st_mtim;
  }
  if (node.leaf.empty()) {
    vh5::Result<vh5::NodeKind> kind = version->Kind(node.path);
    if (!kind.ok()) return Fail(kind.status());
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 1;  // subdirectories not counted
    return 0;
  }
  st->st_mode = S_IFREG | 0444;
  st->st_nlink = 1;
  if (node.leaf[0] == '.') {
    std::string text;
    if (int e = ZarrText(node, &text)) return e;
    st->st_size = static_cast<off_t>(text.size());
  } else {
    std::shared_ptr<const vh5::Dataset> chunk;
    if (int e = ZarrChunk(node, &chunk)) return e;
    st->st_size = static_cast<off_t>(chunk->size());
  }
  st->st_blocks = (st->st_size + 511) / 512;
  return 0;
}

int Filesystem::ListZarr(const NodeId& node, std::vector<std::pair<std::string, bool>>* entries) {
  if (!node.leaf.empty()) return ENOTDIR;
  int err = 0;
  std::shared_ptr<const vh5::Dataset> dataset = ZarrDataset(node, &err);
  if (err) return err;
  entries->emplace_back(kZattrs, false);
  if (dataset) {
    entries->emplace_back(kZarray, false);
    const vh5::DatasetInfo& info = dataset->info();
    std::vector<uint64_t> chunks = vh5::ZarrChunks(info);
    for (uint64_t cell : dataset->MappedCells())
      entries->emplace_back(vh5::ZarrChunkKey(cell, info.shape, chunks), false);
    return 0;
  }
  entries->emplace_back(kZgroup, false);
  std::shared_ptr<const vh5::Version> version = Version(node, &err);
  if (!version) return err;
  vh5::Result<std::vector<vh5::DirEntry>> children = version->List(node.path);
  if (!children.ok()) return Fail(children.status());
  // Names the metadata files take are not shown twice.
  for (const vh5::DirEntry& e : *children)
    if (e.name != kZgroup && e.name != kZattrs && e.name != kZarray)
      entries->emplace_back(e.name, true);
  return 0;
}

int Filesystem::OpenZarr(const NodeId& node, OpenFile** out) {
  if (node.leaf.empty()) return EISDIR;
  if (node.leaf[0] == '.') {
    auto text = std::make_shared<std::string>();
    if (int err = ZarrText(node, text.get())) return err;
    *out = new OpenFile{nullptr, 0, std::move(text)};
    return 0;
  }
  std::shared_ptr<const vh5::Dataset> chunk;
  if (int err = ZarrChunk(node, &chunk)) return err;
  *out = new OpenFile{std::move(chunk), 0, nullptr};
  return 0;
}

}  // namespace vh5fs
