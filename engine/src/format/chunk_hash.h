// Chunk hashes exactly as versioned-hdf5 computes them (Hashtable.hash):
// SHA-256 over the chunk's C-order bytes trimmed to its real extent, then the
// ASCII of Python's repr of that extent as a tuple. A variable-length string
// chunk hashes each element's UTF-8 length as 8 bytes little-endian and then
// its bytes, and finally the extent.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vh5 {

using ChunkHash = std::array<uint8_t, 32>;

ChunkHash HashFixedChunk(std::string_view bytes, const std::vector<uint64_t>& extent);
ChunkHash HashStringChunk(const std::vector<std::string_view>& elements,
                          const std::vector<uint64_t>& extent);

}  // namespace vh5
