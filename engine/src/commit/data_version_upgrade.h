// Bringing a file of data_version 1-3 to 4 before the first commit onto it,
// as the Python library's rebuild_hashtables does: older libraries hashed
// object (string) chunks wrongly, so every hash table is rebuilt from the
// chunks the versions really map, then data_version becomes 4.
#pragma once

#include <hdf5.h>

#include "vh5/status.h"

namespace vh5 {

Status UpgradeToDataVersion4(hid_t file);

}  // namespace vh5
