#include "read/raw_data.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "format/object_check.h"
#include "hdf5/dtype.h"
#include "read/file_state.h"
#include "vh5/shape.h"

namespace vh5 {
namespace {

std::string BoxText(const uint64_t* start, const uint64_t* count, size_t rank) {
  std::string out = "[";
  for (size_t d = 0; d < rank; ++d) {
    if (d) out += ", ";
    out += std::to_string(start[d]) + ":" + std::to_string(start[d] + count[d]);
  }
  return out + "]";
}

}  // namespace

std::string DescribeFilters(hid_t dcpl) {
  std::string compressor, modifiers;
  int n = H5Pget_nfilters(dcpl);
  for (int i = 0; i < n; ++i) {
    unsigned flags = 0, cd[16] = {};
    size_t ncd = 16;
    char name[64] = {};
    H5Z_filter_t id = H5Pget_filter2(dcpl, static_cast<unsigned>(i), &flags, &ncd, cd, sizeof name,
                                     name, nullptr);
    switch (id) {
      case H5Z_FILTER_DEFLATE:
        compressor = "gzip:" + std::to_string(ncd > 0 ? cd[0] : 4);
        break;
      case H5Z_FILTER_SHUFFLE:
        modifiers += ",shuffle";
        break;
      case H5Z_FILTER_FLETCHER32:
        modifiers += ",fletcher32";
        break;
      case H5Z_FILTER_SZIP:
        compressor = "szip";
        break;
      case H5Z_FILTER_NBIT:
        modifiers += ",nbit";
        break;
      case H5Z_FILTER_SCALEOFFSET:
        modifiers += ",scaleoffset:" + std::to_string(ncd > 1 ? cd[1] : 0);
        break;
      case 32000:
        compressor = "lzf";
        break;
      default:
        compressor = "filter-" + std::to_string(id);
        break;
    }
  }
  std::string out =
      compressor.empty() ? modifiers.substr(modifiers.empty() ? 0 : 1) : compressor + modifiers;
  return out.empty() ? "none" : out;
}

Result<std::shared_ptr<RawData>> RawData::Open(hid_t file, std::shared_ptr<const Fd> fd,
                                               const std::string& path, DiskAccess access,
                                               const ChunkIndex* known) {
  auto raw = std::shared_ptr<RawData>(new RawData());
  raw->path_ = path;
  raw->access_ = std::move(access);
  VH5_ASSIGN_OR_RETURN(h5::Handle dataset, OpenCheckedDataset(file, path));
  if (H5Iinc_ref(file) < 0) return h5::Error("cannot hold the file of " + path);
  raw->file_ = h5::Handle(file);
  raw->type_ = h5::Handle(H5Dget_type(dataset.get()));
  h5::Handle space(H5Dget_space(dataset.get()));
  h5::Handle dcpl(H5Dget_create_plist(dataset.get()));
  if (!raw->type_ || !space || !dcpl) return h5::Error("cannot inspect " + path);
  raw->itemsize_ = H5Tget_size(raw->type_.get());
  int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank <= 0) return Status::Corruption(path + " is not an array");
  std::vector<hsize_t> dims(static_cast<size_t>(rank)), chunks(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  raw->dims_.assign(dims.begin(), dims.end());
  if (H5Pget_layout(dcpl.get()) != H5D_CHUNKED) return Status::Corruption(path + " is not chunked");
  if (H5Pget_chunk(dcpl.get(), rank, chunks.data()) != rank)
    return h5::Error("cannot read chunk shape of " + path);
  raw->chunk_dims_.assign(chunks.begin(), chunks.end());
  raw->filtered_ = H5Pget_nfilters(dcpl.get()) > 0;
  raw->compression_ = DescribeFilters(dcpl.get());
  raw->fd_ = std::move(fd);
  raw->checker_ = CheckerFor(file);
  raw->pipeline_ = FilterPipeline::FromDcpl(dcpl.get());
  if (raw->fd_) {
    // Without a parsed index, reads fall back to HDF5's direct chunk reads;
    // but an index that is no B-tree is not handed to HDF5 either.
    Result<ChunkIndex> index = ChunkIndex::Read(file, dataset.get(), raw->fd_->get(), known);
    h5::TakeErrorStack();
    if (index.ok()) raw->index_ = std::move(*index);
    if (index.status().code() == Status::Code::kCorruption) return index.status().WithContext(path);
  }
  // Without a parsed index every read goes through HDF5: keep it open.
  if (!raw->index_) {
    MutexLock lock(&raw->dataset_mu_);
    raw->dataset_ = std::move(dataset);
  }
  return raw;
}

Result<hid_t> RawData::Hdf5Dataset() const {
  MutexLock lock(&dataset_mu_);
  if (!dataset_) {
    VH5_ASSIGN_OR_RETURN(h5::Handle dataset, OpenCheckedDataset(file_.get(), path_));
    dataset_ = std::move(dataset);
  }
  return dataset_.get();
}

RawData::~RawData() { MemoryCache::Process().Forget(cache_owner_); }

uint64_t RawData::MemoryBytes() const {
  // An open HDF5 dataset (its shared object, creation and access property
  // lists, type, space and chunk cache) costs ~20 KiB of HDF5's heap; a
  // closed one, its type and what was read to open it, ~2 KiB.
  bool open;
  {
    MutexLock lock(&dataset_mu_);
    open = dataset_.valid();
  }
  uint64_t handle = open ? 20 << 10 : 2 << 10;
  return sizeof(RawData) + handle + path_.capacity() +
         (index_ ? index_->size() * (sizeof(ChunkIndex::Entry) + 32) : 0);
}

Result<DatasetInfo> RawData::Layout() const {
  DatasetInfo info;
  VH5_ASSIGN_OR_RETURN(info.dtype, DescribeType(type_.get()));
  info.chunks = chunk_dims_;
  info.compression = compression_;
  if (info.dtype.is_vlen_string) return info;
  std::string fill(itemsize_, '\0');
  VH5_ASSIGN_OR_RETURN(hid_t dataset, Hdf5Dataset());
  h5::Handle dcpl(H5Dget_create_plist(dataset));
  // No fill value set: HDF5's default, zeros.
  if (!dcpl || H5Pget_fill_value(dcpl.get(), type_.get(), fill.data()) < 0) {
    h5::TakeErrorStack();
    fill.assign(itemsize_, '\0');
  }
  VH5_ASSIGN_OR_RETURN(info.fill_text, ElementToText(type_.get(), fill.data()));
  info.fill_bytes = std::move(fill);
  return info;
}

void RawData::SetSlotHashes(std::shared_ptr<const SlotHashes> hashes) {
  MutexLock lock(&slots_mu_);
  slot_hashes_ = std::move(hashes);
}

bool RawData::MatchesSlot(uint64_t first_row, std::string_view bytes,
                          const std::vector<uint64_t>& extent) const {
  std::shared_ptr<const SlotHashes> hashes;
  {
    MutexLock lock(&slots_mu_);
    hashes = slot_hashes_;
  }
  if (!hashes || extent.empty()) return false;
  auto it = hashes->find(static_cast<int64_t>(first_row));
  if (it == hashes->end() || it->second.stop != static_cast<int64_t>(first_row + extent[0]))
    return false;
  return HashFixedChunk(bytes, extent) == it->second.hash;
}

Status RawData::WrongChunkSize(uint64_t stored, uint64_t bytes) const {
  return Status::Corruption(path_ + ": an unfiltered chunk of " + std::to_string(bytes) +
                            " bytes is stored in " + std::to_string(stored));
}

Result<bool> RawData::ReadRawChunk(const uint64_t* origin, uint64_t offset, uint64_t len,
                                   char* out) const {
  size_t rank = dims_.size();
  uint64_t bytes = itemsize_;
  for (uint64_t c : chunk_dims_) bytes *= c;
  if (index_) {
    const ChunkIndex::Entry* entry = index_->Find(origin);
    if (entry == nullptr) return false;  // unallocated: HDF5 supplies the fill value
    if (entry->size != bytes) return WrongChunkSize(entry->size, bytes);
    DiskRead disk(access_, DiskRead::Kind::kData, path_);
    VH5_RETURN_IF_ERROR(disk.status());
    ssize_t n = PreadAll(fd_->get(), out, len, entry->offset + offset);
    if (n < 0) return Status::IOError(path_ + ": pread: " + std::strerror(errno));
    if (static_cast<uint64_t>(n) != len)
      return Status::Corruption(path_ + ": a chunk lies past the end of the file");
    return true;
  }
  // One direct chunk read: an O(log n) index lookup, no filter pipeline.
  thread_local std::vector<char> whole;
  whole.resize(bytes);
  std::vector<hsize_t> hoffset(origin, origin + rank);
  uint32_t filter_mask = 0;
  DiskRead disk(access_, DiskRead::Kind::kMetadata, path_);
  VH5_RETURN_IF_ERROR(disk.status());
  // HDF5 writes the stored size, whatever the buffer holds.
  hsize_t stored = 0;
  VH5_ASSIGN_OR_RETURN(hid_t dataset, Hdf5Dataset());
  if (H5Dget_chunk_storage_size(dataset, hoffset.data(), &stored) < 0) {
    h5::TakeErrorStack();
    return false;
  }
  if (stored != bytes) return WrongChunkSize(stored, bytes);
  if (H5Dread_chunk(dataset, H5P_DEFAULT, hoffset.data(), &filter_mask, whole.data()) < 0) {
    h5::TakeErrorStack();
    return false;
  }
  std::memcpy(out, whole.data() + offset, len);
  return true;
}

std::optional<uint64_t> RawData::RowsOffset(uint64_t row, uint64_t rows) const {
  if (filtered_ || !index_ || rows == 0 || row + rows > dims_[0] || row + rows < row)
    return std::nullopt;
  uint64_t chunk_row = row / chunk_dims_[0] * chunk_dims_[0];
  if (row + rows > chunk_row + chunk_dims_[0]) return std::nullopt;
  uint64_t origin[32] = {chunk_row};  // HDF5 allows 32 dimensions at most
  if (dims_.size() > 32) return std::nullopt;
  uint64_t row_bytes = itemsize_;
  for (size_t d = 1; d < dims_.size(); ++d) {
    if (dims_[d] != chunk_dims_[d]) return std::nullopt;  // a row would span chunks
    row_bytes *= chunk_dims_[d];
  }
  const ChunkIndex::Entry* entry = index_->Find(origin);
  if (entry == nullptr || entry->size != row_bytes * chunk_dims_[0]) return std::nullopt;
  return entry->offset + (row - chunk_row) * row_bytes;
}

std::optional<ChunkIndex::Entry> RawData::StoredChunk(const uint64_t* origin) const {
  if (!index_) return std::nullopt;
  const ChunkIndex::Entry* entry = index_->Find(origin);
  if (entry == nullptr) return std::nullopt;
  return *entry;
}

Result<RawData::Chunk> RawData::DecodedChunk(const uint64_t* origin) const {
  if (!index_ || !pipeline_.supported()) return Chunk();
  const ChunkIndex::Entry* entry = index_->Find(origin);
  if (entry == nullptr) return Chunk();  // not stored: HDF5 knows its fill
  MemoryCache& cache = MemoryCache::Process();
  // A stored chunk's file offset names it uniquely within this raw_data.
  std::string_view key(reinterpret_cast<const char*>(&entry->offset), sizeof entry->offset);
  if (Chunk hit = cache.Get<std::string>(cache_owner_, key)) return hit;
  std::string stored(entry->size, '\0');
  DiskRead disk(access_, DiskRead::Kind::kData, path_);
  VH5_RETURN_IF_ERROR(disk.status());
  ssize_t n = PreadAll(fd_->get(), stored.data(), stored.size(), entry->offset);
  if (n < 0) return Status::IOError(path_ + ": pread: " + std::strerror(errno));
  if (static_cast<size_t>(n) != stored.size())
    return Status::Corruption(path_ + ": a chunk lies past the end of the file");
  uint64_t bytes = itemsize_;
  for (uint64_t c : chunk_dims_) bytes *= c;
  auto decoded = std::make_shared<std::string>();
  Status s = pipeline_.Decode(stored, entry->filter_mask, bytes, decoded.get());
  if (!s.ok()) return s.WithContext(path_ + ": chunk at byte " + std::to_string(entry->offset));
  cache.Insert(cache_owner_, key, decoded, decoded->capacity() + sizeof(std::string) + 64);
  return Chunk(std::move(decoded));
}

Status RawData::ReadThroughHdf5(const uint64_t* start, const uint64_t* count, hid_t mem_type,
                                void* out) const {
  size_t rank = dims_.size();
  DiskRead disk(access_, DiskRead::Kind::kMetadata, path_);
  VH5_RETURN_IF_ERROR(disk.status());
  std::vector<hsize_t> hstart(start, start + rank), hcount(count, count + rank);
  VH5_ASSIGN_OR_RETURN(hid_t dataset, Hdf5Dataset());
  h5::Handle file_space(H5Dget_space(dataset));
  h5::Handle mem_space(H5Screate_simple(static_cast<int>(rank), hcount.data(), nullptr));
  if (!file_space || !mem_space ||
      H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, hstart.data(), nullptr, hcount.data(),
                          nullptr) < 0 ||
      H5Dread(dataset, mem_type, mem_space.get(), file_space.get(), H5P_DEFAULT, out) < 0)
    return h5::Error(path_ + ": cannot read " + BoxText(start, count, rank));
  return Status::OK();
}

