// The virtual mappings of one version's dataset, parsed once and split along
// the dataset's chunk grid.
//
// versioned-hdf5 writes one mapping per chunk ("cell" here): the cell's box in
// the version maps to an equally shaped box of raw_data. Mappings spanning
// several cells are split, so every piece lies in exactly one cell. Cells
// with no piece read as the fill value.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "format/virtual_mappings.h"
#include "vh5/status.h"

namespace vh5 {

// One virtual mapping as stored: the box [vstart, vstart + vcount) of the
// virtual dataset reads the box [sstart, sstart + scount) of `dataset` in
// `file` ("." for the same file).
struct VirtualMapping {
  std::string file;
  std::string dataset;
  std::vector<uint64_t> vstart, vcount, sstart, scount;
};

// Every mapping of a virtual dataset creation property list, in stored
// order, for a dataset of rank `rank`. Unsupported for a selection that is
// not one regular box.
Result<std::vector<VirtualMapping>> ReadVirtualMappings(hid_t dcpl, size_t rank);

class ChunkMap {
 public:
  struct Piece {
    uint64_t cell;    // linear index in the chunk grid, C order
    uint32_t source;  // index into sources()
    uint32_t coords;  // offset in the coordinate pool: vstart, count, src_start (rank each)
  };

  // Parses the mappings of a virtual dataset creation property list.
  static Result<ChunkMap> Parse(hid_t dcpl, const std::vector<uint64_t>& shape,
                                const std::vector<uint64_t>& cell_dims);
  // The same from mappings decoded from the file's bytes (virtual_mappings.h).
  static Result<ChunkMap> FromMappings(const MappingList& mappings,
                                       const std::vector<uint64_t>& shape,
                                       const std::vector<uint64_t>& cell_dims);

  size_t rank() const { return shape_.size(); }
  const std::vector<uint64_t>& shape() const { return shape_; }
  const std::vector<uint64_t>& cell_dims() const { return cell_dims_; }
  const std::vector<std::string>& sources() const { return sources_; }

  // Pieces inside `cell`, possibly none.
  std::span<const Piece> PiecesOf(uint64_t cell) const;
  const uint64_t* VirtualStart(const Piece& p) const { return &coords_[p.coords]; }
  const uint64_t* Count(const Piece& p) const { return &coords_[p.coords + rank()]; }
  const uint64_t* SourceStart(const Piece& p) const { return &coords_[p.coords + 2 * rank()]; }

  // What the map holds in memory, roughly.
  uint64_t MemoryBytes() const;

  // The cells with at least one piece, ascending.
  std::vector<uint64_t> MappedCells() const;
  uint64_t CellOf(const uint64_t* index) const;
  // Every piece, source and coordinate as bytes: equal for equal mappings.
  std::string Key() const;
  // The cell's first element and its extent (clipped to the shape).
  void CellBox(uint64_t cell, uint64_t* origin, uint64_t* extent) const;

 private:
  // An empty map of `shape` over cells of `cell_dims`.
  static Result<ChunkMap> Empty(const std::vector<uint64_t>& shape,
                                const std::vector<uint64_t>& cell_dims);
  // Adds one mapping (boxes of equal counts), clipped to the shape and split
  // along the cells; Finish() sorts the pieces once all are added.
  void Add(uint32_t source, const uint64_t* vstart, const uint64_t* vcount, const uint64_t* sstart);
  uint32_t SourceIndex(const std::string& name);
  void Finish();

  std::vector<uint64_t> shape_;
  std::vector<uint64_t> cell_dims_;
  std::vector<uint64_t> grid_;  // cells per dimension
  std::vector<std::string> sources_;
  std::vector<Piece> pieces_;  // sorted by cell
  std::vector<uint64_t> coords_;
};

}  // namespace vh5
