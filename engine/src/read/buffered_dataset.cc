#include "read/buffered_dataset.h"

#include <algorithm>
#include <cstring>

namespace vh5 {

Result<size_t> BufferedDataset::Read(uint64_t offset, size_t len, char* out) const {
  if (offset >= content_.size()) return size_t{0};
  size_t n = static_cast<size_t>(std::min<uint64_t>(len, content_.size() - offset));
  std::memcpy(out, content_.data() + offset, n);
  return n;
}

}  // namespace vh5
