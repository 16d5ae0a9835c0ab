// Objects of global heap collections (global_heap.h) read with pread(2), the
// collections read last kept: a version's mapping lists and string values
// share a few collections, so a walk over its nodes reads each once.
//
// Thread safety: none; one per walk.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "format/file_bytes.h"
#include "vh5/status.h"

namespace vh5 {

class GlobalHeapObjects {
 public:
  explicit GlobalHeapObjects(const FileBytes& file) : file_(file) {}

  // Object `index` of the collection at `collection`; valid until the next
  // call. Corruption when the collection does not hold it.
  Result<std::span<const uint8_t>> Get(uint64_t collection, uint32_t index);

 private:
  static constexpr size_t kCollectionsKept = 8;
  struct Collection {
    uint64_t address;
    std::vector<uint8_t> bytes;
    std::vector<std::span<const uint8_t>> objects;  // by index, into bytes
  };
  const FileBytes& file_;
  std::vector<Collection> collections_;  // newest last
};

}  // namespace vh5
