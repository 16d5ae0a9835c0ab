#include "read/version_dataset.h"

#include <cstring>

#include "format/chunk_map.h"
#include "format/file_layout.h"
#include "format/object_check.h"
#include "format/virtual_dataset_header.h"
#include "hdf5/attributes.h"
#include "hdf5/dtype.h"
#include "hdf5/h5_handle.h"
#include "read/buffered_dataset.h"
#include "read/mapped_dataset.h"
#include "vh5/shape.h"
#include "vh5/vlen_text.h"

namespace vh5 {
namespace {

// Datasets held in memory whole (strings as lines, plain datasets): a shape
// claiming more than this is refused rather than allocated (a damaged shape
// of 2^44 strings would ask for 500 TiB).
constexpr uint64_t kMaxBufferedElements = uint64_t{1} << 26;
constexpr uint64_t kMaxBufferedBytes = uint64_t{1} << 30;

// The element count of `shape` when a dataset of `itemsize`-byte elements
// (0: strings) can be held in memory; Unsupported when not.
Result<uint64_t> BufferedElements(const std::vector<uint64_t>& shape, uint64_t itemsize) {
  std::optional<uint64_t> counted = CheckedProduct(shape);
  if (!counted || *counted > kMaxBufferedElements)
    return Status::Unsupported("a dataset of more than " + std::to_string(kMaxBufferedElements) +
                               " elements to hold in memory");
  uint64_t elements = *counted;
  if (itemsize != 0 && elements > kMaxBufferedBytes / itemsize)
    return Status::Unsupported("a dataset of more than 1 GiB to hold in memory");
  return elements;
}

// Scatters a box of elements (C order, shape `count`) into a C-order array of `shape`.
void ScatterStrings(std::vector<std::string>&& box, const uint64_t* start, const uint64_t* count,
                    const std::vector<uint64_t>& shape, std::vector<std::string>* out) {
  size_t rank = shape.size();
  size_t next = 0;
  for (BoxRows rows(shape, std::span(start, rank), std::span(count, rank)); !rows.done();
       rows.Next())
    for (uint64_t i = 0; i < rows.length(); ++i) (*out)[rows.offset() + i] = std::move(box[next++]);
}

Result<std::string> RenderMappedStrings(const ChunkMap& map,
                                        const std::vector<std::shared_ptr<RawData>>& sources,
                                        uint64_t elements) {
  std::vector<std::string> values(elements);
  const std::vector<uint64_t>& shape = map.shape();
  uint64_t cells = 1;
  for (size_t d = 0; d < map.rank(); ++d)
    cells *= (shape[d] + map.cell_dims()[d] - 1) / map.cell_dims()[d];
  for (uint64_t cell = 0; cell < cells; ++cell) {
    for (const ChunkMap::Piece& piece : map.PiecesOf(cell)) {
      std::vector<std::string> box;
      VH5_RETURN_IF_ERROR(
          sources[piece.source]->ReadStrings(map.SourceStart(piece), map.Count(piece), &box));
      ScatterStrings(std::move(box), map.VirtualStart(piece), map.Count(piece), shape, &values);
    }
  }
  return EncodeLines(values);
}

// Reads a non-virtual dataset whole, in its file layout (or line form).
Result<std::string> ReadPlain(hid_t dataset, hid_t type, const DatasetInfo& info,
                              uint64_t elements) {
  if (elements == 0) return std::string();
  if (info.dtype.is_vlen_string) {
    h5::Handle mem(H5Tcopy(H5T_C_S1));
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type));
    std::vector<char*> ptrs(elements, nullptr);
    if (H5Dread(dataset, mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0)
      return h5::Error("cannot read");
    std::string out;
    for (char* p : ptrs) AppendLine(p ? p : "", &out);
    hsize_t n = elements;
    h5::Handle space(H5Screate_simple(1, &n, nullptr));
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
    return out;
  }
  std::string out(elements * info.dtype.itemsize, '\0');
  if (H5Dread(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    return h5::Error("cannot read");
  return out;
}

// A virtual dataset's content over its chunk map, once its info (type,
// shape, fill, attributes, "chunks") is known.
Result<std::shared_ptr<const Dataset>> FromChunkMap(DatasetInfo info, hid_t type, ChunkMap map,
                                                    const RawDataResolver& resolve) {
  uint64_t elements = 1;
  for (uint64_t d : info.shape) elements *= d;
  std::vector<std::shared_ptr<RawData>> sources;
  for (const std::string& source : map.sources()) {
    VH5_ASSIGN_OR_RETURN(std::shared_ptr<RawData> raw, resolve(source));
    if (H5Tequal(raw->type(), type) <= 0)
      return Status::Corruption(source + " holds another type than the dataset");
    sources.push_back(std::move(raw));
  }
  info.compression = sources.empty() ? "none" : sources[0]->compression();
  if (info.chunks.empty()) info.chunks = sources.empty() ? info.shape : sources[0]->chunk_dims();

  if (info.dtype.is_vlen_string) {
    VH5_ASSIGN_OR_RETURN(elements, BufferedElements(info.shape, 0));
    VH5_ASSIGN_OR_RETURN(std::string content, RenderMappedStrings(map, sources, elements));
    return std::shared_ptr<const Dataset>(
        std::make_shared<BufferedDataset>(std::move(info), std::move(content), map.MappedCells()));
  }
  return std::shared_ptr<const Dataset>(
      std::make_shared<MappedDataset>(std::move(info), std::move(map), std::move(sources)));
}

// The fast path: everything from the file's bytes and the attributes by
// name, never H5Dopen (which copies every mapping's dataspaces).
Result<std::shared_ptr<const Dataset>> LoadFast(hid_t file, int fd, const std::string& path,
                                                const RawDataResolver& resolve) {
  VH5_ASSIGN_OR_RETURN(VirtualDatasetHeader header, ReadVirtualDatasetHeader(file, fd, path));
  DatasetInfo info;
  VH5_ASSIGN_OR_RETURN(info.dtype, DescribeType(header.type.get()));
  info.shape = header.shape;
  if (!info.dtype.is_vlen_string) {
    VH5_ASSIGN_OR_RETURN(info.fill_text, ElementToText(header.type.get(), header.fill.data()));
    info.fill_bytes = std::move(header.fill);
  }
  VH5_ASSIGN_OR_RETURN(
      info.attrs, ReadAttributesByName(file, path, {layout::kRawDataAttr, layout::kChunksAttr}));
  if (h5::AttributeExistsByName(file, path, layout::kChunksAttr)) {
    VH5_ASSIGN_OR_RETURN(info.chunks,
                         h5::ReadUIntArrayAttributeByName(file, path, layout::kChunksAttr));
    if (info.chunks.size() != info.shape.size())
      return Status::Corruption("attribute chunks has the wrong rank");
  }
  std::vector<uint64_t> cell_dims = info.chunks.empty() ? info.shape : info.chunks;
  VH5_ASSIGN_OR_RETURN(ChunkMap map,
                       ChunkMap::FromMappings(header.mappings, info.shape, cell_dims));
  return FromChunkMap(std::move(info), header.type.get(), std::move(map), resolve);
}

// The general path through H5Dopen: any layout, any mapping HDF5 reads.
Result<std::shared_ptr<const Dataset>> LoadThroughHdf5(hid_t file, const std::string& path,
                                                       const RawDataResolver& resolve) {
  VH5_ASSIGN_OR_RETURN(h5::Handle dataset, OpenCheckedDataset(file, path));
  h5::Handle type(H5Dget_type(dataset.get()));
  h5::Handle space(H5Dget_space(dataset.get()));
  h5::Handle dcpl(H5Dget_create_plist(dataset.get()));
  if (!type || !space || !dcpl) return h5::Error("cannot inspect the dataset");

  DatasetInfo info;
  VH5_ASSIGN_OR_RETURN(info.dtype, DescribeType(type.get()));
  int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) return h5::Error("cannot read the shape");
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  info.shape.assign(dims.begin(), dims.end());
  uint64_t elements = 1;
  for (uint64_t d : info.shape) elements *= d;
  VH5_RETURN_IF_ERROR(ReadFillValue(dcpl.get(), type.get(), &info));
  VH5_ASSIGN_OR_RETURN(info.attrs,
                       ReadAttributes(dataset.get(), {layout::kRawDataAttr, layout::kChunksAttr}));

  H5D_layout_t layout = H5Pget_layout(dcpl.get());
  if (h5::AttributeExists(dataset.get(), layout::kChunksAttr)) {
    VH5_ASSIGN_OR_RETURN(info.chunks,
                         h5::ReadUIntArrayAttribute(dataset.get(), layout::kChunksAttr));
    if (info.chunks.size() != info.shape.size())
      return Status::Corruption("attribute chunks has the wrong rank");
  } else if (layout == H5D_CHUNKED) {
    std::vector<hsize_t> c(static_cast<size_t>(rank));
    H5Pget_chunk(dcpl.get(), rank, c.data());
    info.chunks.assign(c.begin(), c.end());
  }

  if (layout != H5D_VIRTUAL) {
    VH5_ASSIGN_OR_RETURN(
        elements,
        BufferedElements(info.shape, info.dtype.is_vlen_string ? 0 : info.dtype.itemsize));
    if (std::shared_ptr<ObjectChecker> checker = CheckerFor(file);
        checker && info.dtype.is_vlen_string && elements > 0) {
      // The strings' references, before HDF5 follows them (compact data was
      // checked with the header).
      if (layout == H5D_CHUNKED)
        return Status::Unsupported("a chunked dataset of strings outside raw_data");
      haddr_t offset = H5Dget_offset(dataset.get());
      h5::TakeErrorStack();
      if (layout == H5D_CONTIGUOUS && offset != HADDR_UNDEF)
        VH5_RETURN_IF_ERROR(checker->CheckVlenAt(offset - checker->bytes().base(), elements, 1));
    }
    info.compression = DescribeFilters(dcpl.get());
    if (info.chunks.empty()) info.chunks = info.shape;
    VH5_ASSIGN_OR_RETURN(std::string content, ReadPlain(dataset.get(), type.get(), info, elements));
    return std::shared_ptr<const Dataset>(
        std::make_shared<BufferedDataset>(std::move(info), std::move(content)));
  }

  if (rank == 0) return Status::Unsupported("a scalar virtual dataset");
  std::vector<uint64_t> cell_dims = info.chunks;
  if (cell_dims.empty()) cell_dims = info.shape;  // only for a malformed file; refined below
  VH5_ASSIGN_OR_RETURN(ChunkMap map, ChunkMap::Parse(dcpl.get(), info.shape, cell_dims));
  return FromChunkMap(std::move(info), type.get(), std::move(map), resolve);
}

Result<std::shared_ptr<const Dataset>> Load(hid_t file, int fd, const std::string& path,
                                            const RawDataResolver& resolve) {
  VH5_RETURN_IF_ERROR(GuardPath(file, path));
  if (fd >= 0) {
    Result<std::shared_ptr<const Dataset>> fast = LoadFast(file, fd, path, resolve);
    if (fast.ok() || fast.status().code() != Status::Code::kUnsupported) return fast;
  }
  return LoadThroughHdf5(file, path, resolve);
}

}  // namespace

uint64_t DatasetMemoryBytes(const Dataset& dataset) {
  // Each heap block costs its size and ~16 bytes of malloc's.
  auto text = [](const std::string& s) { return sizeof(std::string) + s.capacity() + 16; };
  const DatasetInfo& info = dataset.info();
  uint64_t bytes = 256 + sizeof(DatasetInfo) + 128 /* dtype */ +
                   (info.shape.capacity() + info.chunks.capacity()) * sizeof(uint64_t) +
                   text(info.fill_bytes) + text(info.fill_text) + text(info.compression);
  for (const Attribute& a : info.attrs) bytes += text(a.name) + text(a.text) + text(a.type);
  if (auto* mapped = dynamic_cast<const MappedDataset*>(&dataset)) {
    bytes += sizeof(MappedDataset) + mapped->MapBytes();
  } else {
    bytes += sizeof(BufferedDataset) + dataset.size();
  }
  return bytes;
}

Status ReadFillValue(hid_t dcpl, hid_t type, DatasetInfo* info) {
  if (info->dtype.is_vlen_string) return Status::OK();
  std::string fill(info->dtype.itemsize, '\0');
  H5D_fill_value_t state;
  if (H5Pfill_value_defined(dcpl, &state) < 0) return h5::Error("cannot inspect the fill value");
  if (state != H5D_FILL_VALUE_UNDEFINED && H5Pget_fill_value(dcpl, type, fill.data()) < 0)
    return h5::Error("cannot read the fill value");
  VH5_ASSIGN_OR_RETURN(info->fill_text, ElementToText(type, fill.data()));
  info->fill_bytes = std::move(fill);
  return Status::OK();
}

Result<std::shared_ptr<const Dataset>> LoadVersionDataset(hid_t file, int fd,
                                                          const std::string& path,
                                                          const RawDataResolver& resolve) {
  h5::SilenceAutomaticErrorPrinting();
  Result<std::shared_ptr<const Dataset>> result = Load(file, fd, path, resolve);
  if (!result.ok()) return result.status().WithContext(path);
  return result;
}

}  // namespace vh5
