// A dataset path's hash table: /_version_data/<path>/hash_table, rows of
// (SHA-256 of a chunk, [start, stop) of its slot along raw_data's axis 0),
// with attribute largest_index counting the rows in use. LZF-compressed and
// chunked by 4096 rows, as versioned-hdf5 creates it.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "format/chunk_hash.h"
#include "hdf5/h5_handle.h"
#include "vh5/status.h"

namespace vh5 {

class HashTable {
 public:
  struct Row {
    ChunkHash hash;
    int64_t start;
    int64_t stop;
  };

  // Loads the hash table of the dataset group `group` (/_version_data/<path>),
  // creating an empty one if it has none.
  static Result<HashTable> Open(hid_t group);
  // Replaces the group's hash table by a new one holding `rows`, in order,
  // created as Open creates one (a reader never sees a half-written table:
  // it is written under a temporary name and then moved into place).
  static Status Replace(hid_t group, const std::vector<Row>& rows);

  std::optional<std::pair<int64_t, int64_t>> Find(const ChunkHash& hash) const;
  void Add(const ChunkHash& hash, int64_t start, int64_t stop);
  // The rows in use, in table order.
  const std::vector<Row>& rows() const { return rows_; }
  // Rows in use; the next chunk goes to slot largest_index().
  int64_t largest_index() const { return static_cast<int64_t>(rows_.size()); }
  // Writes the rows added since Open and then largest_index.
  Status Write();

 private:
  static Result<HashTable> OpenNamed(hid_t group, const char* name);
  // The chunks holding the rows added since Open, whole, each as many
  // bytes as the one stored (hdf5/lzf_sized.h): HDF5 rewrites them in place.
  Status WriteChunksInPlace(hsize_t chunk_rows);
  // The rows added since Open, through HDF5's filters (any other pipeline).
  Status WriteRows(hid_t space);

  h5::Handle dataset_;
  std::vector<Row> rows_;
  size_t persisted_ = 0;
  std::unordered_map<std::string, size_t> index_;  // hash bytes -> row
};

}  // namespace vh5
