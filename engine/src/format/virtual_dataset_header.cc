#include "format/virtual_dataset_header.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "format/dataset_messages.h"
#include "format/datatype_message.h"
#include "format/object_header.h"
#include "util/fd.h"
#include "vh5/shape.h"

namespace vh5 {
namespace {

// A message the reader needs, unless it is shared (then HDF5 must resolve it).
Result<const HeaderMessage*> Required(const ObjectHeader& header, uint16_t type, const char* what) {
  const HeaderMessage* m = header.Find(type);
  if (m == nullptr) return Status::Corruption(std::string("no ") + what + " message");
  if (m->flags & kMessageShared) return Status::Unsupported(std::string("a shared ") + what);
  return m;
}

// The dataset's shape: a simple dataspace, as versioned-hdf5 writes.
Result<std::vector<uint64_t>> ReadShape(const FileBytes& file, const ObjectHeader& header) {
  VH5_ASSIGN_OR_RETURN(const HeaderMessage* m, Required(header, kDataspaceMessage, "dataspace"));
  VH5_ASSIGN_OR_RETURN(Dataspace space,
                       DecodeDataspace(m->data, {file.addr_size(), file.len_size()}));
  if (!space.simple()) return Status::Unsupported("a virtual dataset that is not simple");
  if (!space.count) return Status::Corruption("a shape that overflows");
  return std::move(space.dims);
}

// The stored fill value; empty when none is defined.
Result<std::string> ReadFill(const ObjectHeader& header) {
  const HeaderMessage* m = header.Find(kFillValueMessage);
  bool old = m == nullptr;
  if (old) m = header.Find(kOldFillValueMessage);
  if (m == nullptr) return std::string();
  if (m->flags & kMessageShared) return Status::Unsupported("a shared fill value");
  VH5_ASSIGN_OR_RETURN(FillValue fill, DecodeFillValue(m->data, old));
  if (!fill.value) return std::string();
  return std::string(fill.value->begin(), fill.value->end());
}

// The mapping list; `block_out`, if given, keeps it encoded.
Result<MappingList> ReadMappings(const FileBytes& file, const ObjectHeader& header,
                                 const std::vector<uint64_t>& shape,
                                 std::vector<uint8_t>* block_out = nullptr) {
  VH5_ASSIGN_OR_RETURN(const HeaderMessage* m, Required(header, kLayoutMessage, "layout"));
  VH5_ASSIGN_OR_RETURN(Layout layout, DecodeLayout(m->data, {file.addr_size(), file.len_size()}));
  if (layout.layout_class != LayoutClass::kVirtual)
    return Status::Unsupported("not a virtual dataset");
  if (!layout.heap_defined) {  // no mapping was ever added
    MappingList empty;
    empty.rank = shape.size();
    return empty;
  }
  VH5_ASSIGN_OR_RETURN(std::vector<uint8_t> block,
                       ReadGlobalHeapObject(file, layout.heap_address, layout.heap_index));
  Result<MappingList> list = DecodeMappingList(block, file.len_size(), shape);
  if (block_out) *block_out = std::move(block);
  return list;
}

Result<VirtualDatasetHeader> Read(hid_t file, int fd, const std::string& path,
                                  std::vector<uint8_t>* block = nullptr) {
  H5O_info_t info;
  if (H5Oget_info_by_name2(file, path.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
    return h5::Error("cannot locate the dataset's header");
  if (info.type != H5O_TYPE_DATASET) return Status::Unsupported("not a dataset");
  VH5_ASSIGN_OR_RETURN(FileBytes bytes, FileBytes::Of(file, fd));
  VH5_ASSIGN_OR_RETURN(ObjectHeader header, ObjectHeader::Read(bytes, info.addr));

  VirtualDatasetHeader out;
  VH5_ASSIGN_OR_RETURN(out.shape, ReadShape(bytes, header));
  // The layout first: a dataset that is not virtual needs nothing else here.
  VH5_ASSIGN_OR_RETURN(out.mappings, ReadMappings(bytes, header, out.shape, block));
  VH5_ASSIGN_OR_RETURN(const HeaderMessage* type, Required(header, kDatatypeMessage, "datatype"));
  VH5_ASSIGN_OR_RETURN(out.type, DecodeDatatype(type->data));

  if (H5Tis_variable_str(out.type.get()) > 0 || H5Tget_class(out.type.get()) == H5T_VLEN)
    return out;
  size_t itemsize = H5Tget_size(out.type.get());
  if (itemsize == 0) return Status::Corruption("a datatype of size 0");
  if (Product(out.shape) > UINT64_MAX / itemsize)
    return Status::Corruption("a shape that overflows");
  VH5_ASSIGN_OR_RETURN(std::string fill, ReadFill(header));
  if (fill.empty()) fill.assign(itemsize, '\0');
  // HDF5 would convert a fill value of another size; leave that to it.
  if (fill.size() != itemsize) return Status::Unsupported("a fill value of another size");
  out.fill = std::move(fill);
  return out;
}

}  // namespace

Result<VirtualDatasetHeader> ReadVirtualDatasetHeader(hid_t file, int fd, const std::string& path,
                                                      std::vector<uint8_t>* block) {
  Fd opened;
  if (fd < 0) {
    VH5_ASSIGN_OR_RETURN(opened, h5::OpenReadOnlyDescriptor(file));
    fd = opened.get();
  }
  Result<VirtualDatasetHeader> header = Read(file, fd, path, block);
  if (!header.ok()) return header.status().WithContext(path);
  return header;
}

Result<ChunkMap> ReadVersionChunkMap(hid_t file, int fd, const std::string& path,
                                     const std::vector<uint64_t>& cell_dims) {
  VH5_ASSIGN_OR_RETURN(VersionMappings mappings, ReadVersionMappings(file, fd, path, cell_dims));
  return std::move(mappings.map);
}

Result<VersionMappings> ReadVersionMappings(hid_t file, int fd, const std::string& path,
                                            const std::vector<uint64_t>& cell_dims) {
  VersionMappings out;
  VH5_ASSIGN_OR_RETURN(VirtualDatasetHeader header,
                       ReadVirtualDatasetHeader(file, fd, path, &out.block));
  if (cell_dims.size() != header.shape.size())
    return Status::Unsupported(path + ": a chunk shape of another rank than the dataset");
  VH5_ASSIGN_OR_RETURN(out.map, ChunkMap::FromMappings(header.mappings, header.shape, cell_dims));
  out.list = std::move(header.mappings);
  out.type = std::move(header.type);
  out.fill = std::move(header.fill);
  return out;
}

}  // namespace vh5
