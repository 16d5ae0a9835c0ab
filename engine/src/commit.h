// Committing through a file the caller already holds open read-write.
#pragma once

#include <hdf5.h>

#include <string>

#include "vh5/writer.h"

namespace vh5 {

// CommitVersion on an open HDF5 file; `path` names it in messages.
Status CommitToOpenFile(hid_t file, const std::string& path, const NewVersion& version);

}  // namespace vh5
