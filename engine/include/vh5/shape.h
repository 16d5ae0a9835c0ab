// Shapes: element counts, walks in C order, and the text of dimensions.
//
// A shape is one extent per dimension, slowest first (C order, as HDF5 and
// NumPy lay arrays out). Everything here is plain arithmetic on spans of
// extents; nothing allocates but the text functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vh5/status.h"

namespace vh5 {

// The number of elements of `dims` (1 for rank 0). Wraps on overflow: for
// shapes already known to fit.
uint64_t Product(std::span<const uint64_t> dims);
// Elements per index of the first dimension: the product of dims[1:].
uint64_t RowElements(std::span<const uint64_t> dims);
// Product, nullopt when it does not fit in 64 bits.
std::optional<uint64_t> CheckedProduct(std::span<const uint64_t> dims);

// Steps `index` to the next position of the box [first, last] (inclusive)
// in C order, the last dimension fastest. False after the box's last
// position, with `index` back at `first`. Rank 0 has one position.
bool NextInBox(std::span<uint64_t> index, std::span<const uint64_t> first,
               std::span<const uint64_t> last);

// The rows of a box inside a C-order array (a row: the box's run along the
// last dimension), in C order, for the box at `start` of extents `count` in
// an array of extents `shape` (rank at least 1; the spans must outlive this):
//
//   for (BoxRows rows(shape, start, count); !rows.done(); rows.Next())
//     memcpy(out + rows.row() * rows.length() * item, in + rows.offset() * item, ...);
class BoxRows {
 public:
  BoxRows(std::span<const uint64_t> shape, std::span<const uint64_t> start,
          std::span<const uint64_t> count);

  bool done() const { return row_ == rows_; }
  uint64_t rows() const { return rows_; }      // none when the box has no element
  uint64_t length() const { return length_; }  // elements per row
  uint64_t row() const { return row_; }        // the current row's number, from 0
  // The current row's first element, as a linear index into the array.
  uint64_t offset() const { return offset_; }
  void Next();

 private:
  std::span<const uint64_t> shape_, start_, count_;
  std::vector<uint64_t> index_;  // the row's position in the box; last dimension 0
  uint64_t rows_ = 0, length_ = 0, row_ = 0, offset_ = 0;
};

// Dimensions as the xattrs user.vh5.shape and user.vh5.chunks spell them:
// "1000,37"; "" for rank 0.
std::string DimsText(std::span<const uint64_t> dims);
// The inverse, lenient as a user types it: "1000,37", "1000, 37", "(1000, 37)",
// "(5,)". InvalidArgument for anything else, an empty list, a negative
// number or one past 2^64 - 1.
Result<std::vector<uint64_t>> ParseDims(std::string_view text);

}  // namespace vh5