Status RawData::ReadBlock(const uint64_t* start, const uint64_t* count, char* out) const {
  size_t rank = dims_.size();
  uint64_t elements = 1;
  bool one_chunk = true;
  std::vector<uint64_t> origin(rank), inner(rank);
  for (size_t d = 0; d < rank; ++d) {
    if (start[d] + count[d] > dims_[d] || start[d] + count[d] < start[d])
      return Status::Corruption(path_ + ": mapping " + BoxText(start, count, rank) +
                                " lies outside raw_data");
    elements *= count[d];
    origin[d] = start[d] / chunk_dims_[d] * chunk_dims_[d];
    inner[d] = start[d] - origin[d];
    if (inner[d] + count[d] > chunk_dims_[d]) one_chunk = false;
  }
  if (elements == 0) return Status::OK();
  if (one_chunk && filtered_) {
    VH5_ASSIGN_OR_RETURN(Chunk chunk, DecodedChunk(origin.data()));
    if (chunk) {
      // Rows of the box, out of the chunk's C-order bytes.
      uint64_t row = count[rank - 1] * itemsize_;
      for (BoxRows rows(chunk_dims_, inner, std::span(count, rank)); !rows.done(); rows.Next())
        std::memcpy(out + rows.row() * row, chunk->data() + rows.offset() * itemsize_, row);
      return Status::OK();
    }
  }
  if (one_chunk && !filtered_) {
    // Linear indexes in the chunk of the box's first and last elements: the
    // span between them is all that needs reading.
    uint64_t first = 0, last = 0;
    for (size_t d = 0; d < rank; ++d) {
      first = first * chunk_dims_[d] + inner[d];
      last = last * chunk_dims_[d] + inner[d] + count[d] - 1;
    }
    uint64_t span = last - first + 1;
    thread_local std::vector<char> buffer;
    char* target = out;
    if (span != elements) {
      buffer.resize(span * itemsize_);
      target = buffer.data();
    }
    VH5_ASSIGN_OR_RETURN(bool read,
                         ReadRawChunk(origin.data(), first * itemsize_, span * itemsize_, target));
    if (read) {
      if (span == elements) return Status::OK();
      // Gather the box's rows out of the span.
      uint64_t row = count[rank - 1] * itemsize_;
      for (BoxRows rows(chunk_dims_, inner, std::span(count, rank)); !rows.done(); rows.Next())
        std::memcpy(out + rows.row() * row, buffer.data() + (rows.offset() - first) * itemsize_,
                    row);
      return Status::OK();
    }
  }
  return ReadThroughHdf5(start, count, type_.get(), out);
}

