// A raw_data dataset: the chunk store one versioned dataset's versions share.
//
// ReadBlock copies a box of elements, in C order, out of raw_data, never
// through HDF5's virtual-dataset layer (~100x slower). A box inside one
// unfiltered chunk is read with pread(2) at the chunk's file offset, outside
// HDF5's global lock (offsets from ChunkIndex), or with one direct chunk read
// when the file's chunk index is of a kind ChunkIndex does not parse. A box
// inside one compressed chunk comes out of the chunk decoded once, outside
// HDF5 (FilterPipeline), and kept in the process's MemoryCache; anything else
// goes through H5Dread of raw_data, which applies the filters.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "format/chunk_hash.h"
#include "format/chunk_index.h"
#include "format/object_check.h"
#include "hdf5/filter_pipeline.h"
#include "hdf5/h5_handle.h"
#include "read/file_state.h"
#include "read/memory_cache.h"
#include "util/fd.h"
#include "vh5/metadata.h"
#include "vh5/mutex.h"
#include "vh5/status.h"

namespace vh5 {

// The compression spelling of a dataset creation property list's filters:
// the compressor first, then shuffle and fletcher32, as h5py's keywords read
// ("none", "gzip:4,shuffle", "lzf", "fletcher32").
std::string DescribeFilters(hid_t dcpl);

class RawData {
 public:
  // Opens the raw_data dataset at absolute `path` of `file`; `fd` is a
  // read-only descriptor of the same file (nullptr: read through HDF5 only).
  // Every read of the file passes DiskRead with `access` (file_state.h).
  // `known`: an index of the same raw_data read before, of which no chunk
  // moved since (ChunkIndex::Read).
  static Result<std::shared_ptr<RawData>> Open(hid_t file, std::shared_ptr<const Fd> fd,
                                               const std::string& path, DiskAccess access = {},
                                               const ChunkIndex* known = nullptr);

  ~RawData();

  const std::string& path() const { return path_; }
  // The chunk index read at open; nullptr when none was (reads go through HDF5).
  const ChunkIndex* index() const { return index_ ? &*index_ : nullptr; }
  // What this object holds in memory, roughly: its HDF5 dataset and chunk index.
  uint64_t MemoryBytes() const;
  hid_t type() const { return type_.get(); }
  size_t itemsize() const { return itemsize_; }
  const std::vector<uint64_t>& chunk_dims() const { return chunk_dims_; }
  const std::vector<uint64_t>& dims() const { return dims_; }
  bool filtered() const { return filtered_; }
  // "none", "gzip:4", "gzip:4,shuffle", "lzf", ...
  const std::string& compression() const { return compression_; }
  // dtype, chunks, fill value and compression (vh5/version.h StoredLayout).
  Result<DatasetInfo> Layout() const;

  // Copies the box [start, start + count) of elements, C order, into `out`
  // (product(count) * itemsize bytes). Not for variable-length types.
  Status ReadBlock(const uint64_t* start, const uint64_t* count, char* out) const;

  // Where rows [row, row + rows) along axis 0 lie in the file, as one range:
  // their absolute offset, when they sit whole in one stored, unfiltered
  // chunk; nullopt otherwise (read them with ReadBlock). The chunk's rows are
  // contiguous there, every trailing dimension of the chunk being in them.
  std::optional<uint64_t> RowsOffset(uint64_t row, uint64_t rows) const;
  // The stored chunk whose first element is at `origin`, as the file's
  // chunk index names it (nullopt: not stored, or no index read).
  std::optional<ChunkIndex::Entry> StoredChunk(const uint64_t* origin) const;
  // The descriptor of the file the offsets above refer to (-1: none).
  int fd() const { return fd_ ? fd_->get() : -1; }
  const std::shared_ptr<const Fd>& fd_owner() const { return fd_; }
  const DiskAccess& access() const { return access_; }

  // The hash versioned-hdf5 stored for each slot (chunk) of raw_data, by the
  // slot's first row along axis 0: loaded while no other process writes,
  // for reads checked while one does (file_state.h).
  struct Slot {
    int64_t stop;
    ChunkHash hash;
  };
  using SlotHashes = std::unordered_map<int64_t, Slot>;
  void SetSlotHashes(std::shared_ptr<const SlotHashes> hashes);
  // Whether `bytes`, the box of extent `extent` read from row `first_row`
  // on, is the whole chunk versioned-hdf5 stored in that slot.
  bool MatchesSlot(uint64_t first_row, std::string_view bytes,
                   const std::vector<uint64_t>& extent) const;

  // Reads the box as variable-length strings, appended to `out` in C order.
  Status ReadStrings(const uint64_t* start, const uint64_t* count,
                     std::vector<std::string>* out) const;

 private:
  RawData() = default;
  // Reads `len` bytes at `offset` of the unfiltered chunk at `origin` into
  // `out`; false if that chunk is not stored.
  Result<bool> ReadRawChunk(const uint64_t* origin, uint64_t offset, uint64_t len, char* out) const;
  // An unfiltered chunk whose stored size is not its raw size: a damaged index.
  Status WrongChunkSize(uint64_t stored, uint64_t bytes) const;
  // The decoded chunk at `origin` (nullptr: not stored, or not decodable here).
  using Chunk = std::shared_ptr<const std::string>;
  Result<Chunk> DecodedChunk(const uint64_t* origin) const;
  Status ReadThroughHdf5(const uint64_t* start, const uint64_t* count, hid_t mem_type,
                         void* out) const;
  // The stored strings of every chunk the box touches name whole global
  // heap objects (object_check.h), before HDF5 follows them.
  Status CheckStrings(const uint64_t* start, const uint64_t* count) const;

  // The HDF5 dataset, opened again only for the reads that need HDF5 (no
  // parsed chunk index, strings, the fill value): an open dataset costs
  // ~20 KiB of HDF5's memory, 200 MiB for a version of 10,000 datasets.
  // The caller has passed DiskRead.
  Result<hid_t> Hdf5Dataset() const;

  std::string path_;
  h5::Handle file_;  // a reference of its own to the file's id
  mutable Mutex dataset_mu_;
  mutable h5::Handle dataset_ GUARDED_BY(dataset_mu_);
  h5::Handle type_;
  size_t itemsize_ = 0;
  std::vector<uint64_t> dims_;
  std::vector<uint64_t> chunk_dims_;
  bool filtered_ = false;
  std::string compression_ = "none";
  std::shared_ptr<const Fd> fd_;
  DiskAccess access_;
  std::optional<ChunkIndex> index_;
  FilterPipeline pipeline_;
  uint64_t cache_owner_ = MemoryCache::NewOwner();  // its decoded chunks
  std::shared_ptr<ObjectChecker> checker_;          // nullptr: HDF5 reads unchecked
  mutable Mutex slots_mu_;
  std::shared_ptr<const SlotHashes> slot_hashes_ GUARDED_BY(slots_mu_);
  mutable Mutex checked_mu_;
  mutable std::set<uint64_t> checked_chunks_ GUARDED_BY(checked_mu_);  // by file offset
};

}  // namespace vh5
