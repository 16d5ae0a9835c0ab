// Global heap collections ("GCOL"): where HDF5 keeps variable-length data
// (h5py's str attributes and string datasets) and virtual datasets' mapping
// lists.
//
// HDF5 1.10.8 trusts a collection's object sizes: an object claiming more
// bytes than its collection holds is copied from past the end of the
// collection's buffer, a free-space object of size 0 never ends its walk,
// and a heap ID naming an index the collection does not hold is read
// through a null pointer. The engine walks a collection here, as HDF5 does
// but with every bound checked, before HDF5 reads it.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>

#include "format/file_bytes.h"
#include "vh5/status.h"

namespace vh5 {

struct GlobalHeapCollection {
  uint64_t size = 0;                               // bytes of the whole collection
  std::unordered_map<uint16_t, uint64_t> objects;  // index -> object size (index 0 is free space)
};

// The collection at file address `address`: Corruption unless it lies
// inside the file and every object lies inside it.
Result<GlobalHeapCollection> ReadGlobalHeapCollection(const FileBytes& file, uint64_t address);

// On-disk variable-length elements (string or sequence): each is a
// sequence length (4 bytes), a collection address and an object index
// (4 bytes). The layout of `element_size`-byte elements in `data`.
struct VlenReference {
  uint32_t length;  // elements of the sequence (bytes of a string)
  uint64_t collection;
  uint32_t index;
};
// The references of `data`, which holds whole elements of `element_size`
// bytes; Corruption when the size is not the format's 4 + addr_size + 4.
Result<std::vector<VlenReference>> VlenReferences(std::span<const uint8_t> data,
                                                  size_t element_size, size_t addr_size);

}  // namespace vh5
