// The commit's shortcut past HDF5's virtual dataset builder.
//
// HDF5 builds a virtual dataset at about 20 us per mapping (H5Pset_virtual
// and H5Dcreate2 copy every selection several times, the close encodes
// them), and H5Ocopy of one costs as much (it decodes the list first): 0.7 s
// for the 32,768 chunks of a 1 GiB dataset, however few of them changed. So
// the commit has HDF5 create the dataset with a virtual layout and no
// mapping, and once HDF5 has closed the file, inside the same transaction,
// stores the list itself: an unchanged dataset's is its base's, byte for
// byte; a changed one's is encoded as HDF5 1.10.8 encodes it
// (EncodeMappingList). The lists go into global heap collections appended
// at the end of the file (small lists sharing one, as HDF5 fills them; the
// superblock's end-of-file address moved past them, as HDF5 would allocate
// them), and each layout message is pointed at its list. Any file this does
// not know (another superblock or object header version, an unexpected
// layout) is Unsupported, and the caller commits again the ordinary way.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/file_bytes.h"
#include "vh5/status.h"

namespace vh5 {

class Transaction;

struct MappingPatch {
  std::string path;             // the dataset in the new version, for errors
  uint64_t header_address = 0;  // its object header: a virtual layout without mappings
  std::vector<uint8_t> block;   // its mapping list, encoded, with its checksum
};

// Stores every patch's list through `txn`; `file` reads through `txn`
// (FileBytes::Of with Transaction::view()) and HDF5 has closed the file.
Status ApplyMappingPatches(const FileBytes& file, Transaction* txn,
                           const std::vector<MappingPatch>& patches);

}  // namespace vh5