Status RawData::CheckStrings(const uint64_t* start, const uint64_t* count) const {
  // Without the engine's index or filters, HDF5 alone finds and decodes
  // the chunks: left to it (fuzz/README.md).
  if (!checker_ || !index_ || !fd_ || (filtered_ && !pipeline_.supported())) return Status::OK();
  size_t rank = dims_.size();
  uint64_t element = 4 + checker_->bytes().addr_size() + 4;  // a stored reference
  uint64_t chunk_bytes = element;
  for (uint64_t c : chunk_dims_) chunk_bytes *= c;
  // Every chunk of the box, C order over the chunk grid.
  std::vector<uint64_t> first(rank), last(rank), at(rank);
  for (size_t d = 0; d < rank; ++d) {
    first[d] = start[d] / chunk_dims_[d];
    last[d] = (start[d] + count[d] - 1) / chunk_dims_[d];
  }
  at = first;
  do {
    std::vector<uint64_t> origin(rank);
    for (size_t d = 0; d < rank; ++d) origin[d] = at[d] * chunk_dims_[d];
    const ChunkIndex::Entry* entry = index_->Find(origin.data());
    bool checked = entry == nullptr;  // not stored: the fill value, checked with the header
    if (!checked) {
      MutexLock lock(&checked_mu_);
      checked = checked_chunks_.count(entry->offset) > 0;
    }
    if (!checked) {
      std::string stored(entry->size, '\0');
      ssize_t n = PreadAll(fd_->get(), stored.data(), stored.size(), entry->offset);
      if (n < 0) return Status::IOError(std::string("pread: ") + std::strerror(errno));
      if (static_cast<size_t>(n) != stored.size())
        return Status::Corruption("a chunk lies past the end of the file");
      std::string decoded;
      if (filtered_) {
        VH5_RETURN_IF_ERROR(pipeline_.Decode(stored, entry->filter_mask, chunk_bytes, &decoded));
      } else {
        decoded = std::move(stored);
        if (decoded.size() != chunk_bytes)
          return Status::Corruption("a string chunk of " + std::to_string(decoded.size()) +
                                    " bytes where " + std::to_string(chunk_bytes) +
                                    " were expected");
      }
      VH5_RETURN_IF_ERROR(checker_->CheckVlenData(
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(decoded.data()),
                                   decoded.size()),
          1));
      MutexLock lock(&checked_mu_);
      checked_chunks_.insert(entry->offset);
    }
  } while (NextInBox(at, first, last));
  return Status::OK();
}

