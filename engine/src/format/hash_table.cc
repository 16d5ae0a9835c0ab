#include "format/hash_table.h"

#include <algorithm>
#include <cstring>

#include "format/chunk_index.h"
#include "format/file_layout.h"
#include "format/object_check.h"
#include "hdf5/attribute_codec.h"
#include "hdf5/lzf_sized.h"

namespace vh5 {
namespace {

constexpr hsize_t kHashTableChunkRows = 4096;
constexpr H5Z_filter_t kLzfFilter = 32000;

struct FileRow {
  uint8_t hash[32];
  int64_t shape[2];
};
static_assert(sizeof(FileRow) == 48);

// The compound (hash u1[32], shape i8[2]) h5py writes for the hash table.
h5::Handle RowType() {
  hsize_t hash_dims[1] = {32};
  hsize_t shape_dims[1] = {2};
  h5::Handle hash(H5Tarray_create2(H5T_STD_U8LE, 1, hash_dims));
  h5::Handle shape(H5Tarray_create2(H5T_STD_I64LE, 1, shape_dims));
  h5::Handle row(H5Tcreate(H5T_COMPOUND, sizeof(FileRow)));
  H5Tinsert(row.get(), "hash", offsetof(FileRow, hash), hash.get());
  H5Tinsert(row.get(), "shape", offsetof(FileRow, shape), shape.get());
  return row;
}

// The rows of a table whose chunks are LZF alone (as versioned-hdf5 makes
// it), 0 for any other pipeline.
hsize_t LzfChunkRows(hid_t dataset) {
  h5::Handle dcpl(H5Dget_create_plist(dataset));
  hsize_t rows[1] = {0};
  if (!dcpl || H5Pget_chunk(dcpl.get(), 1, rows) != 1 || H5Pget_nfilters(dcpl.get()) != 1) return 0;
  unsigned flags = 0;
  size_t nvalues = 0;
  if (H5Pget_filter2(dcpl.get(), 0, &flags, &nvalues, nullptr, 0, nullptr, nullptr) != kLzfFilter)
    return 0;
  return rows[0];
}

std::string Key(const ChunkHash& hash) {
  return std::string(reinterpret_cast<const char*>(hash.data()), hash.size());
}

}  // namespace

Result<HashTable> HashTable::Open(hid_t group, HashTableCache* cache, const std::string& path) {
  if (!cache || !h5::LinkExists(group, layout::kHashTable))
    return OpenNamed(group, layout::kHashTable);
  HashTable table;
  VH5_ASSIGN_OR_RETURN(table.dataset_, OpenCheckedDataset(group, layout::kHashTable));
  VH5_ASSIGN_OR_RETURN(int64_t largest,
                       h5::ReadIntAttribute(table.dataset_.get(), "largest_index"));
  Result<HashTableCache::Identity> now = HashTableCache::IdentityOf(table.dataset_.get(), largest);
  if (now.ok()) {
    if (std::optional<HashTableCache::Entry> kept = cache->Take(path, *now)) {
      table.rows_ = std::move(kept->rows);
      table.index_ = std::move(kept->index);
      table.persisted_ = table.rows_.size();
      return table;
    }
  }
  return OpenNamed(group, layout::kHashTable);
}

void HashTable::KeepIn(HashTableCache* cache, const std::string& path) {
  if (!cache) return;
  Result<HashTableCache::Identity> identity =
      HashTableCache::IdentityOf(dataset_.get(), static_cast<int64_t>(rows_.size()));
  if (persisted_ != rows_.size() || !identity.ok()) {
    cache->Forget(path);
    return;
  }
  cache->Stage(path, HashTableCache::Entry{*identity, std::move(rows_), std::move(index_)});
  rows_.clear();
  index_.clear();
  persisted_ = 0;
}

Result<HashTableCache::Identity> HashTableCache::IdentityOf(hid_t dataset, int64_t rows) {
  Identity identity;
  identity.rows = rows;
  H5O_info_t info;
  if (H5Oget_info2(dataset, &info, H5O_INFO_BASIC) < 0) return h5::Error("hash_table");
  identity.dataset = info.addr;
  if (rows == 0) return identity;
  h5::Handle dcpl(H5Dget_create_plist(dataset));
  hsize_t chunk_rows[1] = {0};
  if (!dcpl || H5Pget_chunk(dcpl.get(), 1, chunk_rows) != 1 || chunk_rows[0] == 0)
    return h5::Error("hash_table: not chunked");
  hsize_t origin[1] = {static_cast<hsize_t>(rows - 1) / chunk_rows[0] * chunk_rows[0]};
  unsigned mask = 0;
  haddr_t address = HADDR_UNDEF;
  hsize_t size = 0;
  if (H5Dget_chunk_info_by_coord(dataset, origin, &mask, &address, &size) < 0)
    return h5::Error("hash_table: its last chunk");
  identity.last_chunk = address;
  identity.last_chunk_size = size;
  return identity;
}

std::optional<HashTableCache::Entry> HashTableCache::Take(const std::string& path,
                                                          const Identity& now) {
  MutexLock lock(&mu_);
  auto it = entries_.find(path);
  if (it == entries_.end()) return std::nullopt;
  // Taken or out of date, it leaves the cache; the commit stages it again.
  rows_ -= it->second.rows.size();
  std::optional<Entry> out;
  if (it->second.identity == now) out = std::move(it->second);
  entries_.erase(it);
  return out;
}

void HashTableCache::Stage(const std::string& path, Entry entry) {
  Forget(path);
  MutexLock lock(&mu_);
  if (rows_ + entry.rows.size() > kMostRows) return;
  rows_ += entry.rows.size();
  staged_[path] = std::move(entry);
}

void HashTableCache::Forget(const std::string& path) {
  MutexLock lock(&mu_);
  for (auto* map : {&entries_, &staged_}) {
    if (auto it = map->find(path); it != map->end()) {
      rows_ -= it->second.rows.size();
      map->erase(it);
    }
  }
}

void HashTableCache::Commit() {
  MutexLock lock(&mu_);
  for (auto& [path, entry] : staged_) {
    if (auto it = entries_.find(path); it != entries_.end()) rows_ -= it->second.rows.size();
    entries_[path] = std::move(entry);
  }
  staged_.clear();
}

void HashTableCache::Abort() {
  MutexLock lock(&mu_);
  for (const auto& [path, entry] : staged_) rows_ -= entry.rows.size();
  staged_.clear();
}

void HashTableCache::Clear() {
  MutexLock lock(&mu_);
  entries_.clear();
  staged_.clear();
  rows_ = 0;
}

Status HashTable::Replace(hid_t group, const std::vector<Row>& rows) {
  const char* kTemporary = "_tmp_hash_table";  // the Python library's name for it
  if (h5::LinkExists(group, kTemporary) && H5Ldelete(group, kTemporary, H5P_DEFAULT) < 0)
    return h5::Error("cannot remove a stale _tmp_hash_table");
  {
    VH5_ASSIGN_OR_RETURN(HashTable table, OpenNamed(group, kTemporary));
    for (const Row& row : rows)
      if (!table.Find(row.hash)) table.Add(row.hash, row.start, row.stop);
    VH5_RETURN_IF_ERROR(table.Write());
  }
  if (h5::LinkExists(group, layout::kHashTable) &&
      H5Ldelete(group, layout::kHashTable, H5P_DEFAULT) < 0)
    return h5::Error("cannot remove the old hash_table");
  if (H5Lmove(group, kTemporary, group, layout::kHashTable, H5P_DEFAULT, H5P_DEFAULT) < 0)
    return h5::Error("cannot move the new hash_table into place");
  return Status::OK();
}

Result<HashTable> HashTable::OpenNamed(hid_t group, const char* name) {
  HashTable table;
  h5::Handle row_type = RowType();
  if (!h5::LinkExists(group, name)) {
    hsize_t dims[1] = {1}, maxdims[1] = {H5S_UNLIMITED}, chunk[1] = {kHashTableChunkRows};
    h5::Handle space(H5Screate_simple(1, dims, maxdims));
    h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
    H5Pset_chunk(dcpl.get(), 1, chunk);
    H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_ALLOC);  // as h5py creates every dataset
    if (H5Pset_filter(dcpl.get(), kLzfFilter, H5Z_FLAG_OPTIONAL, 0, nullptr) < 0)
      return h5::Error("cannot set the LZF filter");
    table.dataset_ = h5::Handle(
        H5Dcreate2(group, name, row_type.get(), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT));
    if (!table.dataset_) return h5::Error(std::string("cannot create ") + name);
    VH5_RETURN_IF_ERROR(
        WriteAttribute(table.dataset_.get(), Attribute{"largest_index", "0", "<i8"}));
    return table;
  }
  VH5_ASSIGN_OR_RETURN(table.dataset_, OpenCheckedDataset(group, name));
  // HDF5 allocates what a chunk index entry says a stored chunk holds (up
  // to 4 GiB) before it finds the chunk past the end of the file: in a
  // file opened with a checker (read-only), the index is read first.
  if (std::shared_ptr<ObjectChecker> checker = CheckerFor(group);
      checker && checker->bytes().fd() >= 0) {
    h5::Handle file(H5Iget_file_id(group));
    Result<ChunkIndex> index =
        ChunkIndex::Read(file.get(), table.dataset_.get(), checker->bytes().fd());
    h5::TakeErrorStack();
    if (index.status().code() == Status::Code::kCorruption) return index.status().WithContext(name);
  }
  VH5_ASSIGN_OR_RETURN(int64_t largest,
                       h5::ReadIntAttribute(table.dataset_.get(), "largest_index"));
  h5::Handle space(H5Dget_space(table.dataset_.get()));
  hsize_t dims[1] = {0};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  if (largest < 0 || static_cast<hsize_t>(largest) > dims[0])
    return Status::Corruption("hash_table: largest_index " + std::to_string(largest) +
                              " beyond its " + std::to_string(dims[0]) + " rows");
  std::vector<FileRow> rows(static_cast<size_t>(largest));
  if (largest > 0) {
    hsize_t start[1] = {0}, count[1] = {static_cast<hsize_t>(largest)};
    h5::Handle mem(H5Screate_simple(1, count, nullptr));
    H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
    if (H5Dread(table.dataset_.get(), row_type.get(), mem.get(), space.get(), H5P_DEFAULT,
                rows.data()) < 0)
      return h5::Error("cannot read hash_table");
  }
  for (const FileRow& r : rows) {
    Row row;
    std::memcpy(row.hash.data(), r.hash, 32);
    row.start = r.shape[0];
    row.stop = r.shape[1];
    table.index_.emplace(Key(row.hash), table.rows_.size());
    table.rows_.push_back(row);
  }
  table.persisted_ = table.rows_.size();
  return table;
}

