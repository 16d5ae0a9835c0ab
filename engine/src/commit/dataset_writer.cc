#include "commit/dataset_writer.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <optional>
#include <string_view>
#include <thread>

#include "commit/cell_reader.h"
#include "format/chunk_hash.h"
#include "format/chunk_map.h"
#include "format/file_layout.h"
#include "format/hash_table.h"
#include "format/object_check.h"
#include "format/virtual_dataset_header.h"
#include "format/virtual_mappings.h"
#include "hdf5/attribute_codec.h"
#include "hdf5/attributes.h"
#include "hdf5/compression_spec.h"
#include "hdf5/dtype.h"
#include "hdf5/h5_handle.h"
#include "read/raw_data.h"
#include "util/py_literal.h"
#include "vh5/shape.h"

namespace vh5 {
namespace {

Attribute ChunksAttribute(const std::vector<uint64_t>& chunks) {
  return Attribute{layout::kChunksAttr, py::ListRepr(chunks),
                   "(" + std::to_string(chunks.size()) + ",)<i8"};
}

// Bytes a caller handed over in memory (NewDataset::data).
class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::string_view bytes) : bytes_(bytes) {}
  uint64_t size() const override { return bytes_.size(); }
  Result<size_t> Read(uint64_t offset, size_t len, char* out) const override {
    if (offset >= bytes_.size()) return size_t{0};
    size_t n = static_cast<size_t>(std::min<uint64_t>(len, bytes_.size() - offset));
    std::memcpy(out, bytes_.data() + offset, n);
    return n;
  }

 private:
  std::string_view bytes_;
};

// One chunk of the dataset being committed: its cell and where it lives.
struct Mapping {
  std::vector<uint64_t> origin, extent;
  int64_t raw_start = 0;
};

class DatasetWriter {
 public:
  DatasetWriter(hid_t file, hid_t version_group, const std::string& base, const DatasetPlan& plan,
                std::vector<MappingPatch>* patches, HashTableCache* hash_tables,
                const std::map<std::string, ChunkIndex>* chunk_indexes)
      : file_(file),
        version_group_(version_group),
        base_(base),
        plan_(plan),
        ds_(*plan.dataset),
        patches_(patches),
        hash_tables_(hash_tables),
        chunk_indexes_(chunk_indexes) {}

  Status Write() {
    if (plan_.keep == DatasetPlan::Keep::kObject)
      return Status::InvalidArgument(ds_.path + ": the version writer links kObject datasets");
    if (plan_.keep == DatasetPlan::Keep::kAll) {
      if (patches_) {
        VH5_ASSIGN_OR_RETURN(bool done, WriteUnchangedWithBaseList());
        if (done) return Status::OK();
      }
      return CopyFrom(base_);
    }
    VH5_RETURN_IF_ERROR(Validate());
    VH5_RETURN_IF_ERROR(OpenOrCreateRawData());
    if (plan_.keep == DatasetPlan::Keep::kCleanCells) VH5_RETURN_IF_ERROR(LoadBaseMap(base_));
    VH5_ASSIGN_OR_RETURN(HashTable table,
                         HashTable::Open(raw_group_.get(), hash_tables_, raw_group_path_));
    VH5_RETURN_IF_ERROR(StoreChunks(&table));
    VH5_RETURN_IF_ERROR(table.Write());
    table.KeepIn(hash_tables_, raw_group_path_);
    if (patches_ && !mappings_.empty()) {
      Result<std::vector<uint8_t>> list = EncodeMappingList(MappingsAsList());
      if (list.ok()) return WriteWithList(std::move(*list));
    }
    return CreateVirtualDataset(/*without_mappings=*/false);
  }

