// An LZF stream of a chosen size, for a buffer whose tail is zeros.
//
// HDF5 rewrites a compressed chunk in place only when its new bytes are
// exactly as many as the old; any other size moves it to the end of the
// file, and the space it left is forgotten when the file is closed (files
// made by h5py keep no free-space list). A hash table's chunk grows by a
// row on every commit: to keep it in place, its stream is made as long as
// the one stored, which LZF allows: the zeros after the rows may be coded
// as literal runs (one byte each, plus one per run) as well as
// back-references (a few bytes per 264). Any LZF decoder (liblzf's, h5py's)
// reads such a stream as the same bytes.
#pragma once

#include <cstddef>
#include <string>

namespace vh5 {

class ZeroTailedLzf {
 public:
  // `data` holds `total` bytes, all zero from `nonzero_end` on.
  ZeroTailedLzf(const char* data, size_t nonzero_end, size_t total);

  // The shortest and longest streams Encode makes.
  size_t min_size() const { return head_.size() + TailCost(tail_, 1, 1); }
  size_t max_size() const { return head_.size() + 2 * tail_; }
  // The stream, `size` bytes long when min_size() <= size <= max_size(),
  // else the nearest of the two.
  std::string Encode(size_t size) const;

 private:
  // Bytes to code `zeros` zeros as `literal` of them in `runs` literal runs,
  // then back-references to the byte before.
  static size_t TailCost(size_t zeros, size_t literal, size_t runs);
  static size_t BackReferenceCost(size_t zeros);

  std::string head_;  // LZF of data[0, nonzero_end)
  size_t tail_;       // zeros after it
};

}  // namespace vh5
