// A dataset's datatype from the raw bytes of its datatype message.
//
// HDF5 1.10's H5Tdecode reads an encoded type with no length, trusting the
// bytes; so the message is first walked here, bounded, and only handed to
// H5Tdecode (with the two bytes H5Tencode puts in front: message type 3,
// encoding version 0) once it is known to fit and to be well formed.
#pragma once

#include <cstdint>
#include <span>

#include "hdf5/h5_handle.h"
#include "vh5/status.h"

namespace vh5 {

// The encoded length of the datatype at the start of `message`: Corruption
// if it runs past the end or breaks the format's rules, Unsupported for
// classes or versions this walker does not know.
Result<size_t> DatatypeLength(std::span<const uint8_t> message);

// What the walk learns about a datatype besides its length.
struct DatatypeFacts {
  size_t length = 0;         // bytes of the encoding
  uint32_t size = 0;         // element size as stored
  bool vlen = false;         // the type itself is a variable-length string or sequence
  uint32_t vlen_base = 0;    // element size of its base type (1 for strings)
  bool nested_vlen = false;  // a variable-length type inside a compound, array or enum
};
Result<DatatypeFacts> WalkDatatype(std::span<const uint8_t> message);

// The datatype of `message` as an HDF5 type in memory.
Result<h5::Handle> DecodeDatatype(std::span<const uint8_t> message);

}  // namespace vh5
