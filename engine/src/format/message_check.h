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
#include <string>
#include <vector>

#include "format/dataset_messages.h"
#include "format/datatype_message.h"
#include "vh5/status.h"

namespace vh5 {

// A fill value message (new or old form) for elements of `type` (nullopt:
// unknown here): HDF5 hands its value on as one element.
Status CheckFillValue(std::span<const uint8_t> m, bool old_form,
                      const std::optional<DatatypeFacts>& type);

// A layout message, against the object's own dataspace and datatype
// (nullopt when the header has none or HDF5 decodes them itself): the
// chunk's size and rank, the compact data's size.
Result<Layout> CheckLayout(std::span<const uint8_t> m, const MessageContext& ctx,
                           const std::optional<Dataspace>& space,
                           const std::optional<DatatypeFacts>& type);

Status CheckFilterPipeline(std::span<const uint8_t> m);

// An attribute message: its parts, for the caller to follow.
struct AttributeFacts {
  bool shared_type = false;            // the datatype is a shared message
  std::span<const uint8_t> type;       // the datatype (or its shared message)
  std::optional<DatatypeFacts> facts;  // when not shared
  Dataspace space;
  std::span<const uint8_t> data;  // npoints x element size bytes
};
Result<AttributeFacts> CheckAttribute(std::span<const uint8_t> m, const MessageContext& ctx);
// The same message cut into its parts, bounded but not checked: for a
// reader that has checked it once and meets its bytes again.
struct AttributeParts {
  uint8_t version = 0;
  uint8_t flags = 0;                           // 0 in version 1 (reserved there)
  std::span<const uint8_t> name, type, space;  // the name with its NUL
  size_t value_at = 0;                         // where the value begins
};
Result<AttributeParts> SplitAttribute(std::span<const uint8_t> m);

// A shared message's encoding: the committed object's header address, or
// nullopt when it lives in the shared message heap.
Result<std::optional<uint64_t>> CheckSharedMessage(std::span<const uint8_t> m,
                                                   const MessageContext& ctx);

// A link message; `hard` receives a hard link's object address, and
// `name`, if given, the link's name.
Status CheckLink(std::span<const uint8_t> m, const MessageContext& ctx,
                 std::optional<uint64_t>* hard, std::string* name = nullptr);

// Link info and attribute info: where the links or attributes live when
// they are "dense" (in a fractal heap, indexed by v2 B-trees), which HDF5
// reads on its own once dense_storage_check.h has checked the headers.
struct DenseStorage {
  bool dense = false;
  uint64_t heap = 0;                    // the fractal heap's header
  uint64_t name_index = 0;              // the v2 B-tree by name
  std::optional<uint64_t> order_index;  // the v2 B-tree by creation order, if any
};
Status CheckLinkInfo(std::span<const uint8_t> m, const MessageContext& ctx, DenseStorage* dense);
Status CheckAttributeInfo(std::span<const uint8_t> m, const MessageContext& ctx,
                          DenseStorage* dense);
Status CheckGroupInfo(std::span<const uint8_t> m);

// A symbol table message: the group's B-tree and local heap addresses.
Status CheckSymbolTableMessage(std::span<const uint8_t> m, const MessageContext& ctx,
                               uint64_t* btree, uint64_t* heap);

}  // namespace vh5
