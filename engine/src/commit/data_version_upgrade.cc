#include "commit/data_version_upgrade.h"

#include <string>
#include <string_view>
#include <vector>

#include "format/chunk_hash.h"
#include "format/chunk_map.h"
#include "format/file_layout.h"
#include "format/file_walk.h"
#include "format/hash_table.h"
#include "format/object_check.h"
#include "hdf5/attribute_codec.h"
#include "hdf5/h5_handle.h"
#include "read/file_core.h"
#include "read/raw_data.h"
#include "util/fd.h"

namespace vh5 {
namespace {

// Hashes every chunk the versions map from this path's raw_data, in version
// order, into a fresh hash table (Hashtable.from_versions_traverse).
Status Rebuild(hid_t file, const std::string& path, const std::vector<std::string>& versions) {
  std::string group_path = layout::DataGroupPath(path);
  VH5_ASSIGN_OR_RETURN(h5::Handle group, OpenCheckedGroup(file, group_path));
  if (h5::LinkExists(group.get(), layout::kHashTable) &&
      H5Ldelete(group.get(), layout::kHashTable, H5P_DEFAULT) < 0)
    return h5::Error("cannot remove the old hash table of " + path);
  VH5_ASSIGN_OR_RETURN(HashTable table, HashTable::Open(group.get()));
  VH5_ASSIGN_OR_RETURN(std::shared_ptr<RawData> raw,
                       RawData::Open(file, nullptr, group_path + "/raw_data"));
  bool strings = H5Tget_class(raw->type()) == H5T_STRING && H5Tis_variable_str(raw->type()) > 0;
  for (const std::string& version : versions) {
    std::string dataset_path = layout::VersionPath(version, path);
    if (!h5::LinkExists(file, dataset_path)) continue;
    VH5_ASSIGN_OR_RETURN(h5::Handle dataset, OpenCheckedDataset(file, dataset_path));
    h5::Handle dcpl(H5Dget_create_plist(dataset.get()));
    if (H5Pget_layout(dcpl.get()) != H5D_VIRTUAL) continue;
    h5::Handle space(H5Dget_space(dataset.get()));
    int rank = H5Sget_simple_extent_ndims(space.get());
    std::vector<hsize_t> dims(static_cast<size_t>(rank));
    H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    std::vector<uint64_t> shape(dims.begin(), dims.end());
    VH5_ASSIGN_OR_RETURN(ChunkMap map, ChunkMap::Parse(dcpl.get(), shape, raw->chunk_dims()));
    uint64_t cells = 1;
    for (size_t d = 0; d < shape.size(); ++d)
      cells *= (shape[d] + raw->chunk_dims()[d] - 1) / raw->chunk_dims()[d];
    for (uint64_t cell = 0; cell < cells; ++cell) {
      for (const ChunkMap::Piece& piece : map.PiecesOf(cell)) {
        const uint64_t* start = map.SourceStart(piece);
        const uint64_t* count = map.Count(piece);
        std::vector<uint64_t> extent(count, count + rank);
        ChunkHash hash;
        if (strings) {
          std::vector<std::string> values;
          VH5_RETURN_IF_ERROR(raw->ReadStrings(start, count, &values));
          std::vector<std::string_view> views(values.begin(), values.end());
          hash = HashStringChunk(views, extent);
        } else {
          uint64_t n = raw->itemsize();
          for (uint64_t e : extent) n *= e;
          std::string bytes(n, '\0');
          VH5_RETURN_IF_ERROR(raw->ReadBlock(start, count, bytes.data()));
          hash = HashFixedChunk(bytes, extent);
        }
        if (!table.Find(hash))
          table.Add(hash, static_cast<int64_t>(start[0]),
                    static_cast<int64_t>(start[0] + count[0]));
      }
    }
  }
  return table.Write();
}

}  // namespace

Status UpgradeToDataVersion4(hid_t file) {
  VH5_ASSIGN_OR_RETURN(h5::Handle versions_group, OpenCheckedGroup(file, layout::kVersionsGroup));
  std::vector<std::string> versions;
  for (const std::string& name : HardLinks(versions_group.get()))
    if (name != kFirstVersionName) versions.push_back(name);
  for (const std::string& path : DataGroupPaths(file))
    VH5_RETURN_IF_ERROR(
        Rebuild(file, path, versions).WithContext("rebuilding the hash table of " + path));
  return WriteAttribute(
      versions_group.get(),
      Attribute{layout::kDataVersionAttr, std::to_string(layout::kDataVersion), "<i8"});
}

}  // namespace vh5
