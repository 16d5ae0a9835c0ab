// HDF5's metadata checksum: Bob Jenkins' lookup3 hash ("hashlittle") with
// an initial value of 0, as the format uses for version-2 object headers,
// global heap blocks of virtual datasets and other checksummed metadata.
#pragma once

#include <cstdint>
#include <span>

namespace vh5 {

uint32_t MetadataChecksum(std::span<const uint8_t> bytes);

}  // namespace vh5
