// Bytes read on demand: what a commit reads a dataset's content from, so
// that no commit holds a whole dataset in memory.
//
// Thread safety: as each implementation states (a committed version's
// Dataset may be read from any thread at once; staged content may not).
#pragma once

#include <cstddef>
#include <cstdint>

#include "vh5/status.h"

namespace vh5 {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  // Reads up to `len` bytes at `offset` into `out`; returns the number read
  // (less than `len` only at the end).
  virtual Result<size_t> Read(uint64_t offset, size_t len, char* out) const = 0;
};

}  // namespace vh5