 private:
  // Copies the dataset object (its virtual mappings into the same raw_data)
  // from version `from`, then gives it this version's attributes.
  Status CopyFrom(const std::string& from) {
    std::string source = layout::VersionPath(from, ds_.path);
    h5::Handle lcpl = h5::IntermediateGroups();
    if (H5Ocopy(file_, source.c_str(), version_group_, ds_.path.c_str(), H5P_DEFAULT, lcpl.get()) <
        0)
      return h5::Error("cannot copy " + source);
    VH5_ASSIGN_OR_RETURN(h5::Handle dataset, OpenCheckedDataset(version_group_, ds_.path));
    VH5_ASSIGN_OR_RETURN(
        Attributes old, ReadAttributes(dataset.get(), {layout::kRawDataAttr, layout::kChunksAttr}));
    for (const Attribute& a : old)
      if (H5Adelete(dataset.get(), a.name.c_str()) < 0)
        return h5::Error("cannot replace attribute " + a.name);
    for (const Attribute& a : ds_.attrs) VH5_RETURN_IF_ERROR(WriteAttribute(dataset.get(), a));
    return Status::OK();
  }

  // An unchanged dataset of fixed-size elements takes its base's list as it
  // is; false when the base's list cannot be read from its bytes.
  Result<bool> WriteUnchangedWithBaseList() {
    // Whatever this writer cannot describe (a scalar dataset) is copied as it is.
    if (!Describe().ok() || vlen_ || elements_ == 0) return false;
    VH5_RETURN_IF_ERROR(LoadBaseMap(base_));
    if (base_list_.block.empty() || base_shape_ != ds_.shape || !base_list_.type ||
        H5Tequal(base_list_.type.get(), type_.get()) <= 0 || base_list_.fill != fill_)
      return false;
    VH5_RETURN_IF_ERROR(WriteWithList(std::move(base_list_.block)));
    return true;
  }

  // This version's mappings as a list: each chunk's cell, from its rows of raw_data.
  MappingList MappingsAsList() const {
    MappingList list;
    list.rank = ds_.shape.size();
    list.sources = {raw_path_};
    list.entries.reserve(mappings_.size());
    list.coords.reserve(mappings_.size() * 4 * list.rank);
    for (const Mapping& m : mappings_) {
      list.entries.push_back({0, static_cast<uint32_t>(list.coords.size())});
      list.coords.insert(list.coords.end(), m.origin.begin(), m.origin.end());
      list.coords.insert(list.coords.end(), m.extent.begin(), m.extent.end());
      list.coords.push_back(static_cast<uint64_t>(m.raw_start));
      list.coords.insert(list.coords.end(), list.rank - 1, 0);
      list.coords.insert(list.coords.end(), m.extent.begin(), m.extent.end());
    }
    return list;
  }

  // The dataset created without mappings, for ApplyMappingPatches to give it
  // the encoded list `block` once HDF5 has closed the file.
  Status WriteWithList(std::vector<uint8_t> block) {
    VH5_RETURN_IF_ERROR(CreateVirtualDataset(/*without_mappings=*/true));
    H5O_info_t info;
    if (H5Oget_info_by_name2(version_group_, ds_.path.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) <
        0)
      return h5::Error("cannot locate " + ds_.path);
    patches_->push_back(MappingPatch{ds_.path, info.addr, std::move(block)});
    return Status::OK();
  }

