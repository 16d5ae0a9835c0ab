// Bounds checks of the object header messages HDF5 1.10.8 decodes without
// checking its reads against the message's size: attribute, dataspace,
// fill value, layout, filter pipeline, link and group messages. Each check
// walks the message as HDF5's decoder would and says Corruption where HDF5
// would read past the end, divide by zero or index past an array.
//
// These only look at one message's bytes; object_check.h follows what they
// point at (global heap objects, committed datatypes, symbol tables).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "format/datatype_message.h"
#include "vh5/status.h"

namespace vh5 {

struct MessageContext {
  size_t addr_size = 8;  // the file's "size of offsets"
  size_t len_size = 8;   // the file's "size of lengths"
};

struct DataspaceFacts {
  size_t length = 0;              // bytes of the encoding
  bool null = false;              // H5S_NULL: no elements
  std::vector<uint64_t> dims;     // empty for a scalar
  std::optional<uint64_t> count;  // product of dims; nullopt when it overflows
};
Result<DataspaceFacts> CheckDataspace(std::span<const uint8_t> m, const MessageContext& ctx);

// A fill value message (new or old form); `value_size` receives the stored
// value's size (nullopt: none defined).
Status CheckFillValue(std::span<const uint8_t> m, bool old_form,
                      std::optional<uint32_t>* value_size);

// A layout message. `space` and `type` are the object's own (nullopt when
// the header has none or HDF5 decodes them itself). A virtual layout's
// mapping list address comes back in `heap` (collection address, index).
struct LayoutFacts {
  int layout_class = -1;  // 0 compact, 1 contiguous, 2 chunked, 3 virtual
  bool heap_defined = false;
  uint64_t heap_address = 0;
  uint32_t heap_index = 0;
  std::span<const uint8_t> compact;  // a compact dataset's data
};
Result<LayoutFacts> CheckLayout(std::span<const uint8_t> m, const MessageContext& ctx,
                                const std::optional<DataspaceFacts>& space,
                                const std::optional<DatatypeFacts>& type);

Status CheckFilterPipeline(std::span<const uint8_t> m);

// An attribute message: its parts, for the caller to follow.
struct AttributeFacts {
  bool shared_type = false;            // the datatype is a shared message
  std::span<const uint8_t> type;       // the datatype (or its shared message)
  std::optional<DatatypeFacts> facts;  // when not shared
  DataspaceFacts space;
  std::span<const uint8_t> data;  // npoints x element size bytes
};
Result<AttributeFacts> CheckAttribute(std::span<const uint8_t> m, const MessageContext& ctx);

// A shared message's encoding: the committed object's header address, or
// nullopt when it lives in the shared message heap.
Result<std::optional<uint64_t>> CheckSharedMessage(std::span<const uint8_t> m,
                                                   const MessageContext& ctx);

// A link message; `hard` receives a hard link's object address.
Status CheckLink(std::span<const uint8_t> m, const MessageContext& ctx,
                 std::optional<uint64_t>* hard);

// Link info and attribute info: `dense` is set when the links or attributes
// live in a fractal heap (which HDF5 reads on its own).
Status CheckLinkInfo(std::span<const uint8_t> m, const MessageContext& ctx, bool* dense);
Status CheckAttributeInfo(std::span<const uint8_t> m, const MessageContext& ctx, bool* dense);
Status CheckGroupInfo(std::span<const uint8_t> m);

// A symbol table message: the group's B-tree and local heap addresses.
Status CheckSymbolTableMessage(std::span<const uint8_t> m, const MessageContext& ctx,
                               uint64_t* btree, uint64_t* heap);

}  // namespace vh5
