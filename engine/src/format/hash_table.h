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
#include "vh5/mutex.h"
#include "vh5/status.h"

namespace vh5 {

class HashTableCache;

class HashTable {
 public:
  struct Row {
    ChunkHash hash;
    int64_t start;
    int64_t stop;
  };

  // Loads the hash table of the dataset group `group` (/_version_data/<path>),
  // creating an empty one if it has none. With `cache`, the rows this
  // process wrote there last are taken from it, not read, when the table
  // is still as that commit left it (`path`: the group's path).
  static Result<HashTable> Open(hid_t group, HashTableCache* cache = nullptr,
                                const std::string& path = {});
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
  // Hands the rows, as written, to `cache` for the next commit (staged:
  // see HashTableCache); the table is empty afterwards.
  void KeepIn(HashTableCache* cache, const std::string& path);

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
  friend class HashTableCache;
};

// The hash tables this process's commits wrote, for its next commits:
// reading a table back is a pass over every row it ever got (one per chunk
// stored), a cost that grew with the history. A table's rows are kept with
// what identifies the table as written (its dataset's address, its row
// count, its last chunk's place and size) and taken only while all of it
// still holds; the owner also clears the cache when another process wrote
// the file. Rows written by a commit are staged until that commit is in
// the file (Commit) or dropped with it (Abort). At most kMostRows rows are
// kept, all tables together.
//
// Thread safety: every method may be called from any thread at once.
class HashTableCache {
 public:
  static constexpr size_t kMostRows = 1 << 17;

  void Commit();
  void Abort();
  void Clear();
  // Drops what is kept or staged of the table at `path`.
  void Forget(const std::string& path);

 private:
  friend class HashTable;
  struct Identity {
    uint64_t dataset = 0;
    int64_t rows = 0;
    uint64_t last_chunk = 0;
    uint64_t last_chunk_size = 0;
    bool operator==(const Identity&) const = default;
  };
  struct Entry {
    Identity identity;
    std::vector<HashTable::Row> rows;
    std::unordered_map<std::string, size_t> index;
  };
  static Result<Identity> IdentityOf(hid_t dataset, int64_t rows);
  std::optional<Entry> Take(const std::string& path, const Identity& now);
  void Stage(const std::string& path, Entry entry);

  Mutex mu_;
  std::unordered_map<std::string, Entry> entries_ GUARDED_BY(mu_);
  std::unordered_map<std::string, Entry> staged_ GUARDED_BY(mu_);
  size_t rows_ GUARDED_BY(mu_) = 0;  // in entries_ and staged_
};

}  // namespace vh5