std::optional<std::pair<int64_t, int64_t>> HashTable::Find(const ChunkHash& hash) const {
  auto it = index_.find(Key(hash));
  if (it == index_.end()) return std::nullopt;
  return std::make_pair(rows_[it->second].start, rows_[it->second].stop);
}

void HashTable::Add(const ChunkHash& hash, int64_t start, int64_t stop) {
  index_.emplace(Key(hash), rows_.size());
  rows_.push_back(Row{hash, start, stop});
}

Status HashTable::Write() {
  if (rows_.size() == persisted_) return Status::OK();
  h5::Handle space(H5Dget_space(dataset_.get()));
  hsize_t dims[1] = {0};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  if (rows_.size() > dims[0]) {
    hsize_t grown[1] = {rows_.size()};
    if (H5Dset_extent(dataset_.get(), grown) < 0) return h5::Error("cannot grow hash_table");
    space = h5::Handle(H5Dget_space(dataset_.get()));
  }
  if (hsize_t chunk_rows = LzfChunkRows(dataset_.get())) {
    VH5_RETURN_IF_ERROR(WriteChunksInPlace(chunk_rows));
  } else {
    VH5_RETURN_IF_ERROR(WriteRows(space.get()));
  }
  // largest_index last: a reader trusts only rows below it.
  VH5_RETURN_IF_ERROR(WriteAttribute(
      dataset_.get(), Attribute{"largest_index", std::to_string(rows_.size()), "<i8"}));
  persisted_ = rows_.size();
  return Status::OK();
}

