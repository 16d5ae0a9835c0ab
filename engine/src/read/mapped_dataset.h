// A fixed-size-element dataset read through its chunk map.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "format/chunk_map.h"
#include "read/raw_data.h"
#include "vh5/dataset.h"

namespace vh5 {

class MappedDataset final : public Dataset, public std::enable_shared_from_this<MappedDataset> {
 public:
  // `sources[i]` is the raw_data of `map.sources()[i]`.
  MappedDataset(DatasetInfo info, ChunkMap map, std::vector<std::shared_ptr<RawData>> sources);

  const DatasetInfo& info() const override { return info_; }
  // What its chunk map and sources list hold in memory, roughly (not the
  // raw_data objects, charged on their own).
  uint64_t MapBytes() const {
    return map_.MemoryBytes() + sources_.capacity() * sizeof(sources_[0]);
  }
  uint64_t size() const override { return size_; }
  Result<size_t> Read(uint64_t offset, size_t len, char* out) const override;
  Status Locate(uint64_t offset, size_t len, std::vector<Run>* out, ReadHold* hold) const override;
  std::string ContentKey() const override { return map_.Key(); }
  std::vector<uint64_t> MappedCells() const override { return map_.MappedCells(); }
  bool MapsCell(uint64_t cell) const override { return !map_.PiecesOf(cell).empty(); }
  // The stored chunk itself when the cell is one whole slot of raw_data in
  // an encoding Zarr reads; else built (decoded, padded to the whole chunk).
  Result<std::shared_ptr<const Dataset>> OpenCell(uint64_t cell) const override;

 private:
  // The whole chunk of `cell`, C order over the chunk's dims: the slot of
  // `aligned` read whole, or the cell built and padded with the fill value.
  Status WholeCell(uint64_t cell, const ChunkMap::Piece* aligned, std::string* out) const;
  // The runs of Locate, for a caller that has passed the file's gate.
  void Runs(uint64_t offset, size_t len, std::vector<Run>* out) const;
  // Passes the file's gate for reading its data (file_state.h).
  DiskRead PassForData() const;
  // Where cell `cell`'s bytes lie in the file, as one range: its offset, when
  // one piece maps the whole cell onto rows of a stored, unfiltered chunk.
  std::optional<uint64_t> CellFileOffset(uint64_t cell) const;
  // Read() once the file's gate is passed.
  Result<size_t> ReadPassed(uint64_t offset, size_t len, char* out) const;
  // The box [start, start + count) of `piece`'s source (the whole box, or
  // rows of it), checked against its slot's hash while another process
  // writes the file (file_state.h).
  Status ReadSource(const ChunkMap::Piece& piece, const uint64_t* start, const uint64_t* count,
                    char* out) const;
  // Read() of a range Locate() says is not in the file as it is.
  Status ReadOther(uint64_t offset, size_t len, char* out) const;
  // Elements [first, last) in C order into `out`.
  Status ReadElements(uint64_t first, uint64_t last, char* out) const;
  // Elements [first, last), counted from the start of `cell`, for datasets
  // whose cells span every trailing dimension (so a cell is one linear run).
  Status ReadFromRowCell(uint64_t cell, uint64_t first, uint64_t last, char* out) const;
  // The whole cell, C order over its clipped extent, fill where unmapped.
  Status BuildCell(uint64_t cell, std::vector<char>* out) const;
  // True if the cell's single piece covers the whole cell.
  bool CoveredByOnePiece(uint64_t cell, const ChunkMap::Piece** piece) const;
  void Fill(char* out, uint64_t elements) const;

  DatasetInfo info_;
  ChunkMap map_;
  std::vector<std::shared_ptr<RawData>> sources_;
  uint64_t itemsize_;
  uint64_t size_;
  uint64_t row_elements_;  // product of shape[1:]
  bool row_cells_;         // every cell spans all trailing dimensions
  int fd_ = -1;            // every source's file (they all live in the versioned file)
  std::shared_ptr<const Fd> fd_owner_;
  DiskAccess access_;
};

}  // namespace vh5
