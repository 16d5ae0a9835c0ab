// Writing a version into a versioned file HDF5 has open read-write, as the
// Python library does: the version group with committed False, its groups
// and datasets (dataset_writer.h), then committed True and, if asked, the
// new current_version. A file of data_version 1 to 3 is upgraded first
// (data_version_upgrade.h). Not atomic by itself: atomic_commit.h makes it so.
#pragma once

#include <hdf5.h>

#include <string>
#include <vector>

#include "commit/mapping_patch.h"
#include "commit/version_plan.h"
#include "vh5/status.h"

namespace vh5 {

// Writes `plan` into `file`; `path` names it in messages. With `patches`,
// mapping lists are left for ApplyMappingPatches once the file is closed
// (mapping_patch.h). A version that fails part way is unlinked again.
Status WriteVersion(hid_t file, const std::string& path, const VersionPlan& plan,
                    std::vector<MappingPatch>* patches);

}  // namespace vh5
