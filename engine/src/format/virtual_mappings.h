// The mapping list of a virtual dataset, decoded from the global heap object
// its layout message points at, without any HDF5 dataspace.
//
// Each mapping is reduced to two boxes (start and count per dimension): its
// box of the virtual dataset and its box of the source dataset. That covers
// what versioned-hdf5 writes: a hyperslab of one block, or a regular
// hyperslab whose blocks touch. Anything else (irregular or strided
// selections, point selections, "all" on the source side, printf-style
// source names, other files) is Unsupported, for the caller to hand to
// HDF5; bytes that break the format are Corruption.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "format/file_bytes.h"
#include "vh5/status.h"

namespace vh5 {

struct MappingList {
  struct Entry {
    uint32_t source;  // index into sources
    uint32_t coords;  // offset in `coords`: vstart, vcount, sstart, scount (rank each)
  };
  size_t rank = 0;
  std::vector<std::string> sources;  // distinct source dataset names, in order of first use
  std::vector<Entry> entries;        // in the file's order
  std::vector<uint64_t> coords;

  const uint64_t* VirtualStart(const Entry& e) const { return &coords[e.coords]; }
  const uint64_t* VirtualCount(const Entry& e) const { return &coords[e.coords + rank]; }
  const uint64_t* SourceStart(const Entry& e) const { return &coords[e.coords + 2 * rank]; }
  const uint64_t* SourceCount(const Entry& e) const { return &coords[e.coords + 3 * rank]; }
};

// Encodes `list` as HDF5 1.10.8 stores the mapping list of the same
// mappings made by H5Pset_virtual, byte for byte: encoding 0, lengths of 8
// bytes, every source in this file ("."), each box a hyperslab of one
// block, the checksum last. Unsupported for an empty box.
Result<std::vector<uint8_t>> EncodeMappingList(const MappingList& list);

// Decodes a mapping list (the bytes of its global heap object) of a virtual
// dataset of `shape`; `len_size` is the file's "size of lengths".
Result<MappingList> DecodeMappingList(std::span<const uint8_t> block, size_t len_size,
                                      const std::vector<uint64_t>& shape);

// Object `index` of the global heap collection at `address`: its bytes and
// the file address where they begin.
struct GlobalHeapObject {
  uint64_t address = 0;
  std::vector<uint8_t> bytes;
};
Result<GlobalHeapObject> LocateGlobalHeapObject(const FileBytes& file, uint64_t address,
                                                uint32_t index);

// Whether HDF5 1.10.8 can decode the mapping list `block` of a virtual
// dataset of rank `rank` safely (H5O__layout_decode checks the checksum
// only after decoding every entry, without bounds): its checksum, then
// every entry inside the block, selections of any type included.
// Corruption when not; Unsupported for selections too large to hand it.
Status CheckMappingListEncoding(std::span<const uint8_t> block, size_t len_size, size_t rank);

// The whole global heap collection at `address`, header included: for a
// caller that reads several of its objects (ObjectInCollection).
Result<std::vector<uint8_t>> ReadGlobalHeapCollectionBytes(const FileBytes& file, uint64_t address);
// Object `index` of `collection` (ReadGlobalHeapCollectionBytes's bytes).
Result<std::span<const uint8_t>> ObjectInCollection(std::span<const uint8_t> collection,
                                                    uint32_t index);
// Every object of `collection`, by index: entry i is object i's bytes,
// empty where the collection holds none.
Result<std::vector<std::span<const uint8_t>>> CollectionObjects(
    std::span<const uint8_t> collection);
// The bytes only of object `index` of the global heap collection at `address`.
Result<std::vector<uint8_t>> ReadGlobalHeapObject(const FileBytes& file, uint64_t address,
                                                  uint32_t index);

}  // namespace vh5
