#include "format/message_check.h"

#include <string>

#include "util/byte_decoder.h"

namespace vh5 {
namespace {

constexpr unsigned kMaxFilters = 32;             // H5Z_MAX_NFILTERS
constexpr uint64_t kMaxChunkBytes = 0xffffffff;  // HDF5 keeps a chunk's size in 32 bits
constexpr uint64_t kMaxEngineChunkBytes = uint64_t{1} << 30;

Status Bad(const char* what, const std::string& detail) {
  return Status::Corruption(std::string(what) + " message: " + detail);
}
Status Short(const char* what) { return Bad(what, "runs past its end"); }

uint64_t Align8(uint64_t n) { return (n + 7) / 8 * 8; }

}  // namespace

Status CheckFillValue(std::span<const uint8_t> m, bool old_form,
                      const std::optional<DatatypeFacts>& type) {
  VH5_ASSIGN_OR_RETURN(FillValue fill, DecodeFillValue(m, old_form));
  size_t size = fill.value ? fill.value->size() : 0;
  if (size != 0 && type && !type->vlen && !type->nested_vlen && size != type->size)
    return Status::Corruption("a fill value of " + std::to_string(size) +
                              " bytes for elements of " + std::to_string(type->size));
  return Status::OK();
}

Result<Layout> CheckLayout(std::span<const uint8_t> m, const MessageContext& ctx,
                           const std::optional<Dataspace>& space,
                           const std::optional<DatatypeFacts>& type) {
  VH5_ASSIGN_OR_RETURN(Layout out, DecodeLayout(m, ctx));
  if (out.layout_class == LayoutClass::kCompact && space && type && space->count && !type->vlen &&
      !type->nested_vlen && *space->count != 0 && out.compact.size() / *space->count != type->size)
    return Bad("layout", "compact data of " + std::to_string(out.compact.size()) + " bytes");
  if (out.layout_class == LayoutClass::kChunked) {
    // HDF5 divides by every chunk dimension and keeps their product in 32 bits.
    std::vector<uint64_t> chunk = out.chunk;
    if (chunk.size() < 2) return Bad("layout", "a chunk of rank " + std::to_string(chunk.size()));
    // HDF5 puts the datatype's size in place of the stored element size
    // before it multiplies (H5D__chunk_set_sizes), and leaks what it had
    // read when the product overflows: the same product, checked here.
    if (type && type->size != 0) chunk.back() = type->size;
    uint64_t bytes = 1;
    for (uint64_t c : chunk) {
      if (c == 0) return Bad("layout", "a chunk dimension of 0");
      if (c > kMaxChunkBytes || bytes > kMaxChunkBytes / c)
        return Bad("layout", "a chunk of 4 GiB or more");
      bytes *= c;
    }
    // HDF5 allocates a whole chunk to read any of it (hash tables and other
    // datasets read through HDF5): past 1 GiB a chunk is not one this engine
    // reads, whatever HDF5 would allow.
    if (bytes > kMaxEngineChunkBytes)
      return Status::Unsupported("layout message: a chunk of more than 1 GiB");
    // The last dimension is the element's size.
    if (space && chunk.size() != space->dims.size() + 1)
      return Bad("layout", "a chunk of another rank than the dataspace");
  }
  return out;
}

Status CheckFilterPipeline(std::span<const uint8_t> m) {
  ByteDecoder in(m);
  uint8_t version = 0, count = 0;
  if (!in.U8(&version) || !in.U8(&count)) return Short("filter pipeline");
  if (version != 1 && version != 2)
    return Bad("filter pipeline", "version " + std::to_string(version));
  if (count > kMaxFilters) return Bad("filter pipeline", std::to_string(count) + " filters");
  if (version == 1 && !in.Skip(6)) return Short("filter pipeline");
  for (unsigned i = 0; i < count; ++i) {
    uint16_t id = 0, name_length = 0, flags = 0, values = 0;
    if (!in.U16(&id)) return Short("filter pipeline");
    if (version == 1 || id >= 256) {
      if (!in.U16(&name_length)) return Short("filter pipeline");
      if (version == 1 && name_length % 8 != 0) return Bad("filter pipeline", "unaligned name");
    }
    if (!in.U16(&flags) || !in.U16(&values)) return Short("filter pipeline");
    if (name_length > 0) {
      std::span<const uint8_t> name;
      if (!in.Bytes(name_length, &name)) return Short("filter pipeline");
      // HDF5 copies the name with strcpy: its NUL must be inside.
      bool terminated = false;
      for (uint8_t c : name) terminated = terminated || c == 0;
      if (!terminated) return Bad("filter pipeline", "an unterminated filter name");
    }
    uint64_t skip = uint64_t{values} * 4 + (version == 1 && values % 2 ? 4 : 0);
    if (!in.Skip(skip)) return Short("filter pipeline");
  }
  return Status::OK();
}

Result<AttributeParts> SplitAttribute(std::span<const uint8_t> m) {
  ByteDecoder in(m);
  AttributeParts parts;
  uint16_t name_size = 0, type_size = 0, space_size = 0;
  if (!in.U8(&parts.version) || !in.U8(&parts.flags) || !in.U16(&name_size) ||
      !in.U16(&type_size) || !in.U16(&space_size))
    return Short("attribute");
  uint8_t version = parts.version;
  if (version < 1 || version > 3) return Bad("attribute", "version " + std::to_string(version));
  if (version == 1) parts.flags = 0;                           // reserved
  if (version == 3 && !in.Skip(1)) return Short("attribute");  // the name's character set
  auto part = [&](uint16_t size, std::span<const uint8_t>* out) {
    if (!in.Bytes(size, out)) return false;
    return version > 1 || in.Skip(Align8(size) - size);
  };
  if (!part(name_size, &parts.name) || !part(type_size, &parts.type) ||
      !part(space_size, &parts.space))
    return Short("attribute");
  parts.value_at = in.position();
  return parts;
}

Result<AttributeFacts> CheckAttribute(std::span<const uint8_t> m, const MessageContext& ctx) {
  VH5_ASSIGN_OR_RETURN(AttributeParts parts, SplitAttribute(m));
  uint8_t flags = parts.flags;
  if (flags & ~0x03) return Bad("attribute", "unknown flags");
  std::span<const uint8_t> name = parts.name, type = parts.type, space = parts.space;
  // HDF5 strdup()s the name and then compares its length with the size.
  if (name.empty() || name.back() != 0) return Bad("attribute", "an unterminated name");
  for (size_t i = 0; i + 1 < name.size(); ++i)
    if (name[i] == 0) return Bad("attribute", "a name shorter than its size");
  if (flags & 0x02) return Status::Unsupported("an attribute with a shared dataspace");
  AttributeFacts out;
  out.shared_type = flags & 0x01;
  out.type = type;
  if (!out.shared_type) {
    VH5_ASSIGN_OR_RETURN(DatatypeFacts facts, WalkDatatype(type));
    out.facts = facts;
  }
  VH5_ASSIGN_OR_RETURN(out.space, DecodeDataspace(space, ctx));
  if (out.space.length > space.size()) return Bad("attribute", "a dataspace past its size");
  if (!out.space.count) return Bad("attribute", "a dataspace whose size overflows");
  out.data = m.subspan(parts.value_at);
  if (out.facts) {
    uint64_t count = *out.space.count;
    if (count != 0 && out.facts->size > out.data.size() / count)
      return Bad("attribute", std::to_string(count) + " elements of " +
                                  std::to_string(out.facts->size) + " bytes in " +
                                  std::to_string(out.data.size()));
    out.data = out.data.first(count * out.facts->size);
  }
  return out;
}

Result<std::optional<uint64_t>> CheckSharedMessage(std::span<const uint8_t> m,
                                                   const MessageContext& ctx) {
  ByteDecoder in(m);
  uint8_t version = 0, kind = 0;
  if (!in.U8(&version) || !in.U8(&kind)) return Short("shared");
  uint64_t address = 0;
  switch (version) {
    case 1:
      if (!in.Skip(6 + ctx.len_size) || !in.Uint(ctx.addr_size, &address)) return Short("shared");
      return std::optional<uint64_t>(address);
    case 2:
      if (!in.Uint(ctx.addr_size, &address)) return Short("shared");
      return std::optional<uint64_t>(address);
    case 3:
      if (kind == 1) {  // in the shared message heap: HDF5 looks it up itself
        if (!in.Skip(8)) return Short("shared");
        return std::optional<uint64_t>();
      }
      if (kind != 2) return Bad("shared", "kind " + std::to_string(kind));
      if (!in.Uint(ctx.addr_size, &address)) return Short("shared");
      return std::optional<uint64_t>(address);
    default:
      return Bad("shared", "version " + std::to_string(version));
  }
}

Status CheckLink(std::span<const uint8_t> m, const MessageContext& ctx,
                 std::optional<uint64_t>* hard, std::string* name) {
  ByteDecoder in(m);
  hard->reset();
  uint8_t version = 0, flags = 0, kind = 0;
  if (!in.U8(&version) || !in.U8(&flags)) return Short("link");
  if (version != 1) return Bad("link", "version " + std::to_string(version));
  if (flags & ~0x1f) return Bad("link", "unknown flags");
  if ((flags & 0x08) && !in.U8(&kind)) return Short("link");
  if (kind > 1 && kind < 64) return Bad("link", "type " + std::to_string(kind));
  if ((flags & 0x04) && !in.Skip(8)) return Short("link");
  if (flags & 0x10) {
    uint8_t cset = 0;
    if (!in.U8(&cset)) return Short("link");
    if (cset > 1) return Bad("link", "character set " + std::to_string(cset));
  }
  uint64_t length = 0;
  if (!in.Uint(size_t{1} << (flags & 0x03), &length)) return Short("link");
  if (length == 0) return Bad("link", "an empty name");
  std::span<const uint8_t> name_bytes;
  if (!in.Bytes(length, &name_bytes)) return Short("link");
  if (name) name->assign(name_bytes.begin(), name_bytes.end());
  if (kind == 0) {
    uint64_t address = 0;
    if (!in.Uint(ctx.addr_size, &address)) return Short("link");
    *hard = address;
    return Status::OK();
  }
  uint16_t size = 0;
  if (!in.U16(&size)) return Short("link");
  if (kind == 1 && size == 0) return Bad("link", "an empty soft link");
  if (!in.Skip(size)) return Short("link");
  return Status::OK();
}

namespace {

// The link info and attribute info messages share one layout: version,
// flags, a maximum creation index of `index_bytes` when tracked, the
// fractal heap and name index addresses, and an order index when indexed.
Status CheckHeapInfo(const char* what, size_t index_bytes, std::span<const uint8_t> m,
                     const MessageContext& ctx, DenseStorage* dense) {
  ByteDecoder in(m);
  uint8_t version = 0, flags = 0;
  uint64_t heap = 0, name_index = 0, order_index = 0;
  if (!in.U8(&version) || !in.U8(&flags)) return Short(what);
  if (version != 0) return Bad(what, "version " + std::to_string(version));
  if (flags & ~0x03) return Bad(what, "unknown flags");
  if ((flags & 0x01) && !in.Skip(index_bytes)) return Short(what);
  if (!in.Uint(ctx.addr_size, &heap) || !in.Uint(ctx.addr_size, &name_index)) return Short(what);
  if ((flags & 0x02) && !in.Uint(ctx.addr_size, &order_index)) return Short(what);
  *dense = DenseStorage{};
  dense->dense = heap != ctx.undefined_address();
  dense->heap = heap;
  dense->name_index = name_index;
  if (flags & 0x02) dense->order_index = order_index;
  return Status::OK();
}

}  // namespace

Status CheckLinkInfo(std::span<const uint8_t> m, const MessageContext& ctx, DenseStorage* dense) {
  return CheckHeapInfo("link info", 8, m, ctx, dense);
}

Status CheckAttributeInfo(std::span<const uint8_t> m, const MessageContext& ctx,
                          DenseStorage* dense) {
  return CheckHeapInfo("attribute info", 2, m, ctx, dense);
}

Status CheckGroupInfo(std::span<const uint8_t> m) {
  ByteDecoder in(m);
  uint8_t version = 0, flags = 0;
  if (!in.U8(&version) || !in.U8(&flags)) return Short("group info");
  if (version != 0) return Bad("group info", "version " + std::to_string(version));
  if (flags & ~0x03) return Bad("group info", "unknown flags");
  if ((flags & 0x01) && !in.Skip(4)) return Short("group info");
  if ((flags & 0x02) && !in.Skip(4)) return Short("group info");
  return Status::OK();
}

Status CheckSymbolTableMessage(std::span<const uint8_t> m, const MessageContext& ctx,
                               uint64_t* btree, uint64_t* heap) {
  ByteDecoder in(m);
  if (!in.Uint(ctx.addr_size, btree) || !in.Uint(ctx.addr_size, heap)) return Short("symbol table");
  return Status::OK();
}

}  // namespace vh5
