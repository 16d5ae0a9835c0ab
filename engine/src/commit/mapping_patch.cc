#include "commit/mapping_patch.h"

#include <cstring>

#include "format/dataset_messages.h"
#include "format/object_header.h"
#include "journal/journal.h"
#include "util/byte_decoder.h"

namespace vh5 {
namespace {

constexpr uint64_t kMinCollection = 4096;  // H5HG_MINSIZE
constexpr size_t kObjectHeader = 16;       // index, references, reserved, size

// The end-of-file address field of a version 0 or 1 superblock (the ones
// HDF5 1.10 writes by default; later versions carry a checksum).
Result<uint64_t> EndOfFileField(const FileBytes& file, uint64_t* eoa) {
  std::vector<uint8_t> sb;
  size_t addr = file.addr_size();
  VH5_RETURN_IF_ERROR(file.Read(0, 28 + 4 * addr, &sb));
  if (std::memcmp(sb.data(), "\x89HDF\r\n\x1a\n", 8) != 0)
    return Status::Unsupported("no superblock at the start of the file");
  if (sb[8] > 1) return Status::Unsupported("superblock version " + std::to_string(sb[8]));
  if (sb[13] != addr) return Status::Unsupported("superblock with another address size");
  size_t base_at = sb[8] == 0 ? 24 : 28;
  uint64_t base_address = LoadLe(&sb[base_at], addr);
  uint64_t driver = LoadLe(&sb[base_at + 3 * addr], addr);
  if (base_address != 0 || driver != file.undefined_address())
    return Status::Unsupported("a superblock with a base address or driver information");
  size_t eoa_at = base_at + 2 * addr;
  *eoa = LoadLe(&sb[eoa_at], addr);
  return static_cast<uint64_t>(eoa_at);
}

// What a list takes in a collection: its object header, its bytes padded to 8.
uint64_t ObjectSize(const std::vector<uint8_t>& block) {
  return kObjectHeader + (block.size() + 7) / 8 * 8;
}

// A global heap collection of `size` bytes holding `blocks`.
struct Collection {
  uint64_t size = 0;
  std::vector<const std::vector<uint8_t>*> blocks;  // objects 1, 2, ...
};

// The collection as "GCOL" version 1 (each object with references 0, as
// HDF5 stores mapping lists).
std::vector<uint8_t> Encode(const Collection& c) {
  std::vector<uint8_t> out(c.size, 0);
  std::memcpy(out.data(), "GCOL", 4);
  out[4] = 1;
  StoreLe(&out[8], 8, c.size);
  uint64_t used = 16;
  for (size_t i = 0; i < c.blocks.size(); ++i) {
    const std::vector<uint8_t>& block = *c.blocks[i];
    StoreLe(&out[used], 2, i + 1);
    StoreLe(&out[used + 8], 8, block.size());
    std::memcpy(&out[used + kObjectHeader], block.data(), block.size());
    used += ObjectSize(block);
  }
  // The rest is free space: object 0 when a header fits, else a tail HDF5 skips.
  if (c.size - used >= kObjectHeader) StoreLe(&out[used + 8], 8, c.size - used);
  return out;
}

// Where each patch's list goes: collections filled as HDF5's H5HG_insert
// fills them, a list joining the last collection when its free space holds
// it, else starting one of max(4 KiB, its size). Small lists share a
// collection rather than taking 4 KiB each.
struct Placement {
  std::vector<Collection> collections;
  std::vector<std::pair<size_t, uint16_t>> place;  // per patch: collection, object index
};

Placement Place(const std::vector<MappingPatch>& patches) {
  Placement p;
  uint64_t used = 0;
  for (const MappingPatch& patch : patches) {
    uint64_t need = ObjectSize(patch.block);
    if (p.collections.empty() || used + need > p.collections.back().size) {
      p.collections.push_back({std::max(16 + need, kMinCollection), {}});
      used = 16;
    }
    std::vector<const std::vector<uint8_t>*>& blocks = p.collections.back().blocks;
    blocks.push_back(&patch.block);
    used += need;
    p.place.emplace_back(p.collections.size() - 1, static_cast<uint16_t>(blocks.size()));
  }
  return p;
}

Status Apply(const FileBytes& file, Transaction* txn, const std::vector<MappingPatch>& patches) {
  if (file.len_size() != 8) return Status::Unsupported("lengths of other than 8 bytes");
  uint64_t eoa = 0;
  VH5_ASSIGN_OR_RETURN(uint64_t eoa_at, EndOfFileField(file, &eoa));
  if (file.base() + eoa != file.file_size())
    return Status::Unsupported("the file does not end at its end-of-file address");
  // Every header checked before anything is written.
  std::vector<uint64_t> layout_at;
  for (const MappingPatch& patch : patches) {
    VH5_ASSIGN_OR_RETURN(ObjectHeader header, ObjectHeader::Read(file, patch.header_address));
    if (header.version() != 1)
      return Status::Unsupported(patch.path + ": object header version " +
                                 std::to_string(header.version()));
    const HeaderMessage* layout = header.Find(kLayoutMessage);
    if (layout == nullptr || (layout->flags & kMessageShared))
      return Status::Unsupported(patch.path + ": no layout message of its own");
    Result<Layout> decoded = DecodeLayout(layout->data, {file.addr_size(), file.len_size()});
    if (!decoded.ok() || decoded->layout_class != LayoutClass::kVirtual || decoded->heap_defined)
      return Status::Unsupported(patch.path + ": not a virtual layout without mappings");
    layout_at.push_back(layout->address + kVirtualLayoutHeapIdOffset);
  }
  Placement placement = Place(patches);
  std::vector<uint64_t> collection_at;
  for (const Collection& c : placement.collections) {
    std::vector<uint8_t> collection = Encode(c);
    VH5_RETURN_IF_ERROR(txn->Write(
        file.base() + eoa, reinterpret_cast<const char*>(collection.data()), collection.size()));
    collection_at.push_back(eoa);
    eoa += collection.size();
  }
  size_t addr = file.addr_size();
  for (size_t i = 0; i < patches.size(); ++i) {
    uint8_t id[12];
    StoreLe(id, addr, collection_at[placement.place[i].first]);
    StoreLe(id + addr, 4, placement.place[i].second);
    VH5_RETURN_IF_ERROR(
        txn->Write(file.base() + layout_at[i], reinterpret_cast<const char*>(id), addr + 4));
  }
  uint8_t field[8];
  StoreLe(field, addr, eoa);
  return txn->Write(file.base() + eoa_at, reinterpret_cast<const char*>(field), addr);
}

}  // namespace

Status ApplyMappingPatches(const FileBytes& file, Transaction* txn,
                           const std::vector<MappingPatch>& patches) {
  if (patches.empty()) return Status::OK();
  return Apply(file, txn, patches);
}

}  // namespace vh5
