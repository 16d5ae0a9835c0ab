// A raw_data dataset: the chunk store one versioned dataset's versions share.
//
// ReadBlock copies a box of elements, in C order, out of raw_data. A box
// inside one unfiltered, allocated chunk is read with pread(2) at the chunk's
// file offset, outside HDF5 (whose virtual-dataset layer is ~100x slower);
// anything else goes through H5Dread, which applies the filters.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "fd.h"
#include "h5_handle.h"
#include "vh5/status.h"

namespace vh5 {

// The compression spelling of a dataset creation property list's filters:
// the compressor first, then shuffle and fletcher32, as h5py's keywords read
// ("none", "gzip:4,shuffle", "lzf", "fletcher32").
std::string DescribeFilters(hid_t dcpl);

class RawData {
 public:
  // `file` is the open HDF5 file, `fd` a read-only descriptor of the same
  // file, `base_address` HDF5's base address in it (the user block's size).
  static Result<std::shared_ptr<RawData>> Open(hid_t file, std::shared_ptr<const Fd> fd,
                                               uint64_t base_address, const std::string& path);

  const std::string& path() const { return path_; }
  hid_t type() const { return type_.get(); }
  size_t itemsize() const { return itemsize_; }
  const std::vector<uint64_t>& chunk_dims() const { return chunk_dims_; }
  const std::vector<uint64_t>& dims() const { return dims_; }
  bool filtered() const { return filtered_; }
  // "none", "gzip:4", "gzip:4,shuffle", "lzf", ...
  const std::string& compression() const { return compression_; }

  // Copies the box [start, start + count) of elements, C order, into `out`
  // (product(count) * itemsize bytes). Not for variable-length types.
  Status ReadBlock(const uint64_t* start, const uint64_t* count, char* out) const;

  // Reads the box as variable-length strings, appended to `out` in C order.
  Status ReadStrings(const uint64_t* start, const uint64_t* count,
                     std::vector<std::string>* out) const;

 private:
  struct ChunkLocation {
    uint64_t offset = 0;  // absolute file offset of the chunk's bytes
    bool allocated = false;
    bool raw = false;  // stored without filters applied
  };

  RawData() = default;
  Result<ChunkLocation> Locate(const uint64_t* chunk_origin) const;
  Status ReadThroughHdf5(const uint64_t* start, const uint64_t* count, hid_t mem_type,
                         void* out) const;

  std::string path_;
  h5::Handle dataset_;
  h5::Handle type_;
  size_t itemsize_ = 0;
  std::vector<uint64_t> dims_;
  std::vector<uint64_t> chunk_dims_;
  bool filtered_ = false;
  std::string compression_ = "none";
  std::shared_ptr<const Fd> fd_;
  uint64_t base_address_ = 0;

  mutable std::mutex mu_;                                          // guards locations_
  mutable std::unordered_map<uint64_t, ChunkLocation> locations_;  // by linear chunk index
};

}  // namespace vh5
