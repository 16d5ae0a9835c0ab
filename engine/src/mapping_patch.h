// The commit's shortcut past HDF5's virtual dataset builder.
//
// HDF5 builds a virtual dataset at about 20 us per mapping (H5Pset_virtual
// and H5Dcreate2 copy every selection several times), and H5Ocopy of one
// costs as much (it decodes the list first): 0.6 s for the 32,768 chunks of
// a 1 GiB dataset, however few of them changed. Yet a dataset that is
// unchanged, or that maps the very cells its base maps, has the base's
// mapping list, byte for byte, up to the raw_data rows of the changed
// chunks. So the commit has HDF5 create the dataset with a virtual layout
// and no mapping, and once HDF5 has closed the file, inside the same
// transaction, stores the list itself: the base's encoding with the new
// rows, in global heap collections appended at the end of the file (small
// lists sharing one, as HDF5 fills them; the superblock's end-of-file
// address moved past them, as HDF5 would allocate them), and the layout
// message pointed at it. Any file this does not know
// (another superblock or object header version, an unexpected layout) is
// Unsupported, and the caller commits again the ordinary way.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "file_bytes.h"
#include "vh5/status.h"

namespace vh5 {

class Transaction;

struct MappingPatch {
  std::string path;             // the dataset in the new version, for errors
  uint64_t header_address = 0;  // its object header: a virtual layout without mappings
  std::vector<uint8_t> block;   // its mapping list, encoded, with its checksum
};

// Stores every patch's list through `txn`; `file` reads through `txn`
// (FileBytes::Of(hid_t, const Transaction*)) and HDF5 has closed the file.
Status ApplyMappingPatches(const FileBytes& file, Transaction* txn,
                           const std::vector<MappingPatch>& patches);

}  // namespace vh5
