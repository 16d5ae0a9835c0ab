#include "format/virtual_dataset_header.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "format/datatype_message.h"
#include "format/object_header.h"
#include "util/byte_decoder.h"
#include "util/fd.h"

namespace vh5 {
namespace {

constexpr uint8_t kVirtualLayout = 3;
constexpr size_t kMaxRank = 32;

// A message the reader needs, unless it is shared (then HDF5 must resolve it).
Result<const HeaderMessage*> Required(const ObjectHeader& header, uint16_t type, const char* what) {
  const HeaderMessage* m = header.Find(type);
  if (m == nullptr) return Status::Corruption(std::string("no ") + what + " message");
  if (m->flags & kMessageShared) return Status::Unsupported(std::string("a shared ") + what);
  return m;
}

Result<std::vector<uint64_t>> DecodeShape(std::span<const uint8_t> data, size_t len_size) {
  ByteDecoder in(data);
  uint8_t version = 0, rank = 0, flags = 0, kind = 1;
  if (!in.U8(&version) || !in.U8(&rank) || !in.U8(&flags))
    return Status::Corruption("short dataspace message");
  if (version == 1) {
    if (!in.Skip(5)) return Status::Corruption("short dataspace message");
    if (rank == 0) kind = 0;
  } else if (version == 2) {
    if (!in.U8(&kind)) return Status::Corruption("short dataspace message");
  } else {
    return Status::Unsupported("dataspace message version " + std::to_string(version));
  }
  if (kind != 1 || rank == 0) return Status::Unsupported("a virtual dataset that is not simple");
  if (rank > kMaxRank) return Status::Corruption("a dataspace of rank " + std::to_string(rank));
  std::vector<uint64_t> shape(rank);
  for (uint64_t& n : shape)
    if (!in.Uint(len_size, &n)) return Status::Corruption("short dataspace message");
  return shape;
}

// The stored fill value: nullopt-like empty string when none is defined.
Result<std::string> DecodeFill(const ObjectHeader& header) {
  const HeaderMessage* m = header.Find(kFillValueMessage);
  bool old = m == nullptr;
  if (old) m = header.Find(kOldFillValueMessage);
  if (m == nullptr) return std::string();
  if (m->flags & kMessageShared) return Status::Unsupported("a shared fill value");
  ByteDecoder in(m->data);
  Status bad = Status::Corruption("bad fill value message");
  bool defined = true;
  if (!old) {
    uint8_t version = 0;
    if (!in.U8(&version)) return bad;
    if (version == 1 || version == 2) {
      uint8_t is_defined = 0;
      if (!in.Skip(2) || !in.U8(&is_defined)) return bad;
      defined = is_defined != 0;
    } else if (version == 3) {
      uint8_t flags = 0;
      if (!in.U8(&flags)) return bad;
      if (flags & ~0x3f) return bad;
      if ((flags & 0x10) && (flags & 0x20)) return bad;
      defined = flags & 0x20;  // bit 4 is "undefined", bit 5 "has a value"
    } else {
      return Status::Unsupported("fill value message version " + std::to_string(version));
    }
  }
  if (!defined) return std::string();
  uint32_t size = 0;
  std::span<const uint8_t> value;
  if (!in.U32(&size) || !in.Bytes(size, &value)) return bad;
  return std::string(value.begin(), value.end());
}

// `block_out`, if given, keeps the encoded list.
Result<MappingList> DecodeLayout(const FileBytes& file, const ObjectHeader& header,
                                 const std::vector<uint64_t>& shape,
                                 std::vector<uint8_t>* block_out = nullptr) {
  VH5_ASSIGN_OR_RETURN(const HeaderMessage* m, Required(header, kLayoutMessage, "layout"));
  ByteDecoder in(m->data);
  uint8_t version = 0, layout_class = 0;
  if (!in.U8(&version) || !in.U8(&layout_class)) return Status::Corruption("short layout message");
  if (version < 3 || layout_class != kVirtualLayout)
    return Status::Unsupported("not a virtual dataset");
  if (version != 4) return Status::Unsupported("layout message version " + std::to_string(version));
  uint64_t heap = 0;
  uint32_t index = 0;
  if (!in.Uint(file.addr_size(), &heap) || !in.U32(&index))
    return Status::Corruption("short layout message");
  if (heap == file.undefined_address()) {  // no mapping was ever added
    MappingList empty;
    empty.rank = shape.size();
    return empty;
  }
  VH5_ASSIGN_OR_RETURN(std::vector<uint8_t> block, ReadGlobalHeapObject(file, heap, index));
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
  VH5_ASSIGN_OR_RETURN(const HeaderMessage* space,
                       Required(header, kDataspaceMessage, "dataspace"));
  VH5_ASSIGN_OR_RETURN(out.shape, DecodeShape(space->data, bytes.len_size()));
  // The layout first: a dataset that is not virtual needs nothing else here.
  VH5_ASSIGN_OR_RETURN(out.mappings, DecodeLayout(bytes, header, out.shape, block));
  VH5_ASSIGN_OR_RETURN(const HeaderMessage* type, Required(header, kDatatypeMessage, "datatype"));
  VH5_ASSIGN_OR_RETURN(out.type, DecodeDatatype(type->data));

  if (H5Tis_variable_str(out.type.get()) > 0 || H5Tget_class(out.type.get()) == H5T_VLEN)
    return out;
  size_t itemsize = H5Tget_size(out.type.get());
  if (itemsize == 0) return Status::Corruption("a datatype of size 0");
  uint64_t elements = 1;
  for (uint64_t n : out.shape) {
    if (n != 0 && elements > UINT64_MAX / n) return Status::Corruption("a shape that overflows");
    elements *= n;
  }
  if (elements > UINT64_MAX / itemsize) return Status::Corruption("a shape that overflows");
  VH5_ASSIGN_OR_RETURN(std::string fill, DecodeFill(header));
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
