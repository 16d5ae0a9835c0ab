#include "format/attribute_values.h"

#include <algorithm>
#include <cstring>

#include "format/dataset_messages.h"
#include "format/global_heap.h"
#include "format/message_check.h"
#include "util/byte_decoder.h"

namespace vh5 {

namespace {

// Datatype classes (the low nibble of a datatype message's first byte).
constexpr uint8_t kFixedPointClass = 0;
constexpr uint8_t kStringClass = 3;
constexpr uint8_t kEnumClass = 8;
constexpr uint8_t kVlenClass = 9;
constexpr size_t kTypeHeaderBytes = 8;  // class and version, bit field, size

// A scalar attribute's value: its type's bytes and its one element's.
struct Scalar {
  std::span<const uint8_t> type;
  std::span<const uint8_t> value;
};

Result<Scalar> ScalarOf(const HeaderMessage& m, const MessageContext& ctx) {
  if (m.flags & kMessageShared) return Status::Unsupported("a shared attribute message");
  VH5_ASSIGN_OR_RETURN(AttributeFacts attr, CheckAttribute(m.data, ctx));
  if (attr.shared_type || !attr.facts) return Status::Unsupported("an attribute of a shared type");
  if (attr.space.count != uint64_t{1}) return Status::Unsupported("an attribute that is no scalar");
  if (attr.type.size() < kTypeHeaderBytes) return Status::Unsupported("a short datatype");
  return Scalar{attr.type, attr.data};
}

uint8_t ClassOf(std::span<const uint8_t> type) { return type[0] & 0x0f; }

uint32_t SizeOf(std::span<const uint8_t> type) {
  return static_cast<uint32_t>(LoadLe(type.data() + 4, 4));
}

// An integer type whose value fills its bytes (no padding bits to skip).
bool PlainInteger(std::span<const uint8_t> type) {
  if (type.size() < kTypeHeaderBytes + 4 || ClassOf(type) != kFixedPointClass) return false;
  uint32_t size = SizeOf(type);
  uint16_t offset = static_cast<uint16_t>(LoadLe(type.data() + 8, 2));
  uint16_t precision = static_cast<uint16_t>(LoadLe(type.data() + 10, 2));
  return size >= 1 && size <= 8 && offset == 0 && precision == 8 * size;
}

}  // namespace

Result<const HeaderMessage*> AttributeValues::Find(const ObjectHeader& header,
                                                   std::string_view name) {
  MessageContext ctx{file_.addr_size(), file_.len_size()};
  const HeaderMessage* found = nullptr;
  for (const HeaderMessage& m : header.messages()) {
    if (m.type == kAttributeInfoMessage) {
      DenseStorage dense;
      VH5_RETURN_IF_ERROR(CheckAttributeInfo(m.data, ctx, &dense));
      if (dense.dense) return Status::Unsupported("attributes in a fractal heap");
    } else if (m.type == kAttributeMessage && !found) {
      if (m.flags & kMessageShared) return Status::Unsupported("a shared attribute message");
      VH5_ASSIGN_OR_RETURN(AttributeParts parts, SplitAttribute(m.data));
      std::span<const uint8_t> stored = parts.name;  // with its NUL
      if (stored.size() == name.size() + 1 && stored.back() == 0 &&
          std::memcmp(stored.data(), name.data(), name.size()) == 0)
        found = &m;
    }
  }
  return found;
}

Result<bool> AttributeValues::Has(const ObjectHeader& header, std::string_view name) {
  VH5_ASSIGN_OR_RETURN(const HeaderMessage* m, Find(header, name));
  return m != nullptr;
}

Result<std::string> AttributeValues::String(const ObjectHeader& header, std::string_view name) {
  VH5_ASSIGN_OR_RETURN(const HeaderMessage* m, Find(header, name));
  if (!m) return Status::NotFound("no attribute " + std::string(name));
  MessageContext ctx{file_.addr_size(), file_.len_size()};
  VH5_ASSIGN_OR_RETURN(Scalar scalar, ScalarOf(*m, ctx));
  std::span<const uint8_t> text;
  bool space_padded = false;
  switch (ClassOf(scalar.type)) {
    case kStringClass:
      space_padded = (scalar.type[1] & 0x0f) == 2;
      text = scalar.value;
      break;
    case kVlenClass: {
      if ((scalar.type[1] & 0x0f) != 1) return Status::Unsupported("a variable-length sequence");
      VH5_ASSIGN_OR_RETURN(std::vector<VlenReference> refs,
                           VlenReferences(scalar.value, scalar.value.size(), file_.addr_size()));
      if (refs.size() != 1) return Status::Unsupported("not one variable-length string");
      const VlenReference& ref = refs[0];
      // A null reference or an empty string: HDF5 gives "" for both.
      if (ref.collection == 0 || ref.length == 0) return std::string();
      VH5_ASSIGN_OR_RETURN(std::span<const uint8_t> object, heap_->Get(ref.collection, ref.index));
      if (ref.length > object.size())
        return Status::Unsupported("a string longer than its heap object");
      text = object.first(ref.length);
      break;
    }
    default:
      return Status::Unsupported("an attribute that is no string");
  }
  const uint8_t* nul = std::find(text.begin(), text.end(), uint8_t{0}).base();
  std::string out(reinterpret_cast<const char*>(text.data()),
                  static_cast<size_t>(nul - text.data()));
  if (space_padded) {
    while (!out.empty() && out.back() == ' ') out.pop_back();
  }
  return out;
}

Result<bool> AttributeValues::NonZero(const ObjectHeader& header, std::string_view name) {
  VH5_ASSIGN_OR_RETURN(const HeaderMessage* m, Find(header, name));
  if (!m) return Status::NotFound("no attribute " + std::string(name));
  MessageContext ctx{file_.addr_size(), file_.len_size()};
  VH5_ASSIGN_OR_RETURN(Scalar scalar, ScalarOf(*m, ctx));
  std::span<const uint8_t> integer = scalar.type;
  if (ClassOf(scalar.type) == kEnumClass) integer = scalar.type.subspan(kTypeHeaderBytes);
  if (!PlainInteger(integer) || SizeOf(integer) != SizeOf(scalar.type) ||
      scalar.value.size() != SizeOf(integer))
    return Status::Unsupported("an attribute that is no plain integer");
  return std::any_of(scalar.value.begin(), scalar.value.end(), [](uint8_t b) { return b != 0; });
}

}  // namespace vh5