  // The chunk map of the same path in version `from`, for its clean chunks.
  Status LoadBaseMap(const std::string& from) {
    std::string source = layout::VersionPath(from, ds_.path);
    // From the header's bytes (milliseconds); H5Dopen copies every mapping
    // (~20 us each), so it is only the fallback.
    Result<VersionMappings> fast = ReadVersionMappings(file_, -1, source, ds_.chunks);
    if (fast.ok()) {
      base_shape_ = fast->map.shape();
      if (base_shape_.size() == ds_.shape.size() &&
          std::equal(base_shape_.begin() + 1, base_shape_.end(), ds_.shape.begin() + 1)) {
        base_map_ = std::move(fast->map);
        base_list_ = std::move(*fast);
      }
      return Status::OK();
    }
    if (fast.status().code() != Status::Code::kUnsupported) return fast.status();
    VH5_ASSIGN_OR_RETURN(h5::Handle dataset, OpenCheckedDataset(file_, source));
    h5::Handle dcpl(H5Dget_create_plist(dataset.get()));
    if (H5Pget_layout(dcpl.get()) != H5D_VIRTUAL) return Status::OK();  // nothing to keep
    h5::Handle space(H5Dget_space(dataset.get()));
    int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank != static_cast<int>(ds_.shape.size())) return Status::OK();
    std::vector<hsize_t> dims(rank);
    H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    base_shape_.assign(dims.begin(), dims.end());
    if (!std::equal(base_shape_.begin() + 1, base_shape_.end(), ds_.shape.begin() + 1))
      return Status::OK();  // elements moved: no chunk is where it was
    VH5_ASSIGN_OR_RETURN(ChunkMap map, ChunkMap::Parse(dcpl.get(), base_shape_, ds_.chunks));
    base_map_ = std::move(map);
    return Status::OK();
  }

  // True if no dirty byte range touches the cell's span of `data`.
  bool Clean(const std::vector<uint64_t>& origin, const std::vector<uint64_t>& extent) const {
    uint64_t first = 0, last = 0;
    for (size_t d = 0; d < origin.size(); ++d) {
      first = first * ds_.shape[d] + origin[d];
      last = last * ds_.shape[d] + origin[d] + extent[d] - 1;
    }
    uint64_t begin = first * itemsize_, end = (last + 1) * itemsize_;
    auto it =
        std::upper_bound(plan_.dirty.begin(), plan_.dirty.end(), std::make_pair(begin, UINT64_MAX));
    if (it != plan_.dirty.begin() && std::prev(it)->second > begin) return false;
    return it == plan_.dirty.end() || it->first >= end;
  }

  // Where the base version keeps the same cell: true with `*raw_start` set,
  // or true with `*fill` when it maps nothing there (the cell is all fill);
  // false when the base holds the cell otherwise (another extent, another
  // source, or outside its shape).
  bool BaseMapping(const Mapping& m, int64_t* raw_start, bool* fill) const {
    if (!base_map_) return false;
    for (size_t d = 0; d < m.origin.size(); ++d)
      if (m.origin[d] + m.extent[d] > base_shape_[d]) return false;
    std::span<const ChunkMap::Piece> pieces =
        base_map_->PiecesOf(base_map_->CellOf(m.origin.data()));
    *fill = pieces.empty();
    if (*fill) return true;
    if (pieces.size() != 1 || base_map_->sources()[pieces[0].source] != raw_path_) return false;
    const uint64_t* vstart = base_map_->VirtualStart(pieces[0]);
    const uint64_t* count = base_map_->Count(pieces[0]);
    const uint64_t* sstart = base_map_->SourceStart(pieces[0]);
    for (size_t d = 0; d < m.origin.size(); ++d) {
      if (vstart[d] != m.origin[d] || count[d] != m.extent[d]) return false;
      if (d > 0 && sstart[d] != 0) return false;
    }
    *raw_start = static_cast<int64_t>(sstart[0]);
    return true;
  }

  // Whether the chunk stored at `raw_start` holds exactly `bytes`: a dirty
  // cell rewritten with the same values is found without hashing it.
  Result<bool> StoredChunkEquals(const Mapping& m, int64_t raw_start, const std::string& bytes) {
    if (!base_raw_) {
      // Read with pread, outside HDF5 (H5Dread took 30-60 us a chunk): the
      // commit holds every write inside the file's old size in memory, so
      // the descriptor sees raw_data's chunks and index as the base left them.
      VH5_ASSIGN_OR_RETURN(Fd fd, h5::OpenReadOnlyDescriptor(file_));
      const ChunkIndex* known = nullptr;
      if (chunk_indexes_) {
        if (auto it = chunk_indexes_->find(raw_path_); it != chunk_indexes_->end())
          known = &it->second;
      }
      VH5_ASSIGN_OR_RETURN(base_raw_, RawData::Open(file_, std::make_shared<Fd>(std::move(fd)),
                                                    raw_path_, {}, known));
    }
    std::vector<uint64_t> start(m.origin.size(), 0);
    start[0] = static_cast<uint64_t>(raw_start);
    stored_.resize(bytes.size());
    VH5_RETURN_IF_ERROR(base_raw_->ReadBlock(start.data(), m.extent.data(), stored_.data()));
    return stored_ == bytes;
  }

  Status Validate() {
    VH5_RETURN_IF_ERROR(Describe());
    if (!vlen_) {
      content_ = ds_.source ? ds_.source : std::make_shared<MemorySource>(ds_.data);
      cells_.emplace(*content_, ds_.shape, ds_.chunks, itemsize_);
    }
    if (vlen_ ? ds_.strings.size() != elements_ : content_->size() != elements_ * itemsize_)
      return Status::InvalidArgument(ds_.path + ": content does not match shape and dtype");
    return Status::OK();
  }

  // The type, size, fill value and raw_data path, from the dataset's description.
  Status Describe() {
    size_t rank = ds_.shape.size();
    if (rank == 0) return Status::Unsupported(ds_.path + ": scalar datasets");
    if (ds_.chunks.size() != rank) return Status::InvalidArgument(ds_.path + ": chunks rank");
    elements_ = 1;
    for (size_t d = 0; d < rank; ++d) {
      if (ds_.chunks[d] == 0) return Status::InvalidArgument(ds_.path + ": a chunk of 0");
      elements_ *= ds_.shape[d];
    }
    VH5_ASSIGN_OR_RETURN(type_, TypeFromNumpy(ds_.dtype));
    vlen_ = H5Tis_variable_str(type_.get()) > 0;
    itemsize_ = H5Tget_size(type_.get());
    fill_ = ds_.fill_bytes.empty() ? std::string(vlen_ ? 0 : itemsize_, '\0') : ds_.fill_bytes;
    if (!vlen_ && fill_.size() != itemsize_)
      return Status::InvalidArgument(ds_.path + ": fill value of the wrong size");
    raw_group_path_ = layout::DataGroupPath(ds_.path);
    raw_path_ = raw_group_path_ + "/raw_data";
    return Status::OK();
  }

  Status OpenOrCreateRawData() {
    size_t rank = ds_.shape.size();
    if (h5::LinkExists(file_, raw_path_)) {
      VH5_ASSIGN_OR_RETURN(raw_group_, OpenCheckedGroup(file_, raw_group_path_));
      VH5_ASSIGN_OR_RETURN(raw_, OpenCheckedDataset(file_, raw_path_));
      h5::Handle stored(H5Dget_type(raw_.get()));
      if (H5Tequal(stored.get(), type_.get()) <= 0)
        return Status::InvalidArgument(ds_.path + ": dtype " + ds_.dtype +
                                       " differs from the stored raw_data");
      h5::Handle dcpl(H5Dget_create_plist(raw_.get()));
      std::vector<hsize_t> chunk(rank);
      if (H5Pget_chunk(dcpl.get(), static_cast<int>(rank), chunk.data()) !=
              static_cast<int>(rank) ||
          !std::equal(chunk.begin(), chunk.end(), ds_.chunks.begin()))
        return Status::InvalidArgument(ds_.path + ": chunks " + py::ListRepr(ds_.chunks) +
                                       " differ from the stored raw_data");
      return Status::OK();
    }
    h5::Handle lcpl = h5::IntermediateGroups();
    raw_group_ = h5::Handle(
        H5Gcreate2(file_, raw_group_path_.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT));
    if (!raw_group_) return h5::Error("cannot create " + raw_group_path_);
    std::vector<hsize_t> dims(rank), maxdims(rank), chunk(ds_.chunks.begin(), ds_.chunks.end());
    for (size_t d = 0; d < rank; ++d) dims[d] = maxdims[d] = ds_.chunks[d];
    dims[0] = 0;
    maxdims[0] = H5S_UNLIMITED;
    h5::Handle space(H5Screate_simple(static_cast<int>(rank), dims.data(), maxdims.data()));
    h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
    H5Pset_chunk(dcpl.get(), static_cast<int>(rank), chunk.data());
    VH5_ASSIGN_OR_RETURN(CompressionSpec filters, ParseCompression(ds_.compression));
    VH5_RETURN_IF_ERROR(SetFilters(dcpl.get(), filters));
    // h5py allocates every chunk filled, whatever the fill value.
    H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_ALLOC);
    if (!vlen_) H5Pset_fill_value(dcpl.get(), type_.get(), fill_.data());
    raw_ = h5::Handle(H5Dcreate2(raw_group_.get(), layout::kRawData, type_.get(), space.get(),
                                 H5P_DEFAULT, dcpl.get(), H5P_DEFAULT));
    if (!raw_) return h5::Error("cannot create " + raw_path_);
    return WriteAttribute(raw_.get(), ChunksAttribute(ds_.chunks));
  }

  // Copies the cell's elements (C order over `extent`) out of the dataset.
  Status Gather(const std::vector<uint64_t>& origin, const std::vector<uint64_t>& extent,
                std::string* bytes, std::vector<std::string_view>* strings) {
    if (!vlen_) return cells_->Read(origin, extent, bytes);
    bytes->clear();
    strings->clear();
    for (BoxRows rows(ds_.shape, origin, extent); !rows.done(); rows.Next())
      for (uint64_t i = 0; i < rows.length(); ++i)
        strings->push_back(ds_.strings[rows.offset() + i]);
    return Status::OK();
  }

  bool AllFill(const std::string& bytes, const std::vector<std::string_view>& strings) const {
    if (vlen_) {
      for (std::string_view s : strings)
        if (!s.empty()) return false;
      return true;
    }
    for (size_t i = 0; i < bytes.size(); i += itemsize_)
      if (std::memcmp(bytes.data() + i, fill_.data(), itemsize_) != 0) return false;
    return true;
  }

  Status StoreChunks(HashTable* table) {
    size_t rank = ds_.shape.size();
    if (elements_ == 0) return Status::OK();
    // Every cell of the chunk grid, in C order.
    std::vector<uint64_t> first(rank, 0), last(rank), cell(rank, 0);
    for (size_t d = 0; d < rank; ++d) last[d] = (ds_.shape[d] - 1) / ds_.chunks[d];
    h5::Handle space(H5Dget_space(raw_.get()));
    std::vector<hsize_t> raw_dims(rank);
    H5Sget_simple_extent_dims(space.get(), raw_dims.data(), nullptr);
    raw_rows_ = raw_dims[0];

    do {
      Mapping m;
      m.origin.resize(rank);
      m.extent.resize(rank);
      for (size_t d = 0; d < rank; ++d) {
        m.origin[d] = cell[d] * ds_.chunks[d];
        m.extent[d] = std::min(ds_.chunks[d], ds_.shape[d] - m.origin[d]);
      }
      VH5_RETURN_IF_ERROR(MapCell(std::move(m)));
      if (pending_bytes_ >= kHashBatchBytes) VH5_RETURN_IF_ERROR(StorePending(table));
    } while (NextInBox(cell, first, last));
    return StorePending(table);
  }

  // Maps one cell to the base's chunk when it is known unchanged, or to
  // nothing when it is all fill; any other cell waits in pending_ for its hash.
  Status MapCell(Mapping m) {
    int64_t base_start = 0;
    bool base_fill = false;
    bool in_base = BaseMapping(m, &base_start, &base_fill);
    if (in_base && Clean(m.origin, m.extent)) {
      m.raw_start = base_start;
      if (!base_fill) mappings_.push_back(std::move(m));
      return Status::OK();
    }
    PendingCell cell;
    VH5_RETURN_IF_ERROR(Gather(m.origin, m.extent, &cell.bytes, &cell.strings));
    if (AllFill(cell.bytes, cell.strings)) return Status::OK();
    if (in_base && !base_fill && !vlen_) {
      VH5_ASSIGN_OR_RETURN(bool same, StoredChunkEquals(m, base_start, cell.bytes));
      if (same) {
        m.raw_start = base_start;
        mappings_.push_back(std::move(m));
        return Status::OK();
      }
    }
    cell.mapping = mappings_.size();
    mappings_.push_back(std::move(m));
    pending_bytes_ += cell.bytes.size() + cell.strings.size() * sizeof(std::string_view);
    pending_.push_back(std::move(cell));
    return Status::OK();
  }

  // Hashes the pending cells on every core, then, in cell order, maps each to
  // the chunk the hash table knows or stores it as a new one.
  Status StorePending(HashTable* table) {
    HashInParallel();
    for (PendingCell& cell : pending_) {
      Mapping& m = mappings_[cell.mapping];
      if (auto found = table->Find(cell.hash)) {
        m.raw_start = found->first;
        continue;
      }
      // After the next free slot: a rebuilt (legacy) table may have
      // fewer rows than raw_data has slots.
      m.raw_start = std::max<int64_t>(table->largest_index() * static_cast<int64_t>(ds_.chunks[0]),
                                      static_cast<int64_t>(raw_rows_));
      table->Add(cell.hash, m.raw_start, m.raw_start + static_cast<int64_t>(m.extent[0]));
      VH5_RETURN_IF_ERROR(WriteChunk(m, cell.bytes, cell.strings));
    }
    pending_.clear();
    pending_bytes_ = 0;
    return Status::OK();
  }

  void HashInParallel() {
    std::atomic<size_t> next{0};
    auto work = [this, &next] {
      for (size_t i; (i = next++) < pending_.size();) {
        PendingCell& cell = pending_[i];
        const std::vector<uint64_t>& extent = mappings_[cell.mapping].extent;
        cell.hash =
            vlen_ ? HashStringChunk(cell.strings, extent) : HashFixedChunk(cell.bytes, extent);
      }
    };
    size_t workers =
        std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()), pending_.size());
    std::vector<std::thread> helpers;
    for (size_t w = 1; w < workers; ++w) helpers.emplace_back(work);
    work();
    for (std::thread& t : helpers) t.join();
  }

  Status WriteChunk(const Mapping& m, const std::string& bytes,
                    const std::vector<std::string_view>& strings) {
    size_t rank = ds_.shape.size();
    hsize_t needed = static_cast<hsize_t>(m.raw_start) + ds_.chunks[0];
    if (needed > raw_rows_) {
      std::vector<hsize_t> dims(ds_.chunks.begin(), ds_.chunks.end());
      dims[0] = needed;
      if (H5Dset_extent(raw_.get(), dims.data()) < 0) return h5::Error("cannot grow " + raw_path_);
      raw_rows_ = needed;
    }
    std::vector<hsize_t> start(rank, 0), count(m.extent.begin(), m.extent.end());
    start[0] = static_cast<hsize_t>(m.raw_start);
    h5::Handle file_space(H5Dget_space(raw_.get()));
    h5::Handle mem_space(H5Screate_simple(static_cast<int>(rank), count.data(), nullptr));
    H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(),
                        nullptr);
    herr_t rc;
    if (vlen_) {
      std::vector<std::string> owned(strings.begin(), strings.end());
      std::vector<const char*> pointers;
      for (const std::string& s : owned) pointers.push_back(s.c_str());
      rc = H5Dwrite(raw_.get(), type_.get(), mem_space.get(), file_space.get(), H5P_DEFAULT,
                    pointers.data());
    } else {
      rc = H5Dwrite(raw_.get(), type_.get(), mem_space.get(), file_space.get(), H5P_DEFAULT,
                    bytes.data());
    }
    if (rc < 0) return h5::Error("cannot write a chunk of " + raw_path_);
    return Status::OK();
  }

  // `without_mappings`: a virtual layout with no mapping yet (mapping_patch.h).
  Status CreateVirtualDataset(bool without_mappings) {
    size_t rank = ds_.shape.size();
    std::vector<hsize_t> dims(ds_.shape.begin(), ds_.shape.end());
    h5::Handle space(H5Screate_simple(static_cast<int>(rank), dims.data(), dims.data()));
    h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
    // The Python library gives string datasets no fill value of their own
    // (h5py cannot set one); a zero fill reads the same either way.
    bool string_type = vlen_ || H5Tget_class(type_.get()) == H5T_STRING;
    bool zero_fill = fill_.find_first_not_of('\0') == std::string::npos;
    if (!vlen_ && !(string_type && zero_fill))
      H5Pset_fill_value(dcpl.get(), type_.get(), fill_.data());
    // An empty dataset has no mapping; the Python library stores it plainly.
    if (without_mappings) {
      h5::SetVirtualLayoutWithoutMappings(dcpl.get());
    } else if (elements_ > 0) {
      h5::Handle raw_space(H5Dget_space(raw_.get()));
      std::vector<uint64_t> sstart(rank, 0);
      for (const Mapping& m : mappings_) {
        sstart[0] = static_cast<uint64_t>(m.raw_start);
        VH5_RETURN_IF_ERROR(h5::MapVirtualBox(dcpl.get(), space.get(), m.origin, m.extent,
                                              raw_path_, raw_space.get(), sstart)
                                .WithContext(ds_.path));
      }
      // Every chunk is fill: a virtual layout needs no mapping at all.
      if (mappings_.empty()) h5::SetVirtualLayoutWithoutMappings(dcpl.get());
    }
    h5::Handle lcpl = h5::IntermediateGroups();
    h5::Handle dataset(H5Dcreate2(version_group_, ds_.path.c_str(), type_.get(), space.get(),
                                  lcpl.get(), dcpl.get(), H5P_DEFAULT));
    if (!dataset) return h5::Error("cannot create " + ds_.path);
    for (const Attribute& a : ds_.attrs) VH5_RETURN_IF_ERROR(WriteAttribute(dataset.get(), a));
    VH5_RETURN_IF_ERROR(
        WriteAttribute(dataset.get(), Attribute{layout::kRawDataAttr, raw_path_, ""}));
    return WriteAttribute(dataset.get(), ChunksAttribute(ds_.chunks));
  }

  hid_t file_;
  hid_t version_group_;
  const std::string& base_;
  const DatasetPlan& plan_;
  const NewDataset& ds_;
  h5::Handle type_;
  bool vlen_ = false;
  size_t itemsize_ = 0;
  uint64_t elements_ = 0;
  std::string fill_;
  std::string raw_group_path_, raw_path_;
  h5::Handle raw_group_, raw_;
  hsize_t raw_rows_ = 0;
  std::vector<Mapping> mappings_;
  std::vector<MappingPatch>* patches_;
  HashTableCache* hash_tables_;                             // may be nullptr
  const std::map<std::string, ChunkIndex>* chunk_indexes_;  // may be nullptr
  std::optional<ChunkMap> base_map_;
  VersionMappings base_list_;  // its list as stored, when read from the file's bytes
  std::vector<uint64_t> base_shape_;
  std::shared_ptr<const ByteSource> content_;  // fixed-size types
  std::optional<CellReader> cells_;
  std::shared_ptr<RawData> base_raw_;  // raw_data as the base left it, once needed
  std::string stored_;                 // a base chunk read back for comparison

  // Cells waiting for their hash, at most about kHashBatchBytes of them.
  static constexpr uint64_t kHashBatchBytes = 64 << 20;
  struct PendingCell {
    size_t mapping = 0;  // index in mappings_
    std::string bytes;
    std::vector<std::string_view> strings;
    ChunkHash hash{};
  };
  std::vector<PendingCell> pending_;
  uint64_t pending_bytes_ = 0;
};

}  // namespace

Status WriteDataset(hid_t file, hid_t version_group, const std::string& base,
                    const DatasetPlan& plan, std::vector<MappingPatch>* patches,
                    HashTableCache* hash_tables,
                    const std::map<std::string, ChunkIndex>* chunk_indexes) {
  DatasetWriter writer(file, version_group, base, plan, patches, hash_tables, chunk_indexes);
  return writer.Write();
}

}  // namespace vh5
