#include "format/virtual_mappings.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <optional>

#include "format/dataset_messages.h"
#include "util/byte_decoder.h"
#include "util/checksum.h"

namespace vh5 {
namespace {

constexpr uint64_t kUnlimited = ~uint64_t{0};

// Serialized selection types (H5S_sel_type).
constexpr uint32_t kSelectNone = 0;
constexpr uint32_t kSelectPoints = 1;
constexpr uint32_t kSelectHyperslabs = 2;
constexpr uint32_t kSelectAll = 3;
constexpr uint8_t kHyperRegular = 0x01;

// Mapping list encodings: 0 (every HDF5 up to 1.14), 1 (HDF5 2.0: a flags
// byte per entry that lets names be shared with an earlier entry).
constexpr uint8_t kNameFileShared = 0x01;
constexpr uint8_t kNameDatasetShared = 0x02;
constexpr uint8_t kNameSameFile = 0x04;

Status Bad(const std::string& what) { return Status::Corruption("virtual mapping list: " + what); }
Status Short() { return Bad("runs past its end"); }

// A selection as a box; `all` when it selects the whole extent. Fixed
// arrays: a dataset has tens of thousands of these to decode.
struct Box {
  bool all = false;
  uint64_t start[kMaxRank];
  uint64_t count[kMaxRank];
};

// One regular dimension: `n` blocks of `block` elements every `stride`.
Status RegularDim(uint64_t start, uint64_t stride, uint64_t n, uint64_t block, uint64_t* lo,
                  uint64_t* len) {
  if (n == kUnlimited || block == kUnlimited) return Status::Unsupported("an unlimited mapping");
  if (n > 1 && stride != block) return Status::Unsupported("a strided mapping");
  if (n != 0 && block > kUnlimited / n) return Bad("a hyperslab whose size overflows");
  *lo = start;
  *len = n * block;
  if (*len > kUnlimited - start) return Bad("a hyperslab past 2^64");
  return Status::OK();
}

Status DecodeHyperslab(ByteDecoder& in, size_t rank, Box* box) {
  uint32_t version = 0;
  if (!in.U32(&version)) return Short();
  uint8_t flags = 0;
  size_t width = 4;  // bytes per coordinate
  if (version == 1) {
    if (!in.Skip(8)) return Short();  // padding, length
  } else if (version == 2) {
    if (!in.U8(&flags) || !in.Skip(4)) return Short();  // flags, length
    width = 8;
  } else if (version == 3) {
    uint8_t size = 0;
    if (!in.U8(&flags) || !in.U8(&size)) return Short();
    if (size != 2 && size != 4 && size != 8)
      return Bad("a coordinate size of " + std::to_string(size));
    width = size;
  } else {
    return Status::Unsupported("hyperslab selection version " + std::to_string(version));
  }
  if (flags & ~kHyperRegular) return Bad("unknown hyperslab flags");
  if (version == 1 && flags) return Bad("flags in a version-1 hyperslab");
  uint32_t stored_rank = 0;
  if (!in.U32(&stored_rank)) return Short();
  if (stored_rank == 0 || stored_rank > kMaxRank)
    return Bad("a selection of rank " + std::to_string(stored_rank));
  if (stored_rank != rank) return Bad("a mapping of the wrong rank");
  // Values of all ones mean "unlimited" at every coordinate width.
  uint64_t all_ones = width == 8 ? kUnlimited : (uint64_t{1} << (8 * width)) - 1;
  auto widen = [&](uint64_t v) { return v == all_ones ? kUnlimited : v; };
  if (flags & kHyperRegular) {
    for (size_t d = 0; d < rank; ++d) {
      uint64_t start = 0, stride = 0, n = 0, block = 0;
      if (!in.Uint(width, &start) || !in.Uint(width, &stride) || !in.Uint(width, &n) ||
          !in.Uint(width, &block))
        return Short();
      VH5_RETURN_IF_ERROR(
          RegularDim(start, stride, widen(n), widen(block), &box->start[d], &box->count[d]));
    }
    return Status::OK();
  }
  uint64_t blocks = 0;
  if (!in.Uint(width, &blocks)) return Short();
  if (blocks > in.remaining() / (2 * rank * width)) return Bad("more blocks than bytes");
  // HDF5 merges several blocks into one selection; a box is one block.
  if (blocks != 1) return Status::Unsupported(std::to_string(blocks) + " blocks in a mapping");
  for (size_t d = 0; d < rank; ++d)
    if (!in.Uint(width, &box->start[d])) return Short();
  for (size_t d = 0; d < rank; ++d) {
    uint64_t end = 0;
    if (!in.Uint(width, &end)) return Short();
    if (end < box->start[d] || end == kUnlimited) return Bad("a block that ends before it starts");
    box->count[d] = end - box->start[d] + 1;
  }
  return Status::OK();
}

Status DecodeSelection(ByteDecoder& in, size_t rank, Box* box) {
  uint32_t type = 0;
  if (!in.U32(&type)) return Short();
  switch (type) {
    case kSelectNone:
    case kSelectAll: {
      uint32_t version = 0;
      if (!in.U32(&version)) return Short();
      if (version != 1) return Status::Unsupported("selection version " + std::to_string(version));
      if (!in.Skip(8)) return Short();
      box->all = type == kSelectAll;
      std::fill_n(box->start, rank, 0);
      std::fill_n(box->count, rank, 0);
      return Status::OK();
    }
    case kSelectHyperslabs:
      box->all = false;
      return DecodeHyperslab(in, rank, box);
    case kSelectPoints:
      return Status::Unsupported("a point selection in a mapping");
    default:
      return Bad("selection type " + std::to_string(type));
  }
}

// A source name; version 1 may point at an earlier entry's name instead.
Status DecodeName(ByteDecoder& in, bool shared, size_t len_size, size_t entry,
                  const std::vector<std::string_view>& earlier, std::string_view* name) {
  if (!shared) return in.CString(name) ? Status::OK() : Bad("an unterminated name");
  uint64_t origin = 0;
  if (!in.Uint(len_size, &origin)) return Short();
  if (origin >= entry) return Bad("a name shared with a later entry");
  *name = earlier[static_cast<size_t>(origin)];
  return Status::OK();
}

}  // namespace

Result<MappingList> DecodeMappingList(std::span<const uint8_t> block, size_t len_size,
                                      const std::vector<uint64_t>& shape) {
  if (block.size() < 4) return Short();
  uint32_t stored = static_cast<uint32_t>(LoadLe(block.data() + block.size() - 4, 4));
  if (MetadataChecksum(block.first(block.size() - 4)) != stored) return Bad("checksum mismatch");
  ByteDecoder in(block.first(block.size() - 4));
  uint8_t encoding = 0;
  uint64_t count = 0;
  if (!in.U8(&encoding) || !in.Uint(len_size, &count)) return Short();
  if (encoding > 1) return Status::Unsupported("mapping list encoding " + std::to_string(encoding));
  // Each entry takes at least two names' terminators and two 16-byte selections.
  if (count > in.remaining() / 34) return Bad("more entries than bytes");

  MappingList list;
  size_t rank = shape.size();
  if (rank == 0 || rank > kMaxRank)
    return Status::Unsupported("a dataset of rank " + std::to_string(rank));
  list.rank = rank;
  list.entries.reserve(static_cast<size_t>(count));
  list.coords.reserve(static_cast<size_t>(count) * 4 * rank);
  std::vector<std::string_view> files, datasets;  // per entry, for version 1's shared names
  Box source, virt;
  for (size_t i = 0; i < count; ++i) {
    uint8_t flags = 0;
    if (encoding == 1) {
      if (!in.U8(&flags)) return Short();
      if (flags & ~(kNameFileShared | kNameDatasetShared | kNameSameFile))
        return Bad("unknown entry flags");
    }
    std::string_view file = ".", dataset;
    if (!(flags & kNameSameFile))
      VH5_RETURN_IF_ERROR(DecodeName(in, flags & kNameFileShared, len_size, i, files, &file));
    VH5_RETURN_IF_ERROR(
        DecodeName(in, flags & kNameDatasetShared, len_size, i, datasets, &dataset));
    if (encoding == 1) {
      files.push_back(file);
      datasets.push_back(dataset);
    }
    if (file != ".")
      return Status::Unsupported("a mapping into another file (" + std::string(file) + ")");
    // HDF5 expands %b and %% in source names; only plain names are read here.
    if (dataset.find('%') != std::string_view::npos)
      return Status::Unsupported("a source name with printf-style specifiers");
    VH5_RETURN_IF_ERROR(DecodeSelection(in, rank, &source));
    VH5_RETURN_IF_ERROR(DecodeSelection(in, rank, &virt));
    if (source.all) return Status::Unsupported("a mapping of a whole source dataset");
    if (virt.all) std::copy(shape.begin(), shape.end(), virt.count);
    if (!std::equal(source.count, source.count + rank, virt.count))
      return Status::Unsupported("a mapping whose source box differs in shape");

    uint32_t index = 0;
    while (index < list.sources.size() && list.sources[index] != dataset) ++index;
    if (index == list.sources.size()) list.sources.emplace_back(dataset);
    list.entries.push_back({index, static_cast<uint32_t>(list.coords.size())});
    if (list.coords.size() > UINT32_MAX - 4 * rank) return Bad("too many mappings");
    list.coords.insert(list.coords.end(), virt.start, virt.start + rank);
    list.coords.insert(list.coords.end(), virt.count, virt.count + rank);
    list.coords.insert(list.coords.end(), source.start, source.start + rank);
    list.coords.insert(list.coords.end(), source.count, source.count + rank);
  }
  if (in.remaining() != 0) return Bad("bytes left after the last entry");
  return list;
}

namespace {

// A box as HDF5 1.10.8 serializes a one-block hyperslab: version 1 (the
// block's first and last coordinates, 32 bits each) when its last
// coordinates fit 32 bits, else version 2 (regular: start, stride, count
// and block, 64 bits each).
Status AppendBox(std::vector<uint8_t>* out, size_t rank, const uint64_t* start,
                 const uint64_t* count) {
  bool narrow = true;
  for (size_t d = 0; d < rank; ++d) {
    if (count[d] == 0) return Status::Unsupported("an empty mapping");
    if (count[d] - 1 > kUnlimited - 1 - start[d]) return Bad("a box past 2^64");
    narrow = narrow && start[d] + count[d] - 1 <= UINT32_MAX;
  }
  AppendLe(out, 4, kSelectHyperslabs);
  if (narrow) {
    AppendLe(out, 4, 1);
    AppendLe(out, 4, 0);
    AppendLe(out, 4, 8 + 8 * rank);
    AppendLe(out, 4, rank);
    AppendLe(out, 4, 1);
    for (size_t d = 0; d < rank; ++d) AppendLe(out, 4, start[d]);
    for (size_t d = 0; d < rank; ++d) AppendLe(out, 4, start[d] + count[d] - 1);
    return Status::OK();
  }
  AppendLe(out, 4, 2);
  AppendLe(out, 1, kHyperRegular);
  AppendLe(out, 4, 4 + 32 * rank);
  AppendLe(out, 4, rank);
  for (size_t d = 0; d < rank; ++d) {
    for (uint64_t v : {start[d], uint64_t{1}, uint64_t{1}, count[d]}) AppendLe(out, 8, v);
  }
  return Status::OK();
}

}  // namespace

Result<std::vector<uint8_t>> EncodeMappingList(const MappingList& list) {
  size_t rank = list.rank;
  if (rank == 0 || rank > kMaxRank)
    return Status::Unsupported("a dataset of rank " + std::to_string(rank));
  std::vector<uint8_t> out;
  size_t names = 0;
  for (const std::string& s : list.sources) names = std::max(names, s.size());
  out.reserve(9 + list.entries.size() * (names + 3 + 2 * (24 + 8 * rank)) + 4);
  AppendLe(&out, 1, 0);
  AppendLe(&out, 8, list.entries.size());
  for (const MappingList::Entry& e : list.entries) {
    const std::string& source = list.sources.at(e.source);
    out.push_back('.');
    out.push_back('\0');
    out.insert(out.end(), source.begin(), source.end());
    out.push_back('\0');
    VH5_RETURN_IF_ERROR(AppendBox(&out, rank, list.SourceStart(e), list.SourceCount(e)));
    VH5_RETURN_IF_ERROR(AppendBox(&out, rank, list.VirtualStart(e), list.VirtualCount(e)));
  }
  AppendLe(&out, 4, MetadataChecksum(out));
  return out;
}

namespace {

// HDF5 ORs each block of an irregular selection into a span tree: quadratic
// in their number. A mapping of versioned data is one block.
constexpr uint64_t kMaxSelectionBlocks = 4096;

// One serialized selection, walked as H5S_select_deserialize reads it.
// `rank` is what the selection must have (0: any up to 32).
Status CheckSelection(ByteDecoder& in, size_t rank) {
  uint32_t type = 0, version = 0;
  if (!in.U32(&type) || !in.U32(&version)) return Short();
  if (type == kSelectNone || type == kSelectAll) return in.Skip(8) ? Status::OK() : Short();
  uint8_t flags = 0;
  uint32_t stored_rank = 0;
  if (type == kSelectPoints) {
    if (!in.Skip(8) || !in.U32(&stored_rank)) return Short();
  } else if (type == kSelectHyperslabs) {
    if (version == 1) {
      if (!in.Skip(8)) return Short();
    } else if (version == 2) {
      if (!in.U8(&flags) || !in.Skip(4)) return Short();
      if (flags & ~kHyperRegular) return Bad("unknown hyperslab flags");
    } else {
      return Bad("hyperslab selection version " + std::to_string(version));
    }
    if (!in.U32(&stored_rank)) return Short();
  } else {
    return Bad("selection type " + std::to_string(type));
  }
  if (stored_rank == 0 || stored_rank > kMaxRank || (rank != 0 && stored_rank != rank))
    return Bad("a selection of rank " + std::to_string(stored_rank));
  if (flags & kHyperRegular) {
    for (size_t d = 0; d < stored_rank; ++d) {
      uint64_t start = 0, stride = 0, count = 0, block = 0;
      if (!in.U64(&start) || !in.U64(&stride) || !in.U64(&count) || !in.U64(&block)) return Short();
      if (count == kUnlimited || block == kUnlimited) continue;
      if (count > 1 && stride < block) return Bad("a hyperslab whose blocks overlap");
      if (count > 1 && (count - 1 > (kUnlimited - block) / std::max<uint64_t>(stride, 1) ||
                        (count - 1) * stride + block > kUnlimited - start))
        return Bad("a hyperslab past 2^64");
      if (count <= 1 && block > kUnlimited - start) return Bad("a hyperslab past 2^64");
    }
    return Status::OK();
  }
  uint32_t n = 0;
  if (!in.U32(&n)) return Short();
  uint64_t per = (type == kSelectPoints ? 1 : 2) * uint64_t{stored_rank} * 4;
  if (n > in.remaining() / per) return Bad("more selected blocks than bytes");
  if (n > kMaxSelectionBlocks)
    return Status::Unsupported("a mapping of " + std::to_string(n) + " blocks or points");
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t coords[2 * kMaxRank];
    for (uint64_t k = 0; k < per / 4; ++k) in.U32(&coords[k]);
    if (type == kSelectHyperslabs)
      for (size_t d = 0; d < stored_rank; ++d)
        if (coords[stored_rank + d] < coords[d]) return Bad("a block that ends before it starts");
  }
  return Status::OK();
}

}  // namespace

