#include "format/datatype_message.h"

#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "format/dataset_messages.h"
#include "util/byte_decoder.h"

namespace vh5 {
namespace {

constexpr int kMaxDepth = 16;  // nesting of compound, enum, vlen and array types

enum Class : uint8_t {
  kFixed = 0,
  kFloat = 1,
  kTime = 2,
  kString = 3,
  kBitfield = 4,
  kOpaque = 5,
  kCompound = 6,
  kReference = 7,
  kEnum = 8,
  kVlen = 9,
  kArray = 10,
};

Status Bad(const std::string& what) { return Status::Corruption("datatype message: " + what); }
Status Short() { return Bad("runs past its end"); }

// Bytes needed to store `limit` (HDF5's H5VM_limit_enc_size).
size_t LimitBytes(uint64_t limit) {
  size_t bits = 0;
  while (limit >>= 1) ++bits;
  return bits / 8 + 1;
}

// Skips a name padded (with its NUL) to a multiple of 8 bytes before version
// 3, or just NUL-terminated from version 3 on.
bool SkipName(ByteDecoder& in, unsigned version) {
  size_t start = in.position();
  std::string_view name;
  if (!in.CString(&name)) return false;
  if (version >= 3) return true;
  size_t used = in.position() - start;
  return in.Skip((used + 7) / 8 * 8 - used);
}

// Walks one datatype; `size` receives its element size. `vlen` is set when
// it is or holds a variable-length type.
Status Walk(ByteDecoder& in, int depth, uint32_t* size, bool* vlen) {
  if (depth > kMaxDepth) return Status::Unsupported("datatype nested too deeply");
  uint32_t head = 0;
  if (!in.U32(&head) || !in.U32(size)) return Short();
  unsigned version = (head >> 4) & 0x0f;
  unsigned type_class = head & 0x0f;
  uint32_t bits = head >> 8;
  if (version < 1 || version > 4)
    return Status::Unsupported("datatype version " + std::to_string(version));
  if (*size == 0) return Bad("an element size of 0");
  uint64_t size_bits = uint64_t{*size} * 8;

  switch (type_class) {
    case kFixed:
    case kBitfield: {
      uint16_t offset = 0, precision = 0;
      if (!in.U16(&offset) || !in.U16(&precision)) return Short();
      if (precision == 0 || uint64_t{offset} + precision > size_bits)
        return Bad("bits outside the element");
      return Status::OK();
    }
    case kFloat: {
      uint16_t offset = 0, precision = 0;
      uint8_t epos = 0, esize = 0, mpos = 0, msize = 0;
      uint32_t bias = 0;
      if (!in.U16(&offset) || !in.U16(&precision) || !in.U8(&epos) || !in.U8(&esize) ||
          !in.U8(&mpos) || !in.U8(&msize) || !in.U32(&bias))
        return Short();
      if (((bits >> 4) & 0x03) == 3) return Bad("unknown float normalization");
      uint64_t sign = (bits >> 8) & 0xff;
      if (precision == 0 || esize == 0 || msize == 0 || uint64_t{offset} + precision > size_bits ||
          uint64_t{epos} + esize > size_bits || uint64_t{mpos} + msize > size_bits ||
          sign >= size_bits)
        return Bad("float fields outside the element");
      return Status::OK();
    }
    case kTime: {
      uint16_t precision = 0;
      if (!in.U16(&precision)) return Short();
      return Status::OK();
    }
    case kString:
      return Status::OK();
    case kOpaque: {
      size_t tag = bits & 0xff;
      if (tag % 8 != 0) return Bad("opaque tag not aligned");
      if (!in.Skip(tag)) return Short();
      return Status::OK();
    }
    case kCompound: {
      unsigned members = bits & 0xffff;
      if (members == 0) return Bad("a compound with no members");
      // HDF5 refuses overlapping members only after allocating them, and
      // leaks what it allocated: refused here first. Start -> end of each.
      std::map<uint64_t, uint64_t> taken;
      for (unsigned i = 0; i < members; ++i) {
        if (!SkipName(in, version)) return Short();
        uint64_t offset = 0;
        if (!in.Uint(version >= 3 ? LimitBytes(*size) : 4, &offset)) return Short();
        if (version == 1) {
          uint8_t dims = 0;
          if (!in.U8(&dims) || !in.Skip(3 + 4 + 4 + 16)) return Short();
          // HDF5 wraps a version-1 member with dimensions in an array type of
          // its own; not worth decoding for versioned data.
          if (dims != 0) return Status::Unsupported("a compound member with dimensions");
        }
        uint32_t member_size = 0;
        VH5_RETURN_IF_ERROR(Walk(in, depth + 1, &member_size, vlen));
        if (offset + member_size > *size) return Bad("a compound member outside the element");
        if (member_size == 0) continue;  // covers nothing, as HDF5 counts overlaps
        uint64_t end = offset + member_size;
        auto next = taken.lower_bound(offset);
        if ((next != taken.end() && next->first < end) ||
            (next != taken.begin() && std::prev(next)->second > offset))
          return Bad("compound members that overlap");
        taken.emplace(offset, end);
      }
      return Status::OK();
    }
    case kReference: {
      unsigned kind = bits & 0x0f;
      if (kind > 1) return Status::Unsupported("reference kind " + std::to_string(kind));
      return Status::OK();
    }
    case kEnum: {
      unsigned members = bits & 0xffff;
      uint32_t base_size = 0;
      VH5_RETURN_IF_ERROR(Walk(in, depth + 1, &base_size, vlen));
      if (base_size != *size) return Bad("an enum whose base has another size");
      for (unsigned i = 0; i < members; ++i)
        if (!SkipName(in, version)) return Short();
      if (!in.Skip(uint64_t{members} * base_size)) return Short();
      return Status::OK();
    }
    case kVlen: {
      unsigned kind = bits & 0x0f;
      if (kind > 1) return Bad("unknown variable-length kind");
      *vlen = true;
      uint32_t base_size = 0;
      return Walk(in, depth + 1, &base_size, vlen);
    }
    case kArray: {
      uint8_t rank = 0;
      if (!in.U8(&rank)) return Short();
      if (rank > kMaxRank) return Bad("an array of rank " + std::to_string(rank));
      if (version < 3 && !in.Skip(3)) return Short();
      uint64_t elements = 1;
      for (unsigned d = 0; d < rank; ++d) {
        uint32_t n = 0;
        if (!in.U32(&n)) return Short();
        elements *= n;
        if (elements > *size) return Bad("an array larger than its element");
      }
      if (version < 3 && !in.Skip(uint64_t{4} * rank)) return Short();
      uint32_t base_size = 0;
      VH5_RETURN_IF_ERROR(Walk(in, depth + 1, &base_size, vlen));
      if (elements * base_size != *size) return Bad("an array whose size does not add up");
      return Status::OK();
    }
    default:
      return Status::Unsupported("datatype class " + std::to_string(type_class));
  }
}

}  // namespace

Result<size_t> DatatypeLength(std::span<const uint8_t> message) {
  VH5_ASSIGN_OR_RETURN(DatatypeFacts facts, WalkDatatype(message));
  return facts.length;
}

Result<DatatypeFacts> WalkDatatype(std::span<const uint8_t> message) {
  ByteDecoder in(message);
  DatatypeFacts facts;
  bool vlen = false;
  VH5_RETURN_IF_ERROR(Walk(in, 0, &facts.size, &vlen));
  facts.length = in.position();
  if (vlen && message.size() >= 8 && (message[0] & 0x0f) == kVlen) {
    // The base type follows the 8-byte header of the vlen type.
    ByteDecoder base(message.subspan(8));
    bool nested = false;
    VH5_RETURN_IF_ERROR(Walk(base, 1, &facts.vlen_base, &nested));
    facts.vlen = true;
    facts.nested_vlen = nested;
  } else {
    facts.nested_vlen = vlen;
  }
  return facts;
}

Result<h5::Handle> DecodeDatatype(std::span<const uint8_t> message) {
  VH5_ASSIGN_OR_RETURN(size_t length, DatatypeLength(message));
  // H5Tencode's layout: the datatype message id (3), encoding version 0, the message.
  std::vector<uint8_t> encoded = {3, 0};
  encoded.insert(encoded.end(), message.begin(), message.begin() + length);
  h5::Handle type(H5Tdecode(encoded.data()));
  if (!type) return h5::Error("cannot decode the datatype message", Status::Code::kUnsupported);
  return type;
}

}  // namespace vh5
