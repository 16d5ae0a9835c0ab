#include "chunk_index.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <unordered_set>

#include "fd.h"
#include "h5_handle.h"

namespace vh5 {
namespace {

constexpr uint16_t kLayoutMessage = 0x0008;
constexpr uint16_t kContinuationMessage = 0x0010;
constexpr int kMaxTreeDepth = 64;

// Little-endian reads from a bounded buffer of the file.
class Reader {
 public:
  Reader(int fd, uint64_t file_size) : fd_(fd), file_size_(file_size) {}

  Status Load(uint64_t offset, uint64_t len, std::vector<uint8_t>* out) const {
    if (offset > file_size_ || len > file_size_ - offset)
      return Status::Corruption("chunk index points past the end of the file");
    out->resize(len);
    ssize_t n = PreadAll(fd_, reinterpret_cast<char*>(out->data()), len, offset);
    if (n < 0) return Status::IOError(std::string("pread: ") + std::strerror(errno));
    if (static_cast<uint64_t>(n) != len) return Status::Corruption("chunk index cut short");
    return Status::OK();
  }

 private:
  int fd_;
  uint64_t file_size_;
};

uint64_t Le(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = n; i-- > 0;) v = (v << 8) | p[i];
  return v;
}

struct Sizes {
  size_t addr = 8;  // "size of offsets" in the superblock
  size_t len = 8;   // "size of lengths"
  uint64_t base = 0;
};

// Finds the B-tree address and chunk rank in the dataset's version-1 object header.
Status FindLayout(const Reader& reader, const Sizes& sizes, uint64_t header, uint64_t* btree,
                  size_t* dimensionality) {
  std::vector<uint8_t> prefix;
  VH5_RETURN_IF_ERROR(reader.Load(header, 16, &prefix));
  if (prefix[0] != 1)
    return Status::Unsupported("object header version " + std::to_string(prefix[0]));
  std::vector<std::pair<uint64_t, uint64_t>> blocks = {{header + 16, Le(&prefix[8], 4)}};
  std::vector<uint8_t> block;
  for (size_t b = 0; b < blocks.size() && b < 1024; ++b) {
    VH5_RETURN_IF_ERROR(reader.Load(blocks[b].first, blocks[b].second, &block));
    for (size_t pos = 0; pos + 8 <= block.size();) {
      uint16_t type = static_cast<uint16_t>(Le(&block[pos], 2));
      size_t size = static_cast<size_t>(Le(&block[pos + 2], 2));
      const uint8_t* data = &block[pos + 8];
      if (pos + 8 + size > block.size())
        return Status::Corruption("object header message overflows");
      if (type == kContinuationMessage && size >= sizes.addr + sizes.len) {
        blocks.push_back({sizes.base + Le(data, sizes.addr), Le(data + sizes.addr, sizes.len)});
      } else if (type == kLayoutMessage && size >= 3) {
        if (data[0] == 3) {
          if (data[1] != 2) return Status::Unsupported("not a chunked layout");
          *dimensionality = data[2];
          if (size < 3 + sizes.addr) return Status::Corruption("short layout message");
          *btree = Le(data + 3, sizes.addr);
          return Status::OK();
        }
        if (data[0] == 1 || data[0] == 2) {
          if (data[2] != 2) return Status::Unsupported("not a chunked layout");
          *dimensionality = data[1];
          if (size < 8 + sizes.addr) return Status::Corruption("short layout message");
          *btree = Le(data + 8, sizes.addr);
          return Status::OK();
        }
        return Status::Unsupported("layout message version " + std::to_string(data[0]));
      }
      pos += 8 + size;
    }
  }
  return Status::Unsupported("no layout message");
}

}  // namespace

Result<ChunkIndex> ChunkIndex::Read(hid_t file, hid_t dataset, int fd) {
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
    index.chunk_dims_.push_back(chunk[d]);
    index.grid_.push_back((dims[d] + chunk[d] - 1) / chunk[d]);
  }

  Sizes sizes;
  h5::Handle fcpl(H5Fget_create_plist(file));
  hsize_t userblock = 0;
  if (!fcpl || H5Pget_sizes(fcpl.get(), &sizes.addr, &sizes.len) < 0 ||
      H5Pget_userblock(fcpl.get(), &userblock) < 0)
    return h5::Error("cannot read the file's address sizes");
  if (sizes.addr > 8 || sizes.len > 8) return Status::Unsupported("addresses wider than 8 bytes");
  sizes.base = userblock;
  H5O_info_t oinfo;
  if (H5Oget_info2(dataset, &oinfo, H5O_INFO_BASIC) < 0) return h5::Error("cannot locate header");
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::IOError(std::strerror(errno));
  Reader reader(fd, static_cast<uint64_t>(st.st_size));

  uint64_t btree = 0;
  size_t dimensionality = 0;
  VH5_RETURN_IF_ERROR(FindLayout(reader, sizes, sizes.base + oinfo.addr, &btree, &dimensionality));
  if (dimensionality != static_cast<size_t>(rank) + 1)
    return Status::Corruption("layout rank does not match the dataset");
  if (btree == HADDR_UNDEF || btree == ~uint64_t{0} >> (64 - 8 * sizes.addr))
    return index;  // no chunk written yet

  size_t key_size = 8 + 8 * dimensionality;
  std::vector<std::pair<uint64_t, int>> pending = {{btree, 0}};
  std::unordered_set<uint64_t> seen;
  std::vector<uint8_t> node;
  while (!pending.empty()) {
    auto [address, depth] = pending.back();
    pending.pop_back();
    if (depth > kMaxTreeDepth || !seen.insert(address).second)
      return Status::Corruption("chunk index is not a tree");
    uint64_t header = 8 + 2 * sizes.addr;
    VH5_RETURN_IF_ERROR(reader.Load(sizes.base + address, header, &node));
    if (std::memcmp(node.data(), "TREE", 4) != 0 || node[4] != 1)
      return Status::Corruption("bad chunk index node");
    int level = node[5];
    uint64_t entries = Le(&node[6], 2);
    VH5_RETURN_IF_ERROR(reader.Load(sizes.base + address + header,
                                    entries * (key_size + sizes.addr) + key_size, &node));
    for (uint64_t i = 0; i < entries; ++i) {
      const uint8_t* key = &node[i * (key_size + sizes.addr)];
      uint64_t child = Le(key + key_size, sizes.addr);
      if (level > 0) {
        pending.push_back({child, depth + 1});
        continue;
      }
      uint64_t linear = 0;
      for (int d = 0; d < rank; ++d) {
        uint64_t origin = Le(key + 8 + 8 * static_cast<size_t>(d), 8);
        if (origin % index.chunk_dims_[d] != 0) return Status::Corruption("misaligned chunk");
        linear = linear * index.grid_[d] + origin / index.chunk_dims_[d];
      }
      index.entries_[linear] = Entry{sizes.base + child, static_cast<uint32_t>(Le(key, 4)),
                                     static_cast<uint32_t>(Le(key + 4, 4))};
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
