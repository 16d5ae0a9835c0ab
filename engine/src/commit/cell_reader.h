// The C-order bytes of chunk-grid cells, read out of a dataset's content.
//
// Cells are read in the writer's order (C order over the grid), so the
// reader keeps one axis-0 slab of cells (chunks[0] rows, contiguous in the
// content) and reads each byte once. A slab too large to hold is read run by
// run instead.
//
// Thread safety: none.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vh5/byte_source.h"

namespace vh5 {

class CellReader {
 public:
  CellReader(const ByteSource& source, std::vector<uint64_t> shape, std::vector<uint64_t> chunks,
             uint64_t itemsize);

  // The elements of the box at `origin` of size `extent`, C order, into `out`.
  Status Read(const std::vector<uint64_t>& origin, const std::vector<uint64_t>& extent,
              std::string* out);

 private:
  static constexpr uint64_t kMaxSlabBytes = 256 << 20;

  Status LoadSlab(uint64_t first_row);
  Status ReadExact(uint64_t offset, uint64_t len, char* out) const;

  const ByteSource& source_;
  std::vector<uint64_t> shape_, chunks_;
  uint64_t itemsize_;
  uint64_t row_bytes_;  // one index along axis 0: product(shape[1:]) * itemsize
  std::string slab_;
  uint64_t slab_first_row_ = UINT64_MAX;  // the slab held, by its first row
};

}  // namespace vh5
