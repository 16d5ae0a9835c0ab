// Loading a committed version's dataset as a vh5::Dataset.
#pragma once

#include <hdf5.h>

#include <functional>
#include <memory>
#include <string>

#include "read/raw_data.h"
#include "vh5/dataset.h"

namespace vh5 {

// Finds (and shares) the raw_data dataset at an absolute path of the file.
using RawDataResolver = std::function<Result<std::shared_ptr<RawData>>(const std::string&)>;

// Sets info->fill_bytes and info->fill_text from the dataset creation
// properties `dcpl` (nothing for vlen strings); zeros when none is defined.
Status ReadFillValue(hid_t dcpl, hid_t type, DatasetInfo* info);

// The dataset at absolute `path` of `file`: a virtual dataset is read through
// its parsed mappings straight from raw_data; any other layout (the Python
// library stores empty datasets plainly) is read whole through HDF5.
//
// With `fd` (a read-only descriptor of the same file, or -1) the virtual
// dataset's header is read from the file's bytes (virtual_dataset_header.h),
// in milliseconds where H5Dopen takes ~20 us per mapping; whatever that
// reader declines goes through H5Dopen as before.
// What a dataset LoadVersionDataset made holds in memory, roughly: its
// metadata, chunk map or content (MemoryCache charges).
uint64_t DatasetMemoryBytes(const Dataset& dataset);

Result<std::shared_ptr<const Dataset>> LoadVersionDataset(hid_t file, int fd,
                                                          const std::string& path,
                                                          const RawDataResolver& resolve);

}  // namespace vh5