Status RawData::ReadStrings(const uint64_t* start, const uint64_t* count,
                            std::vector<std::string>* out) const {
  size_t rank = dims_.size();
  uint64_t elements = 1;
  for (size_t d = 0; d < rank; ++d) {
    if (start[d] + count[d] > dims_[d] || start[d] + count[d] < start[d])
      return Status::Corruption(path_ + ": mapping " + BoxText(start, count, rank) +
                                " lies outside raw_data");
    elements *= count[d];
  }
  if (elements == 0) return Status::OK();
  if (H5Tget_class(type_.get()) != H5T_STRING || H5Tis_variable_str(type_.get()) <= 0)
    return Status::Corruption(path_ + " does not hold variable-length strings");
  // Strings live in global heaps, read through HDF5: metadata.
  DiskRead disk(access_, DiskRead::Kind::kMetadata, path_);
  VH5_RETURN_IF_ERROR(disk.status());
  VH5_RETURN_IF_ERROR(CheckStrings(start, count).WithContext(path_));
  h5::Handle mem_type(H5Tcopy(H5T_C_S1));
  H5Tset_size(mem_type.get(), H5T_VARIABLE);
  H5Tset_cset(mem_type.get(), H5Tget_cset(type_.get()));
  std::vector<char*> ptrs(elements, nullptr);
  VH5_RETURN_IF_ERROR(ReadThroughHdf5(start, count, mem_type.get(), ptrs.data()));
  for (char* p : ptrs) out->emplace_back(p ? p : "");
  hsize_t n = elements;
  h5::Handle space(H5Screate_simple(1, &n, nullptr));
  H5Dvlen_reclaim(mem_type.get(), space.get(), H5P_DEFAULT, ptrs.data());
  return Status::OK();
}

}  // namespace vh5
