// Writing one dataset of a new version, as the Python library does: each
// chunk hashed with SHA-256 (chunk_hash.h); a chunk its path's hash table
// knows is reused, a new one appended to its path's raw_data; then a virtual
// dataset maps every chunk of the version to its place in raw_data. A chunk
// holding nothing but the fill value is not stored and has no mapping.
#pragma once

#include <hdf5.h>

#include <string>
#include <vector>

#include "commit/mapping_patch.h"
#include "commit/version_plan.h"
#include "format/chunk_index.h"
#include "vh5/status.h"

namespace vh5 {

// Writes `plan`'s dataset into `version_group` of `file`, an HDF5 file open
// read-write; what the plan keeps, it keeps from version `base`. With
// `patches`, a mapping list is left for ApplyMappingPatches to store once
// HDF5 has closed the file (mapping_patch.h); without, HDF5 builds it.
// Chunks are hashed on every core. `hash_tables`, `chunk_indexes`: see
// VersionPlan.
Status WriteDataset(hid_t file, hid_t version_group, const std::string& base,
                    const DatasetPlan& plan, std::vector<MappingPatch>* patches,
                    HashTableCache* hash_tables = nullptr,
                    const std::map<std::string, ChunkIndex>* chunk_indexes = nullptr);

}  // namespace vh5
