// The file offset of every allocated chunk of a chunked dataset, read once
// from its version-1 B-tree: the chunk index HDF5 writes for datasets of the
// earliest file format, which is what h5py and versioned-hdf5 write.
//
// HDF5 1.10's own per-chunk query (H5Dget_chunk_info_by_coord) scans the
// whole index on every call; this reads it once, so that a chunk can then be
// read with pread(2) outside HDF5's global lock. Files using other index
// kinds (the 1.10 "latest" format) get Unsupported, and the caller falls back
// to HDF5's direct chunk reads.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "vh5/status.h"

namespace vh5 {

class ChunkIndex {
 public:
  struct Entry {
    uint64_t offset;       // absolute file offset of the stored chunk
    uint32_t size;         // stored bytes
    uint32_t filter_mask;  // bit i set: filter i was skipped for this chunk
  };

  // Reads the index of chunked `dataset` of `file` through `fd` (the same file).
  // `known`, if given, is an index read of the same dataset earlier, no
  // chunk of it moved since (only chunks added, along axis 0, as raw_data
  // grows): the subtrees holding only chunks it knows are not read again,
  // so that the read after each commit costs what the commit added.
  static Result<ChunkIndex> Read(hid_t file, hid_t dataset, int fd,
                                 const ChunkIndex* known = nullptr);

  // The chunk whose first element is at `origin`, or nullptr if unallocated.
  const Entry* Find(const uint64_t* origin) const;
  size_t size() const { return entries_.size(); }

 private:
  std::vector<uint64_t> chunk_dims_;
  std::vector<uint64_t> grid_;  // chunks per dimension, for linear keys
  // Rows along axis 0 below which every stored chunk is indexed and whole
  // (the dataset's extent then, down to a multiple of the chunk).
  uint64_t complete_rows_ = 0;
  std::unordered_map<uint64_t, Entry> entries_;  // by linear chunk index
};

}  // namespace vh5
