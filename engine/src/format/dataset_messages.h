// The object header messages that say how a dataset is stored: dataspace
// (its shape), fill value and layout, each decoded here and nowhere else.
//
// Every decoder is bounded: a message that ends early, or holds a version,
// class or field HDF5 1.10.8 does not decode, is Corruption; nothing read
// from the file is trusted as a length. What the format allows but HDF5
// would still misread in context (a chunk too large for its datatype, a
// compact buffer of the wrong size) is message_check.h's to refuse; what a
// reader does not handle (another layout, a dataspace that is not simple) is
// its own to say.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "vh5/status.h"

namespace vh5 {

// The file's field widths, from its superblock (FileBytes).
struct MessageContext {
  size_t addr_size = 8;  // "size of offsets"
  size_t len_size = 8;   // "size of lengths"
  uint64_t undefined_address() const { return ~uint64_t{0} >> (64 - 8 * addr_size); }
};

// HDF5 keeps at most this many dimensions (H5S_MAX_RANK).
inline constexpr size_t kMaxRank = 32;

struct Dataspace {
  size_t length = 0;              // bytes of the encoding
  bool null = false;              // H5S_NULL: no elements
  std::vector<uint64_t> dims;     // empty for a scalar (or null) dataspace
  std::optional<uint64_t> count;  // elements; nullopt when the product overflows
  bool simple() const { return !null && !dims.empty(); }
};
Result<Dataspace> DecodeDataspace(std::span<const uint8_t> m, const MessageContext& ctx);

// A fill value message, of the new form or the old (`old_form`): the
// stored value's bytes, nullopt when none is defined.
struct FillValue {
  std::optional<std::span<const uint8_t>> value;
};
Result<FillValue> DecodeFillValue(std::span<const uint8_t> m, bool old_form);

enum class LayoutClass : uint8_t { kCompact = 0, kContiguous = 1, kChunked = 2, kVirtual = 3 };

struct Layout {
  uint8_t version = 0;  // 1 to 4
  LayoutClass layout_class = LayoutClass::kContiguous;
  // Contiguous: where the data lies. Chunked: the chunk index's address (a
  // version-1 B-tree in versions 1 to 3).
  uint64_t address = 0;
  // Chunked: the chunk's dimensions as stored, the element's size last.
  std::vector<uint64_t> chunk;
  uint8_t chunk_flags = 0;  // version 4
  uint8_t chunk_index = 0;  // version 4: H5D_chunk_index_t (1 single, 2 none, 3-5 arrays, trees)
  // Virtual: the global heap object of the mapping list; undefined until a
  // mapping is added.
  bool heap_defined = false;
  uint64_t heap_address = 0;
  uint32_t heap_index = 0;
  // Compact: the data, inside the message.
  std::span<const uint8_t> compact;
};
// Where a version-4 virtual layout keeps its heap address and index, from
// the message's start.
inline constexpr size_t kVirtualLayoutHeapIdOffset = 2;
Result<Layout> DecodeLayout(std::span<const uint8_t> m, const MessageContext& ctx);

}  // namespace vh5
