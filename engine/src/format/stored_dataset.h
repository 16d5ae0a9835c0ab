// A version's dataset as the format stores it, opened without reading any
// element: its type, shape, creation properties, the format's own
// attributes (raw_data, chunks) and its virtual mappings.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "format/chunk_map.h"
#include "hdf5/h5_handle.h"
#include "vh5/status.h"

namespace vh5 {

struct StoredDataset {
  h5::Handle dataset, type, dcpl;
  std::vector<uint64_t> shape;
  std::vector<uint64_t> chunks;  // the "chunks" attribute; empty when absent
  std::string raw_data;          // the "raw_data" attribute; empty when absent
  bool is_virtual = false;
  std::vector<VirtualMapping> mappings;  // virtual datasets only
};

// Opens the dataset at `path` (relative to `loc`).
Result<StoredDataset> OpenStoredDataset(hid_t loc, const std::string& path);

}  // namespace vh5
