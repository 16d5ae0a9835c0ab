#include "format/dataset_messages.h"

#include <string>

#include "util/byte_decoder.h"
#include "vh5/shape.h"

namespace vh5 {
namespace {

// H5O_LAYOUT_NDIMS: a chunk's rank plus the element.
constexpr unsigned kMaxLayoutDims = kMaxRank + 1;

Status Bad(const char* what, const std::string& detail) {
  return Status::Corruption(std::string(what) + " message: " + detail);
}
Status Short(const char* what) { return Bad(what, "runs past its end"); }

// The parameters of a version-4 chunk index, which HDF5 requires nonzero,
// and the index's address after them.
Status DecodeChunkIndex(ByteDecoder* in, const MessageContext& ctx, Layout* out) {
  if (!in->U8(&out->chunk_index)) return Short("layout");
  bool ok = true;
  switch (out->chunk_index) {
    case 1:  // a single chunk: its filtered size and filter mask, when filtered
      if ((out->chunk_flags & 0x02) && !in->Skip(ctx.len_size + 4)) return Short("layout");
      break;
    case 2:  // implicit: none
      break;
    case 3: {  // fixed array
      uint8_t page_bits = 0;
      ok = in->U8(&page_bits) && page_bits != 0;
      break;
    }
    case 4:  // extensible array: five parameters
      for (int i = 0; i < 5 && ok; ++i) {
        uint8_t v = 0;
        ok = in->U8(&v) && v != 0;
      }
      break;
    case 5: {  // version-2 B-tree
      uint32_t node = 0;
      uint8_t split = 0, merge = 0;
      ok = in->U32(&node) && in->U8(&split) && in->U8(&merge) && node && split && merge;
      break;
    }
    default:
      return Bad("layout", "chunk index type " + std::to_string(out->chunk_index));
  }
  if (!ok) return Bad("layout", "bad chunk index parameters");
  if (!in->Uint(ctx.addr_size, &out->address)) return Short("layout");
  return Status::OK();
}

// Versions 3 and 4, after the version byte.
Status DecodeLayoutV3(ByteDecoder* in, const MessageContext& ctx, Layout* out,
                      uint64_t* compact_size) {
  uint8_t cls = 0;
  if (!in->U8(&cls)) return Short("layout");
  if (cls > 3) return Bad("layout", "class " + std::to_string(cls));
  out->layout_class = static_cast<LayoutClass>(cls);
  switch (out->layout_class) {
    case LayoutClass::kCompact: {
      uint16_t size = 0;
      if (!in->U16(&size)) return Short("layout");
      *compact_size = size;
      return Status::OK();
    }
    case LayoutClass::kContiguous:
      if (!in->Uint(ctx.addr_size, &out->address) || !in->Skip(ctx.len_size))
        return Short("layout");
      return Status::OK();
    case LayoutClass::kChunked: {
      uint8_t ndims = 0, width = 4;
      if (out->version == 4 && !in->U8(&out->chunk_flags)) return Short("layout");
      if (out->chunk_flags & ~0x03) return Bad("layout", "unknown chunk flags");
      if (!in->U8(&ndims)) return Short("layout");
      if (ndims > kMaxLayoutDims) return Bad("layout", std::to_string(ndims) + " dimensions");
      if (out->version == 4) {
        if (!in->U8(&width)) return Short("layout");
        if (width == 0 || width > 8)
          return Bad("layout", "dimensions of " + std::to_string(width) + " bytes");
      } else if (!in->Uint(ctx.addr_size, &out->address)) {
        return Short("layout");
      }
      out->chunk.resize(ndims);
      for (uint64_t& n : out->chunk)
        if (!in->Uint(width, &n)) return Short("layout");
      if (out->version == 4) return DecodeChunkIndex(in, ctx, out);
      return Status::OK();
    }
    case LayoutClass::kVirtual:
      if (out->version < 4)
        return Bad("layout", "a virtual layout of version " + std::to_string(out->version));
      if (!in->Uint(ctx.addr_size, &out->heap_address) || !in->U32(&out->heap_index))
        return Short("layout");
      out->heap_defined = out->heap_address != ctx.undefined_address();
      return Status::OK();
  }
  return Status::OK();
}

// Versions 1 and 2, after the version byte.
Status DecodeLayoutV1(ByteDecoder* in, const MessageContext& ctx, Layout* out,
                      uint64_t* compact_size) {
  uint8_t ndims = 0, cls = 0;
  if (!in->U8(&ndims) || !in->U8(&cls) || !in->Skip(5)) return Short("layout");
  if (ndims > kMaxLayoutDims) return Bad("layout", std::to_string(ndims) + " dimensions");
  if (cls > 2) return Bad("layout", "class " + std::to_string(cls));
  out->layout_class = static_cast<LayoutClass>(cls);
  if (out->layout_class != LayoutClass::kCompact && !in->Uint(ctx.addr_size, &out->address))
    return Short("layout");
  // The dimensions: the chunk's when chunked, the data's extent otherwise.
  std::vector<uint64_t> dims(ndims);
  for (uint64_t& n : dims) {
    uint32_t d = 0;
    if (!in->U32(&d)) return Short("layout");
    n = d;
  }
  if (out->layout_class == LayoutClass::kChunked) out->chunk = std::move(dims);
  if (out->layout_class == LayoutClass::kCompact) {
    uint32_t size = 0;
    if (!in->U32(&size)) return Short("layout");
    *compact_size = size;
  }
  return Status::OK();
}

}  // namespace

Result<Dataspace> DecodeDataspace(std::span<const uint8_t> m, const MessageContext& ctx) {
  ByteDecoder in(m);
  uint8_t version = 0, rank = 0, flags = 0, kind = 1;
  if (!in.U8(&version) || !in.U8(&rank) || !in.U8(&flags)) return Short("dataspace");
  if (version == 1) {
    if (!in.Skip(5)) return Short("dataspace");
    kind = rank > 0 ? 1 : 0;
  } else if (version == 2) {
    if (!in.U8(&kind)) return Short("dataspace");
    if (kind > 2) return Bad("dataspace", "class " + std::to_string(kind));
    if ((kind == 1) != (rank > 0))
      return Bad("dataspace", "class " + std::to_string(kind) + " of rank " + std::to_string(rank));
  } else {
    return Bad("dataspace", "version " + std::to_string(version));
  }
  if (rank > kMaxRank) return Bad("dataspace", "rank " + std::to_string(rank));
  Dataspace out;
  out.null = kind == 2;
  out.dims.resize(rank);
  for (uint64_t& d : out.dims)
    if (!in.Uint(ctx.len_size, &d)) return Short("dataspace");
  // The maximum dimensions, when present, are the dataset's own business.
  if ((flags & 0x01) && !in.Skip(uint64_t{rank} * ctx.len_size)) return Short("dataspace");
  out.count = out.null ? std::optional<uint64_t>(0) : CheckedProduct(out.dims);
  out.length = in.position();
  return out;
}

Result<FillValue> DecodeFillValue(std::span<const uint8_t> m, bool old_form) {
  ByteDecoder in(m);
  bool defined = true;
  if (!old_form) {
    uint8_t version = 0;
    if (!in.U8(&version)) return Short("fill value");
    if (version == 1 || version == 2) {
      uint8_t is_defined = 0;  // after the allocation and write times
      if (!in.Skip(2) || !in.U8(&is_defined)) return Short("fill value");
      defined = is_defined != 0;
    } else if (version == 3) {
      uint8_t flags = 0;
      if (!in.U8(&flags)) return Short("fill value");
      if (flags & ~0x3f) return Bad("fill value", "unknown flags");
      // Bit 4: undefined; bit 5: a value follows.
      if ((flags & 0x10) && (flags & 0x20)) return Bad("fill value", "undefined with a value");
      defined = flags & 0x20;
    } else {
      return Bad("fill value", "version " + std::to_string(version));
    }
  }
  FillValue out;
  if (!defined) return out;
  uint32_t size = 0;
  if (!in.U32(&size)) return Short("fill value");
  // HDF5 reads the size as signed: a "negative" one asks for 2^64 bytes.
  std::span<const uint8_t> value;
  if (!in.Bytes(size, &value)) return Bad("fill value", std::to_string(size) + " bytes of value");
  out.value = value;
  return out;
}

Result<Layout> DecodeLayout(std::span<const uint8_t> m, const MessageContext& ctx) {
  ByteDecoder in(m);
  Layout out;
  if (!in.U8(&out.version)) return Short("layout");
  if (out.version < 1 || out.version > 4)
    return Bad("layout", "version " + std::to_string(out.version));
  uint64_t compact_size = 0;
  VH5_RETURN_IF_ERROR(out.version < 3 ? DecodeLayoutV1(&in, ctx, &out, &compact_size)
                                      : DecodeLayoutV3(&in, ctx, &out, &compact_size));
  if (out.layout_class == LayoutClass::kCompact && !in.Bytes(compact_size, &out.compact))
    return Bad("layout", "compact data past its end");
  return out;
}

}  // namespace vh5
