// Committing through a file the caller already holds open read-write.
#pragma once

#include <hdf5.h>

#include <string>
#include <vector>

#include "vh5/writer.h"

namespace vh5 {

struct MappingPatch;

// CommitVersion on an open HDF5 file; `path` names it in messages. With
// `patches`, a dataset that maps the cells its base maps is copied from the
// base and noted there, for ApplyMappingPatch once the file is closed
// (mapping_patch.h); without, every changed dataset is built by HDF5.
Status CommitToOpenFile(hid_t file, const std::string& path, const NewVersion& version,
                        std::vector<MappingPatch>* patches = nullptr);

}  // namespace vh5
