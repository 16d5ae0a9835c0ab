// Undoing HDF5's filters on a stored chunk, outside HDF5 and its global
// lock, so that compressed chunks decompress on every FUSE thread at once.
//
// Covers what h5py and versioned-hdf5 write: deflate (gzip), shuffle and LZF
// (h5py's filter 32000), in any order, each skipped when the chunk's filter
// mask says it was. Anything else (fletcher32, szip, nbit, scaleoffset, ...)
// makes the pipeline unsupported, and the caller reads through HDF5.
//
// Thread safety: Decode is const and may run on many threads at once.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "vh5/status.h"

namespace vh5 {

class FilterPipeline {
 public:
  // The filters of a dataset creation property list, in the order applied.
  static FilterPipeline FromDcpl(hid_t dcpl);

  bool supported() const { return supported_; }
  bool empty() const { return filters_.empty(); }

  // Turns the stored bytes of a chunk into its `size` raw bytes in `out`.
  Status Decode(const std::string& stored, uint32_t filter_mask, size_t size,
                std::string* out) const;

 private:
  struct Filter {
    H5Z_filter_t id;
    unsigned element_size;  // shuffle only
  };
  std::vector<Filter> filters_;
  bool supported_ = true;
};

}  // namespace vh5
