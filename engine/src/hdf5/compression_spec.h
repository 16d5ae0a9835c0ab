// The text of user.vh5.compression ("none", "gzip:4,shuffle", "lzf",
// "fletcher32", ...) as the filters it names. Parsed when staging is told
// it, so that a spelling no commit could write is refused at once.
#pragma once

#include <hdf5.h>

#include <string>

#include "vh5/status.h"

namespace vh5 {

struct CompressionSpec {
  bool shuffle = false;
  bool fletcher32 = false;
  std::string compressor;  // "", "lzf" or "gzip"
  int gzip_level = 4;
};

// InvalidArgument for an unknown filter, a gzip level outside 0-9 or two
// compressors.
Result<CompressionSpec> ParseCompression(const std::string& text);

// Sets the filters on `dcpl` in h5py's pipeline order: shuffle, the
// compressor, fletcher32.
Status SetFilters(hid_t dcpl, const CompressionSpec& spec);

}  // namespace vh5
