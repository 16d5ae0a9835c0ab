#include "format/chunk_map.h"

#include <algorithm>

#include "format/dataset_messages.h"
#include "hdf5/h5_handle.h"
#include "vh5/shape.h"

namespace vh5 {
namespace {

// The box a dataspace selection covers: start and count per dimension.
Status SelectionBox(hid_t space, size_t rank, std::vector<uint64_t>* start,
                    std::vector<uint64_t>* count) {
  if (H5Sget_simple_extent_ndims(space) != static_cast<int>(rank))
    return Status::Corruption("mapping of the wrong rank");
  start->assign(rank, 0);
  count->assign(rank, 0);
  H5S_sel_type type = H5Sget_select_type(space);
  if (type == H5S_SEL_ALL) {
    std::vector<hsize_t> dims(rank);
    H5Sget_simple_extent_dims(space, dims.data(), nullptr);
    count->assign(dims.begin(), dims.end());
    return Status::OK();
  }
  if (type == H5S_SEL_NONE) return Status::OK();
  if (type != H5S_SEL_HYPERSLABS || H5Sis_regular_hyperslab(space) <= 0)
    return Status::Unsupported("a mapping that is not a regular hyperslab");
  std::vector<hsize_t> s(rank), stride(rank), n(rank), block(rank);
  if (H5Sget_regular_hyperslab(space, s.data(), stride.data(), n.data(), block.data()) < 0)
    return h5::Error("cannot read a mapping's hyperslab");
  for (size_t d = 0; d < rank; ++d) {
    if (n[d] == H5S_UNLIMITED || block[d] == H5S_UNLIMITED)
      return Status::Unsupported("an unlimited mapping");
    if (n[d] > 1 && stride[d] != block[d]) return Status::Unsupported("a strided mapping");
    (*start)[d] = s[d];
    (*count)[d] = n[d] * block[d];
  }
  return Status::OK();
}

}  // namespace

Result<std::vector<VirtualMapping>> ReadVirtualMappings(hid_t dcpl, size_t rank) {
  size_t count = 0;
  if (H5Pget_virtual_count(dcpl, &count) < 0) return h5::Error("cannot count virtual mappings");
  std::vector<VirtualMapping> out(count);
  for (size_t i = 0; i < count; ++i) {
    VirtualMapping& m = out[i];
    h5::Handle vspace(H5Pget_virtual_vspace(dcpl, i));
    h5::Handle sspace(H5Pget_virtual_srcspace(dcpl, i));
    if (!vspace || !sspace) return h5::Error("cannot read virtual mapping " + std::to_string(i));
    ssize_t file_len = H5Pget_virtual_filename(dcpl, i, nullptr, 0);
    ssize_t dset_len = H5Pget_virtual_dsetname(dcpl, i, nullptr, 0);
    if (file_len < 0 || dset_len < 0) return h5::Error("cannot read a mapping's source");
    m.file.assign(static_cast<size_t>(file_len) + 1, '\0');
    m.dataset.assign(static_cast<size_t>(dset_len) + 1, '\0');
    H5Pget_virtual_filename(dcpl, i, m.file.data(), m.file.size());
    H5Pget_virtual_dsetname(dcpl, i, m.dataset.data(), m.dataset.size());
    m.file.resize(static_cast<size_t>(file_len));
    m.dataset.resize(static_cast<size_t>(dset_len));
    VH5_RETURN_IF_ERROR(SelectionBox(vspace.get(), rank, &m.vstart, &m.vcount));
    VH5_RETURN_IF_ERROR(SelectionBox(sspace.get(), rank, &m.sstart, &m.scount));
  }
  return out;
}

Result<ChunkMap> ChunkMap::Empty(const std::vector<uint64_t>& shape,
                                 const std::vector<uint64_t>& cell_dims) {
  ChunkMap map;
  size_t rank = shape.size();
  if (cell_dims.size() != rank) return Status::Corruption("a chunk shape of another rank");
  map.shape_ = shape;
  map.cell_dims_ = cell_dims;
  map.grid_.resize(rank);
  for (size_t d = 0; d < rank; ++d) {
    if (cell_dims[d] == 0) return Status::Corruption("a chunk dimension of 0");
    map.grid_[d] = (shape[d] + cell_dims[d] - 1) / cell_dims[d];
  }
  return map;
}

uint32_t ChunkMap::SourceIndex(const std::string& name) {
  auto found = std::find(sources_.begin(), sources_.end(), name);
  if (found != sources_.end()) return static_cast<uint32_t>(found - sources_.begin());
  sources_.push_back(name);
  return static_cast<uint32_t>(sources_.size() - 1);
}

void ChunkMap::Add(uint32_t source, const uint64_t* vstart, const uint64_t* vcount,
                   const uint64_t* sstart) {
  size_t rank = shape_.size();
  // Clip to the dataset, then split along the chunk grid.
  uint64_t lo[kMaxRank], hi[kMaxRank], first_cell[kMaxRank], last_cell[kMaxRank], cell[kMaxRank];
  for (size_t d = 0; d < rank; ++d) {
    lo[d] = vstart[d];
    hi[d] = vstart[d] + std::min(vcount[d], shape_[d] - std::min(shape_[d], vstart[d]));
    if (lo[d] >= hi[d]) return;
    cell[d] = first_cell[d] = lo[d] / cell_dims_[d];
    last_cell[d] = (hi[d] - 1) / cell_dims_[d];
  }
  do {
    uint64_t linear = 0;
    size_t base = coords_.size();
    coords_.resize(base + 3 * rank);
    for (size_t d = 0; d < rank; ++d) {
      uint64_t a = std::max(lo[d], cell[d] * cell_dims_[d]);
      uint64_t b = std::min(hi[d], (cell[d] + 1) * cell_dims_[d]);
      coords_[base + d] = a;
      coords_[base + rank + d] = b - a;
      coords_[base + 2 * rank + d] = sstart[d] + (a - vstart[d]);
      linear = linear * grid_[d] + cell[d];
    }
    pieces_.push_back(Piece{linear, source, static_cast<uint32_t>(base)});
  } while (
      NextInBox(std::span(cell, rank), std::span(first_cell, rank), std::span(last_cell, rank)));
}

void ChunkMap::Finish() {
  std::stable_sort(pieces_.begin(), pieces_.end(),
                   [](const Piece& a, const Piece& b) { return a.cell < b.cell; });
}

Result<ChunkMap> ChunkMap::Parse(hid_t dcpl, const std::vector<uint64_t>& shape,
                                 const std::vector<uint64_t>& cell_dims) {
  VH5_ASSIGN_OR_RETURN(ChunkMap map, Empty(shape, cell_dims));
  size_t rank = shape.size();
  if (rank > kMaxRank) return Status::Unsupported("a rank over 32");
  VH5_ASSIGN_OR_RETURN(std::vector<VirtualMapping> mappings, ReadVirtualMappings(dcpl, rank));
  map.pieces_.reserve(mappings.size());
  map.coords_.reserve(mappings.size() * 3 * rank);
  for (const VirtualMapping& m : mappings) {
    if (m.file != ".") return Status::Unsupported("a mapping into another file (" + m.file + ")");
    if (m.scount != m.vcount)
      return Status::Unsupported("a mapping whose source box differs in shape");
    map.Add(map.SourceIndex(m.dataset), m.vstart.data(), m.vcount.data(), m.sstart.data());
  }
  map.Finish();
  return map;
}

Result<ChunkMap> ChunkMap::FromMappings(const MappingList& mappings,
                                        const std::vector<uint64_t>& shape,
                                        const std::vector<uint64_t>& cell_dims) {
  VH5_ASSIGN_OR_RETURN(ChunkMap map, Empty(shape, cell_dims));
  if (mappings.rank != shape.size()) return Status::Corruption("mappings of another rank");
  if (shape.size() > kMaxRank) return Status::Unsupported("a rank over 32");
  map.pieces_.reserve(mappings.entries.size());
  map.coords_.reserve(mappings.entries.size() * 3 * shape.size());
  std::vector<uint32_t> index;  // mappings.sources[i] -> map.sources_
  for (const std::string& name : mappings.sources) index.push_back(map.SourceIndex(name));
  for (const MappingList::Entry& e : mappings.entries)
    map.Add(index[e.source], mappings.VirtualStart(e), mappings.VirtualCount(e),
            mappings.SourceStart(e));
  map.Finish();
  return map;
}

std::span<const ChunkMap::Piece> ChunkMap::PiecesOf(uint64_t cell) const {
  auto lo = std::lower_bound(pieces_.begin(), pieces_.end(), cell,
                             [](const Piece& p, uint64_t c) { return p.cell < c; });
  auto hi = lo;
  while (hi != pieces_.end() && hi->cell == cell) ++hi;
  return std::span<const Piece>(pieces_.data() + (lo - pieces_.begin()),
                                static_cast<size_t>(hi - lo));
}

std::string ChunkMap::Key() const {
  std::string key;
  auto append = [&key](const void* data, size_t bytes) {
    key.append(static_cast<const char*>(data), bytes);
  };
  for (const std::string& source : sources_) {
    key += source;
    key.push_back('\0');
  }
  for (const Piece& p : pieces_) append(&p, sizeof(Piece));
  append(coords_.data(), coords_.size() * sizeof(uint64_t));
  return key;
}

std::vector<uint64_t> ChunkMap::MappedCells() const {
  std::vector<uint64_t> cells;
  for (const Piece& p : pieces_)
    if (cells.empty() || cells.back() != p.cell) cells.push_back(p.cell);
  return cells;
}

uint64_t ChunkMap::CellOf(const uint64_t* index) const {
  uint64_t linear = 0;
  for (size_t d = 0; d < rank(); ++d) linear = linear * grid_[d] + index[d] / cell_dims_[d];
  return linear;
}

void ChunkMap::CellBox(uint64_t cell, uint64_t* origin, uint64_t* extent) const {
  for (size_t d = rank(); d-- > 0;) {
    uint64_t c = cell % grid_[d];
    cell /= grid_[d];
    origin[d] = c * cell_dims_[d];
    extent[d] = std::min(cell_dims_[d], shape_[d] - origin[d]);
  }
}

uint64_t ChunkMap::MemoryBytes() const {
  uint64_t bytes =
      sizeof(ChunkMap) +
      (shape_.capacity() + cell_dims_.capacity() + grid_.capacity() + coords_.capacity()) *
          sizeof(uint64_t) +
      pieces_.capacity() * sizeof(Piece);
  for (const std::string& s : sources_) bytes += sizeof(std::string) + s.capacity();
  return bytes;
}

}  // namespace vh5