Status CheckMappingListEncoding(std::span<const uint8_t> block, size_t len_size, size_t rank) {
  if (block.size() < 4) return Short();
  uint32_t stored = static_cast<uint32_t>(LoadLe(block.data() + block.size() - 4, 4));
  if (MetadataChecksum(block.first(block.size() - 4)) != stored) return Bad("checksum mismatch");
  if (rank == 0 || rank > kMaxRank) return Bad("a virtual dataset of rank " + std::to_string(rank));
  ByteDecoder in(block.first(block.size() - 4));
  uint8_t encoding = 0;
  uint64_t count = 0;
  if (!in.U8(&encoding) || !in.Uint(len_size, &count)) return Short();
  // HDF5 1.10 reads encoding 0 only (and refuses others itself, cleanly).
  if (encoding != 0) return Status::OK();
  if (count > in.remaining() / 34) return Bad("more entries than bytes");
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view file, dataset;
    if (!in.CString(&file) || !in.CString(&dataset)) return Bad("an unterminated name");
    VH5_RETURN_IF_ERROR(CheckSelection(in, 0));
    VH5_RETURN_IF_ERROR(CheckSelection(in, rank));
  }
  return Status::OK();
}

Result<std::vector<uint8_t>> ReadGlobalHeapObject(const FileBytes& file, uint64_t address,
                                                  uint32_t index) {
  VH5_ASSIGN_OR_RETURN(GlobalHeapObject object, LocateGlobalHeapObject(file, address, index));
  return std::move(object.bytes);
}

