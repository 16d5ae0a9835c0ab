#include "vh5/diff.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "format/file_layout.h"
#include "format/file_walk.h"
#include "format/object_check.h"
#include "format/stored_dataset.h"
#include "hdf5/attributes.h"
#include "hdf5/dtype.h"
#include "offline/offline_file.h"
#include "read/file_core.h"
#include "read/raw_data.h"
#include "read/version_dataset.h"
#include "vh5/shape.h"

namespace vh5 {
namespace {

// The nodes of one version's tree by path ("" for the root group).
std::map<std::string, NodeKind> Tree(hid_t version_group) {
  std::map<std::string, NodeKind> nodes{{"", NodeKind::kGroup}};
  VisitTree(version_group,
            [&](const std::string& path, hid_t, const std::string&, H5O_type_t type) {
              if (type == H5O_TYPE_GROUP) nodes.emplace(path, NodeKind::kGroup);
              if (type == H5O_TYPE_DATASET) nodes.emplace(path, NodeKind::kDataset);
            });
  return nodes;
}

AttributeChanges CompareAttributes(const Attributes& a, const Attributes& b) {
  std::map<std::string, const Attribute*> from, to;
  for (const Attribute& x : a) from[x.name] = &x;
  for (const Attribute& x : b) to[x.name] = &x;
  AttributeChanges out;
  for (const auto& [name, attr] : from) {
    auto it = to.find(name);
    if (it == to.end())
      out.removed.push_back(name);
    else if (it->second->text != attr->text || it->second->type != attr->type)
      out.changed.push_back(name);
  }
  for (const auto& [name, attr] : to)
    if (!from.count(name)) out.added.push_back(name);
  return out;
}

// A dataset's metadata and chunk map, without its elements.
struct Summary {
  DatasetInfo info;
  std::string raw_data;
  bool is_virtual = false;
  // Chunk origin -> (source dataset, source start, extent).
  std::map<std::vector<uint64_t>,
           std::tuple<std::string, std::vector<uint64_t>, std::vector<uint64_t>>>
      chunks;
};

Result<Summary> Summarize(hid_t file, hid_t group, const std::string& path) {
  VH5_ASSIGN_OR_RETURN(StoredDataset ds, OpenStoredDataset(group, path));
  Summary s;
  VH5_ASSIGN_OR_RETURN(s.info.dtype, DescribeType(ds.type.get()));
  s.info.shape = ds.shape;
  VH5_RETURN_IF_ERROR(ReadFillValue(ds.dcpl.get(), ds.type.get(), &s.info));
  VH5_ASSIGN_OR_RETURN(
      s.info.attrs, ReadAttributes(ds.dataset.get(), {layout::kRawDataAttr, layout::kChunksAttr}));
  s.info.chunks = ds.chunks;
  s.raw_data = ds.raw_data;
  s.is_virtual = ds.is_virtual;
  h5::Handle compression_dcpl;
  if (!ds.raw_data.empty() && h5::LinkExists(file, ds.raw_data)) {
    VH5_ASSIGN_OR_RETURN(h5::Handle raw, OpenCheckedDataset(file, ds.raw_data));
    compression_dcpl = h5::Handle(H5Dget_create_plist(raw.get()));
    if (s.info.chunks.empty()) {
      std::vector<hsize_t> c(ds.shape.size());
      H5Pget_chunk(compression_dcpl.get(), static_cast<int>(c.size()), c.data());
      s.info.chunks.assign(c.begin(), c.end());
    }
  }
  s.info.compression = DescribeFilters(compression_dcpl ? compression_dcpl.get() : ds.dcpl.get());
  if (s.info.chunks.empty()) s.info.chunks = ds.shape;
  for (const VirtualMapping& m : ds.mappings) s.chunks[m.vstart] = {m.dataset, m.sstart, m.scount};
  return s;
}

// Chunk cells of a grid of `chunks` over `shape`.
uint64_t Cells(const std::vector<uint64_t>& shape, const std::vector<uint64_t>& chunks) {
  uint64_t n = 1;
  for (size_t d = 0; d < shape.size(); ++d)
    n *= chunks[d] ? (shape[d] + chunks[d] - 1) / chunks[d] : 0;
  return n;
}

void CompareChunks(const Summary& a, const Summary& b, NodeChange* out) {
  uint64_t cells_a = Cells(a.info.shape, a.info.chunks),
           cells_b = Cells(b.info.shape, b.info.chunks);
  bool comparable = a.info.shape.size() == b.info.shape.size() && a.info.chunks == b.info.chunks &&
                    a.raw_data == b.raw_data && a.info.dtype.numpy == b.info.dtype.numpy &&
                    (a.is_virtual || Product(a.info.shape) == 0) &&
                    (b.is_virtual || Product(b.info.shape) == 0);
  if (!comparable) {
    out->chunks_total = out->chunks_differ = std::max(cells_a, cells_b);
    return;
  }
  std::vector<uint64_t> both_shape(a.info.shape.size());
  for (size_t d = 0; d < both_shape.size(); ++d)
    both_shape[d] = std::min(a.info.shape[d], b.info.shape[d]);
  uint64_t cells_both = Cells(both_shape, a.info.chunks);
  out->chunks_total = cells_a + cells_b - cells_both;
  // Cells only one version's grid has differ; of the others, those mapped differently.
  out->chunks_differ = cells_a + cells_b - 2 * cells_both;
  auto inside_both = [&](const std::vector<uint64_t>& origin) {
    for (size_t d = 0; d < origin.size(); ++d)
      if (origin[d] >= both_shape[d]) return false;
    return true;
  };
  for (const auto& [origin, source] : a.chunks) {
    if (!inside_both(origin)) continue;
    auto it = b.chunks.find(origin);
    if (it == b.chunks.end() || it->second != source) ++out->chunks_differ;
  }
  for (const auto& [origin, source] : b.chunks)
    if (inside_both(origin) && !a.chunks.count(origin)) ++out->chunks_differ;
}

void CompareDatasets(const Summary& a, const Summary& b, NodeChange* out) {
  auto field = [](std::optional<NodeChange::Field>* f, const std::string& from,
                  const std::string& to) {
    if (from != to) *f = NodeChange::Field{from, to};
  };
  field(&out->dtype, a.info.dtype.numpy, b.info.dtype.numpy);
  field(&out->shape, DimsText(a.info.shape), DimsText(b.info.shape));
  field(&out->chunks, DimsText(a.info.chunks), DimsText(b.info.chunks));
  field(&out->fillvalue, a.info.fill_text, b.info.fill_text);
  field(&out->compression, a.info.compression, b.info.compression);
  out->attributes = CompareAttributes(a.info.attrs, b.info.attrs);
  CompareChunks(a, b, out);
}

Result<Attributes> GroupAttributes(hid_t version_group, const std::string& path) {
  if (path.empty())
    return ReadAttributes(
        version_group, {layout::kPrevVersionAttr, layout::kTimestampAttr, layout::kCommittedAttr});
  VH5_ASSIGN_OR_RETURN(h5::Handle group, OpenCheckedGroup(version_group, path));
  return ReadAttributes(group.get());
}

NodeChange Change(NodeChange::Change change, NodeKind kind, const std::string& path) {
  NodeChange out;
  out.change = change;
  out.kind = kind;
  out.path = path;
  return out;
}

Result<VersionDiff> Diff(const OfflineFile& f, const std::string& from, const std::string& to) {
  VH5_ASSIGN_OR_RETURN(h5::Handle a, OpenCheckedGroup(f.versions.get(), from));
  VH5_ASSIGN_OR_RETURN(h5::Handle b, OpenCheckedGroup(f.versions.get(), to));
  std::map<std::string, NodeKind> tree_a = Tree(a.get()), tree_b = Tree(b.get());
  VersionDiff diff{from, to, {}};
  std::map<std::string, int> paths;  // bit 1: in a, bit 2: in b
  for (const auto& [path, kind] : tree_a) paths[path] |= 1;
  for (const auto& [path, kind] : tree_b) paths[path] |= 2;
  for (const auto& [path, in] : paths) {
    bool same_kind = in == 3 && tree_a[path] == tree_b[path];
    if ((in & 1) && !same_kind)
      diff.changes.push_back(Change(NodeChange::Change::kRemoved, tree_a[path], path));
    if ((in & 2) && !same_kind)
      diff.changes.push_back(Change(NodeChange::Change::kAdded, tree_b[path], path));
    if (!same_kind) continue;
    NodeChange change = Change(NodeChange::Change::kChanged, tree_a[path], path);
    if (change.kind == NodeKind::kGroup) {
      Result<Attributes> attrs_a = GroupAttributes(a.get(), path);
      if (!attrs_a.ok()) return attrs_a.status().WithContext("version " + from + ": /" + path);
      Result<Attributes> attrs_b = GroupAttributes(b.get(), path);
      if (!attrs_b.ok()) return attrs_b.status().WithContext("version " + to + ": /" + path);
      change.attributes = CompareAttributes(*attrs_a, *attrs_b);
      if (change.attributes.empty()) continue;
    } else {
      Result<Summary> sa = Summarize(f.file.get(), a.get(), path);
      if (!sa.ok()) return sa.status().WithContext("version " + from + ": /" + path);
      Result<Summary> sb = Summarize(f.file.get(), b.get(), path);
      if (!sb.ok()) return sb.status().WithContext("version " + to + ": /" + path);
      CompareDatasets(*sa, *sb, &change);
      if (!change.dtype && !change.shape && !change.chunks && !change.fillvalue &&
          !change.compression && change.attributes.empty() && change.chunks_differ == 0)
        continue;
    }
    diff.changes.push_back(std::move(change));
  }
  return diff;
}

}  // namespace

Result<VersionDiff> DiffVersions(const std::string& path, const std::string& from,
                                 const std::string& to, std::chrono::milliseconds wait) {
  OfflineOpen how;
  how.wait = wait;
  VH5_ASSIGN_OR_RETURN(OfflineFile f, OpenOffline(path, how));
  for (const std::string& name : {from, to})
    if (!IsCommittedVersion(f.versions.get(), name))
      return Status::NotFound(path + ": no version " + name);
  Result<VersionDiff> diff = Diff(f, from, to);
  if (!diff.ok()) return diff.status().WithContext(path);
  return diff;
}

}  // namespace vh5
