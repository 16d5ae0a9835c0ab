// The versioned-hdf5 hash (chunk_hash.h) of a chunk as raw_data stores it.
#pragma once

#include <cstdint>
#include <vector>

#include "format/chunk_hash.h"
#include "read/raw_data.h"
#include "vh5/status.h"

namespace vh5 {

// Hashes the box of `extent` elements at `start` of `raw`, as the library
// hashes a chunk of that extent (strings element by element).
Result<ChunkHash> HashRawChunk(const RawData& raw, const std::vector<uint64_t>& start,
                               const std::vector<uint64_t>& extent);

// Whether `raw` holds variable-length strings.
bool HoldsStrings(const RawData& raw);

}  // namespace vh5
