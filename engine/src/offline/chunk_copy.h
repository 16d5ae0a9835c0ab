// Moving raw_data chunks as they are stored, for compaction and repacking.
#pragma once

#include <hdf5.h>

#include <vector>

#include "vh5/status.h"

namespace vh5 {

// Copies the chunk whose first element is at `from` in `src` to the chunk at
// `to` in `dst`, as stored: compressed bytes and filter mask, the filters
// never run. `dst` must have the chunk shape and filters of `src` (the same
// dataset, or one created with its creation properties). A chunk `src` has
// not allocated reads as fill, and is written so at `dst`. A chunk of
// variable-length elements (strings) holds global heap ids of its own file:
// into another file it is copied through HDF5's read and write, which store
// its elements there anew.
Status CopyChunk(hid_t src, const std::vector<hsize_t>& from, hid_t dst,
                 const std::vector<hsize_t>& to);

}  // namespace vh5
