// A dataset of a committed version, read as the file the mount shows.
//
// The content is the elements in C order in their stored byte layout;
// variable-length strings are one element per line (see vlen_text.h).
// Regions no chunk covers read as the fill value.
//
// Thread safety: every method may be called from any thread at once.
#pragma once

#include <cstddef>
#include <cstdint>

#include "vh5/byte_source.h"
#include "vh5/metadata.h"
#include "vh5/status.h"

namespace vh5 {

// size() is the bytes of the file view: product(shape) * itemsize, or the
// length of the line format of a vlen-str dataset.
class Dataset : public ByteSource {
 public:
  virtual const DatasetInfo& info() const = 0;
};

}  // namespace vh5
