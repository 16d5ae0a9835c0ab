// A dataset of a committed version, read as the file the mount shows.
//
// The content is the elements in C order in their stored byte layout;
// variable-length strings are one element per line (see vlen_text.h).
// Regions no chunk covers read as the fill value.
//
// Thread safety: every method may be called from any thread at once.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vh5/byte_source.h"
#include "vh5/metadata.h"
#include "vh5/read_hold.h"
#include "vh5/status.h"

namespace vh5 {

// size() is the bytes of the file view: product(shape) * itemsize, or the
// length of the line format of a vlen-str dataset.
class Dataset : public ByteSource {
 public:
  virtual const DatasetInfo& info() const = 0;

  // A run of the file view: `length` bytes that are the versioned file's own
  // bytes at `file_offset` of the descriptor a ReadHold gives, or
  // (file_offset < 0) bytes only Read() can produce (fill, decompressed
  // data, ...).
  struct Run {
    uint64_t length;
    int64_t file_offset;
  };
  // The runs of [offset, offset + len) clipped to size(), in order, adjacent
  // file runs merged; lets a caller move the bytes without copying them.
  // `*hold` keeps the file runs' bytes valid, and gives their descriptor,
  // until released (read_hold.h).
  virtual Status Locate(uint64_t offset, size_t len, std::vector<Run>* out, ReadHold* hold) const {
    out->clear();
    hold->Release();
    if (offset < size()) out->push_back(Run{std::min<uint64_t>(len, size() - offset), -1});
    return Status::OK();
  }

  // What identifies the content beside info(), without reading any chunk:
  // equal keys of two versions' datasets at one path (with equal info())
  // mean equal bytes. Empty when unknown: then never equal to another.
  virtual std::string ContentKey() const { return {}; }

  // The Zarr view (zarr.h). The cells of the chunk grid (ZarrChunks(info()))
  // this version maps, as C-order linear indexes, ascending: a cell no
  // mapping touches is all fill value and has no chunk file.
  virtual std::vector<uint64_t> MappedCells() const { return {}; }
  // Whether MappedCells() holds `cell`, without listing them all.
  virtual bool MapsCell(uint64_t cell) const {
    std::vector<uint64_t> cells = MappedCells();
    return std::binary_search(cells.begin(), cells.end(), cell);
  }
  // Cell `cell` as its Zarr chunk file: the whole chunk (edge chunks too),
  // C order, encoded as ZarrArrayJson says; the stored bytes themselves,
  // whose file runs Locate names, wherever they are that already.
  virtual Result<std::shared_ptr<const Dataset>> OpenCell(uint64_t cell) const {
    (void)cell;
    return Status::Unsupported("no Zarr chunks for this dataset");
  }
};

}  // namespace vh5
