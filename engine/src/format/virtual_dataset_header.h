// A version's virtual dataset read from its object header with pread(2):
// type, shape, fill value and mappings, without opening it through HDF5.
//
// H5Dopen of a virtual dataset copies every mapping's dataspaces several
// times (0.7 s for 32,768 mappings); this reads the same facts from the
// file's bytes in milliseconds. Whatever it does not decode (another header
// or message version, a shared message, a selection other than a box, a
// dataset that is not virtual) is Unsupported, and the caller asks HDF5.
//
// Thread safety: any number of calls may run at once; only FileBytes::Of
// and H5Tdecode enter HDF5 (which holds its own lock), the rest is pread.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "format/chunk_map.h"
#include "format/virtual_mappings.h"
#include "hdf5/h5_handle.h"
#include "vh5/status.h"

namespace vh5 {

struct VirtualDatasetHeader {
  h5::Handle type;              // the dataset's datatype, in memory
  std::vector<uint64_t> shape;  // rank >= 1
  // The fill value's bytes: the stored value when the file defines one,
  // else zeros (HDF5's default and "undefined" both read as zeros); empty
  // for variable-length types.
  std::string fill;
  MappingList mappings;
};

// The header of the virtual dataset at absolute `path` of `file`. `fd` is a
// read-only descriptor of the same file, or -1 to open it by H5Fget_name.
// `block`, if given, receives the encoded mapping list (empty when there is
// none).
Result<VirtualDatasetHeader> ReadVirtualDatasetHeader(hid_t file, int fd, const std::string& path,
                                                      std::vector<uint8_t>* block = nullptr);

// The chunk map of the version dataset at absolute `path`, split along
// `cell_dims` (its "chunks" attribute), for the commit path's base version.
// Unsupported when the fast reader declines (or `cell_dims` has another
// rank): use H5Dopen and ChunkMap::Parse then.
Result<ChunkMap> ReadVersionChunkMap(hid_t file, int fd, const std::string& path,
                                     const std::vector<uint64_t>& cell_dims);

// The same map, with the mapping list as decoded and as encoded, for a
// commit that reuses the encoding (mapping_patch.h).
struct VersionMappings {
  h5::Handle type;   // the dataset's datatype
  std::string fill;  // as VirtualDatasetHeader::fill
  ChunkMap map;
  MappingList list;
  std::vector<uint8_t> block;  // empty: the dataset maps nothing
};
Result<VersionMappings> ReadVersionMappings(hid_t file, int fd, const std::string& path,
                                            const std::vector<uint64_t>& cell_dims);

}  // namespace vh5
