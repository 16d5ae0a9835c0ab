#include "offline/raw_chunk_hash.h"

#include <string>
#include <string_view>

namespace vh5 {

bool HoldsStrings(const RawData& raw) {
  return H5Tget_class(raw.type()) == H5T_STRING && H5Tis_variable_str(raw.type()) > 0;
}

Result<ChunkHash> HashRawChunk(const RawData& raw, const std::vector<uint64_t>& start,
                               const std::vector<uint64_t>& extent) {
  if (HoldsStrings(raw)) {
    std::vector<std::string> values;
    VH5_RETURN_IF_ERROR(raw.ReadStrings(start.data(), extent.data(), &values));
    return HashStringChunk(std::vector<std::string_view>(values.begin(), values.end()), extent);
  }
  uint64_t n = raw.itemsize();
  for (uint64_t e : extent) n *= e;
  std::string bytes(n, '\0');
  VH5_RETURN_IF_ERROR(raw.ReadBlock(start.data(), extent.data(), bytes.data()));
  return HashFixedChunk(bytes, extent);
}

}  // namespace vh5
