#include "format/chunk_index.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_set>

#include "format/dataset_messages.h"
#include "format/file_bytes.h"
#include "format/object_header.h"
#include "hdf5/h5_handle.h"
#include "util/byte_decoder.h"

namespace vh5 {
namespace {

constexpr int kMaxTreeDepth = 64;

// The B-tree address and chunk rank in the dataset's layout message.
Status FindLayout(const FileBytes& file, uint64_t header, uint64_t* btree, size_t* dimensionality) {
  VH5_ASSIGN_OR_RETURN(ObjectHeader oh, ObjectHeader::Read(file, header));
  const HeaderMessage* message = oh.Find(kLayoutMessage);
  if (message == nullptr) return Status::Unsupported("no layout message");
  VH5_ASSIGN_OR_RETURN(Layout layout,
                       DecodeLayout(message->data, {file.addr_size(), file.len_size()}));
  if (layout.layout_class != LayoutClass::kChunked)
    return Status::Unsupported("not a chunked layout");
  // Version 4 indexes chunks otherwise (arrays, version-2 B-trees).
  if (layout.version == 4) return Status::Unsupported("layout message version 4");
  *dimensionality = layout.chunk.size();
  *btree = layout.address;
  return Status::OK();
}

// Whether chunk key `key` (size, filter mask, then the chunk's offsets)
// starts in a row below `rows` along axis 0. A child's chunks lie at or
// before its right key (before it, but HDF5 may set the right-most key to
// the last chunk itself): below such a key, below `rows`.
bool BelowRows(const uint8_t* key, uint64_t rows) { return LoadLe(key + 8, 8) < rows; }

}  // namespace

Result<ChunkIndex> ChunkIndex::Read(hid_t file, hid_t dataset, int fd, const ChunkIndex* known) {
  ChunkIndex index;
  h5::Handle dcpl(H5Dget_create_plist(dataset));
  h5::Handle space(H5Dget_space(dataset));
  int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank <= 0 || H5Pget_layout(dcpl.get()) != H5D_CHUNKED)
    return Status::Unsupported("not a chunked dataset");
  std::vector<hsize_t> chunk(static_cast<size_t>(rank)), dims(static_cast<size_t>(rank));
  H5Pget_chunk(dcpl.get(), rank, chunk.data());
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  for (int d = 0; d < rank; ++d) {
    if (chunk[d] == 0) return Status::Corruption("a chunk dimension of 0");
    index.chunk_dims_.push_back(chunk[d]);
    index.grid_.push_back((dims[d] + chunk[d] - 1) / chunk[d]);
  }
  index.complete_rows_ = dims[0] / chunk[0] * chunk[0];
  // What `known` holds below its complete rows stands, where the chunks and
  // the trailing extents (so the linear keys) are the same.
  uint64_t known_rows = 0;
  if (known && known->chunk_dims_ == index.chunk_dims_ &&
      std::equal(known->grid_.begin() + 1, known->grid_.end(), index.grid_.begin() + 1)) {
    known_rows = std::min(known->complete_rows_, index.complete_rows_);
    uint64_t per_row = 1;
    for (size_t d = 1; d < index.grid_.size(); ++d) per_row *= index.grid_[d];
    uint64_t end = known_rows / index.chunk_dims_[0] * per_row;
    for (const auto& [linear, entry] : known->entries_)
      if (linear < end) index.entries_.emplace(linear, entry);
  }

  H5O_info_t oinfo;
  if (H5Oget_info2(dataset, &oinfo, H5O_INFO_BASIC) < 0) return h5::Error("cannot locate header");
  VH5_ASSIGN_OR_RETURN(FileBytes file_bytes, FileBytes::Of(file, fd));
  size_t addr_size = file_bytes.addr_size();

  uint64_t btree = 0;
  size_t dimensionality = 0;
  VH5_RETURN_IF_ERROR(FindLayout(file_bytes, oinfo.addr, &btree, &dimensionality));
  if (dimensionality != static_cast<size_t>(rank) + 1)
    return Status::Corruption("layout rank does not match the dataset");
  if (btree == HADDR_UNDEF || btree == file_bytes.undefined_address())
    return index;  // no chunk written yet

  // HDF5 sizes every node for 2K entries (the file's istore K) and trusts
  // the count a node states: more is a file HDF5 would read past a buffer in.
  h5::Handle fcpl(H5Fget_create_plist(file));
  unsigned istore_k = 0;
  if (!fcpl || H5Pget_istore_k(fcpl.get(), &istore_k) < 0 || istore_k == 0)
    return h5::Error("cannot read the file's chunk B-tree size", Status::Code::kUnsupported);
  size_t key_size = 8 + 8 * dimensionality;
  std::vector<std::pair<uint64_t, int>> pending = {{btree, 0}};
  std::unordered_set<uint64_t> seen;
  std::vector<uint8_t> node;
  while (!pending.empty()) {
    auto [address, depth] = pending.back();
    pending.pop_back();
    if (depth > kMaxTreeDepth || !seen.insert(address).second)
      return Status::Corruption("chunk index is not a tree");
    uint64_t header = 8 + 2 * addr_size;
    VH5_RETURN_IF_ERROR(file_bytes.Read(address, header, &node));
    if (std::memcmp(node.data(), "TREE", 4) != 0 || node[4] != 1)
      return Status::Corruption("bad chunk index node");
    int level = node[5];
    uint64_t entries = LoadLe(&node[6], 2);
    if (entries > 2 * uint64_t{istore_k})
      return Status::Corruption("a chunk index node of " + std::to_string(entries) + " entries");
    if (level > 0 && depth + level > kMaxTreeDepth)
      return Status::Corruption("chunk index is not a tree");
    VH5_RETURN_IF_ERROR(
        file_bytes.Read(address + header, entries * (key_size + addr_size) + key_size, &node));
    for (uint64_t i = 0; i < entries; ++i) {
      const uint8_t* key = &node[i * (key_size + addr_size)];
      uint64_t child = LoadLe(key + key_size, addr_size);
      if (level > 0) {
        // Every chunk of the child lies before its right key: below the
        // rows `known` holds whole, it is known already.
        if (!BelowRows(key + key_size + addr_size, known_rows))
          pending.push_back({child, depth + 1});
        continue;
      }
      uint64_t linear = 0;
      for (int d = 0; d < rank; ++d) {
        uint64_t origin = LoadLe(key + 8 + 8 * static_cast<size_t>(d), 8);
        if (origin % index.chunk_dims_[d] != 0) return Status::Corruption("misaligned chunk");
        linear = linear * index.grid_[d] + origin / index.chunk_dims_[d];
      }
      uint64_t size = LoadLe(key, 4);
      // Readers allocate what a chunk says it holds: it must be in the file.
      if (child > file_bytes.file_size() || size > file_bytes.file_size() - child ||
          file_bytes.base() + child + size > file_bytes.file_size())
        return Status::Corruption("a chunk past the end of the file");
      index.entries_[linear] = Entry{file_bytes.base() + child, static_cast<uint32_t>(size),
                                     static_cast<uint32_t>(LoadLe(key + 4, 4))};
    }
  }
  return index;
}

const ChunkIndex::Entry* ChunkIndex::Find(const uint64_t* origin) const {
  uint64_t linear = 0;
  for (size_t d = 0; d < chunk_dims_.size(); ++d) {
    uint64_t c = origin[d] / chunk_dims_[d];
    if (c >= grid_[d]) return nullptr;
    linear = linear * grid_[d] + c;
  }
  auto it = entries_.find(linear);
  return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace vh5
