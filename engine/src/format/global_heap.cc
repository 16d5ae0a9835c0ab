#include "format/global_heap.h"

#include <cstring>
#include <string>
#include <vector>

#include "util/byte_decoder.h"

namespace vh5 {
namespace {

// HDF5 makes every collection at least this large (H5HG_MINSIZE) and reads
// this much before it knows the size.
constexpr uint64_t kMinCollection = 4096;

}  // namespace

Result<GlobalHeapCollection> ReadGlobalHeapCollection(const FileBytes& file, uint64_t address) {
  size_t len = file.len_size();
  uint64_t header = 8 + len;         // "GCOL", version, 3 reserved, collection size
  uint64_t object_header = 8 + len;  // index, references, 4 reserved, object size
  std::vector<uint8_t> head;
  VH5_RETURN_IF_ERROR(file.Read(address, header, &head));
  if (std::memcmp(head.data(), "GCOL", 4) != 0 || head[4] != 1)
    return Status::Corruption("bad global heap collection at " + std::to_string(address));
  GlobalHeapCollection out;
  out.size = LoadLe(head.data() + 8, len);
  if (out.size < kMinCollection)
    return Status::Corruption("a global heap collection of " + std::to_string(out.size) + " bytes");
  std::vector<uint8_t> image;
  VH5_RETURN_IF_ERROR(file.Read(address, out.size, &image));
  uint64_t end = out.size;
  for (uint64_t at = header; at < end;) {
    if (end - at < object_header) break;  // too small for an object: free space, as HDF5 reads it
    ByteDecoder in(std::span<const uint8_t>(image).subspan(at, object_header));
    uint16_t index = 0;
    uint64_t size = 0;
    in.U16(&index);
    in.Skip(6);
    in.Uint(len, &size);
    // HDF5 steps by the object header plus the size padded to 8 (the size
    // alone for free space): both must stay inside the collection and move.
    uint64_t room = end - at;
    uint64_t need = 0;
    if (index == 0) {
      if (size < object_header || size > room)
        return Status::Corruption("global heap free space of " + std::to_string(size) +
                                  " bytes in a collection of " + std::to_string(out.size));
      need = size;
    } else {
      if (size > room - object_header || (size + 7) / 8 * 8 > room - object_header)
        return Status::Corruption("global heap object " + std::to_string(index) + " of " +
                                  std::to_string(size) + " bytes overflows its collection");
      need = object_header + (size + 7) / 8 * 8;
    }
    out.objects[index] = size;
    at += need;
  }
  return out;
}

Result<std::vector<VlenReference>> VlenReferences(std::span<const uint8_t> data,
                                                  size_t element_size, size_t addr_size) {
  if (element_size != 4 + addr_size + 4)
    return Status::Corruption("variable-length elements of " + std::to_string(element_size) +
                              " bytes");
  if (data.size() % element_size != 0)
    return Status::Corruption("variable-length data that is not whole elements");
  std::vector<VlenReference> out;
  out.reserve(data.size() / element_size);
  for (size_t at = 0; at < data.size(); at += element_size) {
    const uint8_t* p = data.data() + at;
    out.push_back(VlenReference{static_cast<uint32_t>(LoadLe(p, 4)), LoadLe(p + 4, addr_size),
                                static_cast<uint32_t>(LoadLe(p + 4 + addr_size, 4))});
  }
  return out;
}

}  // namespace vh5