Result<std::vector<uint8_t>> ReadGlobalHeapCollectionBytes(const FileBytes& file,
                                                           uint64_t address) {
  // Collection: "GCOL", version 1, 3 reserved bytes, collection size; then
  // objects: index (2), references (2), reserved (4), size, data padded to 8.
  size_t len = file.len_size();
  if (len != 8) return Status::Unsupported("global heap with lengths of " + std::to_string(len));
  std::vector<uint8_t> head;
  VH5_RETURN_IF_ERROR(file.Read(address, 16, &head));
  if (std::memcmp(head.data(), "GCOL", 4) != 0 || head[4] != 1)
    return Status::Corruption("bad global heap collection");
  uint64_t size = LoadLe(head.data() + 8, 8);
  if (size < 16) return Status::Corruption("global heap collection too small");
  std::vector<uint8_t> collection;
  VH5_RETURN_IF_ERROR(file.Read(address, size, &collection));
  return collection;
}

namespace {

// Calls `visit(index, bytes)` for each object of `collection` until it
// returns true.
Status VisitCollection(std::span<const uint8_t> collection,
                       const std::function<bool(uint16_t, std::span<const uint8_t>)>& visit) {
  ByteDecoder in(collection);
  in.Skip(16);
  while (in.remaining() >= 16) {
    uint16_t id = 0;
    uint64_t object_size = 0;
    in.U16(&id);
    in.Skip(6);
    in.U64(&object_size);
    if (id == 0) break;  // free space: the rest of the collection
    std::span<const uint8_t> data;
    if (!in.Bytes(object_size, &data)) return Status::Corruption("global heap object overflows");
    if (visit(id, data)) break;
    in.Skip((8 - object_size % 8) % 8);  // the padding may be cut short at the collection's end
  }
  return Status::OK();
}

}  // namespace