Status HashTable::WriteChunksInPlace(hsize_t chunk_rows) {
  std::vector<FileRow> chunk(chunk_rows);
  for (hsize_t first = persisted_ / chunk_rows * chunk_rows; first < rows_.size();
       first += chunk_rows) {
    size_t used = static_cast<size_t>(std::min<hsize_t>(chunk_rows, rows_.size() - first));
    std::memset(chunk.data(), 0, chunk.size() * sizeof(FileRow));
    for (size_t i = 0; i < used; ++i) {
      const Row& r = rows_[first + i];
      std::memcpy(chunk[i].hash, r.hash.data(), 32);
      chunk[i].shape[0] = r.start;
      chunk[i].shape[1] = r.stop;
    }
    ZeroTailedLzf lzf(reinterpret_cast<const char*>(chunk.data()), used * sizeof(FileRow),
                      chunk.size() * sizeof(FileRow));
    hsize_t offset[1] = {first};
    hsize_t stored = 0;
    if (H5Dget_chunk_storage_size(dataset_.get(), offset, &stored) < 0) {
      h5::TakeErrorStack();
      stored = 0;  // not stored yet
    }
    // As long as the stored chunk was, so that HDF5 rewrites it in place;
    // when the rows outgrow it, a quarter of their bytes more, so that
    // the next few hundred commits fit again.
    size_t size = lzf.min_size();
    if (stored >= size && stored <= lzf.max_size()) {
      size = static_cast<size_t>(stored);
    } else if (stored > 0) {
      size = std::min(lzf.max_size(), size + used * sizeof(FileRow) / 4);
    }
    std::string bytes = lzf.Encode(size);
    if (H5Dwrite_chunk(dataset_.get(), H5P_DEFAULT, 0, offset, bytes.size(), bytes.data()) < 0)
      return h5::Error("cannot write a chunk of hash_table");
  }
  return Status::OK();
}

Status HashTable::WriteRows(hid_t space) {
  std::vector<FileRow> rows(rows_.size() - persisted_);
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows_[persisted_ + i];
    std::memcpy(rows[i].hash, r.hash.data(), 32);
    rows[i].shape[0] = r.start;
    rows[i].shape[1] = r.stop;
  }
  hsize_t start[1] = {persisted_}, count[1] = {rows.size()};
  h5::Handle mem(H5Screate_simple(1, count, nullptr));
  H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr);
  h5::Handle row_type = RowType();
  if (H5Dwrite(dataset_.get(), row_type.get(), mem.get(), space, H5P_DEFAULT, rows.data()) < 0)
    return h5::Error("cannot write hash_table");
  return Status::OK();
}

}  // namespace vh5
