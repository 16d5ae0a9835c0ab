#include "format/stored_dataset.h"

#include "format/file_layout.h"
#include "format/object_check.h"

namespace vh5 {

Result<StoredDataset> OpenStoredDataset(hid_t loc, const std::string& path) {
  StoredDataset out;
  VH5_ASSIGN_OR_RETURN(out.dataset, OpenCheckedDataset(loc, path));
  hid_t dataset = out.dataset.get();
  out.type = h5::Handle(H5Dget_type(dataset));
  out.dcpl = h5::Handle(H5Dget_create_plist(dataset));
  h5::Handle space(H5Dget_space(dataset));
  if (!out.type || !out.dcpl || !space) return h5::Error(path + ": cannot inspect the dataset");
  int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) return h5::Error(path + ": cannot read the shape");
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  out.shape.assign(dims.begin(), dims.end());
  if (h5::AttributeExists(dataset, layout::kChunksAttr)) {
    Result<std::vector<uint64_t>> chunks = h5::ReadUIntArrayAttribute(dataset, layout::kChunksAttr);
    if (!chunks.ok()) return chunks.status().WithContext(path);
    out.chunks = std::move(*chunks);
  }
  if (h5::AttributeExists(dataset, layout::kRawDataAttr)) {
    Result<std::string> raw = h5::ReadStringAttribute(dataset, layout::kRawDataAttr);
    if (!raw.ok()) return raw.status().WithContext(path);
    out.raw_data = std::move(*raw);
  }
  out.is_virtual = H5Pget_layout(out.dcpl.get()) == H5D_VIRTUAL;
  if (out.is_virtual) {
    Result<std::vector<VirtualMapping>> mappings =
        ReadVirtualMappings(out.dcpl.get(), out.shape.size());
    if (!mappings.ok()) return mappings.status().WithContext(path);
    out.mappings = std::move(*mappings);
  }
  return out;
}

}  // namespace vh5