Result<std::span<const uint8_t>> ObjectInCollection(std::span<const uint8_t> collection,
                                                    uint32_t index) {
  std::optional<std::span<const uint8_t>> found;
  VH5_RETURN_IF_ERROR(VisitCollection(collection, [&](uint16_t id, std::span<const uint8_t> data) {
    if (id == index) found = data;
    return found.has_value();
  }));
  if (!found)
    return Status::Corruption("no object " + std::to_string(index) + " in the global heap");
  return *found;
}

Result<std::vector<std::span<const uint8_t>>> CollectionObjects(
    std::span<const uint8_t> collection) {
  std::vector<std::span<const uint8_t>> out;
  VH5_RETURN_IF_ERROR(VisitCollection(collection, [&](uint16_t id, std::span<const uint8_t> data) {
    if (out.size() <= id) out.resize(size_t{id} + 1);
    out[id] = data;
    return false;
  }));
  return out;
}

Result<GlobalHeapObject> LocateGlobalHeapObject(const FileBytes& file, uint64_t address,
                                                uint32_t index) {
  VH5_ASSIGN_OR_RETURN(std::vector<uint8_t> collection,
                       ReadGlobalHeapCollectionBytes(file, address));
  VH5_ASSIGN_OR_RETURN(std::span<const uint8_t> data, ObjectInCollection(collection, index));
  // Keep the collection's buffer (no second allocation to fault in).
  size_t at = static_cast<size_t>(data.data() - collection.data());
  size_t size = data.size();
  std::memmove(collection.data(), collection.data() + at, size);
  collection.resize(size);
  return GlobalHeapObject{address + at, std::move(collection)};
}

}  // namespace vh5
