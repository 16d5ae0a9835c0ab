#include "format/dense_storage_check.h"

#include <cstring>
#include <string>
#include <vector>

#include "util/byte_decoder.h"
#include "util/checksum.h"

namespace vh5 {
namespace {

Status Bad(const char* what, uint64_t address, const std::string& why) {
  return Status::Corruption(std::string(what) + " at " + std::to_string(address) + ": " + why);
}

// The `len` bytes of a header at `address` whose last 4 bytes are the
// checksum of the rest, after `signature` and version 0.
Status ReadHeader(const FileBytes& file, uint64_t address, uint64_t len, const char* signature,
                  const char* what, std::vector<uint8_t>* out) {
  if (address >= file.file_size() || len > file.file_size() - address)
    return Bad(what, address, "lies past the end of the file");
  VH5_RETURN_IF_ERROR(file.Read(address, len, out));
  if (std::memcmp(out->data(), signature, 4) != 0) return Bad(what, address, "no signature");
  if ((*out)[4] != 0) return Bad(what, address, "version " + std::to_string((*out)[4]));
  uint32_t stored = 0;
  std::memcpy(&stored, out->data() + len - 4, 4);  // little-endian, as HDF5 writes it
  if (MetadataChecksum(std::span<const uint8_t>(out->data(), len - 4)) != stored)
    return Bad(what, address, "checksum mismatch");
  return Status::OK();
}

Status CheckBtree(const FileBytes& file, uint64_t address) {
  const char* what = "v2 B-tree header";
  uint64_t len = 4 + 1 + 1 + 4 + 2 + 2 + 1 + 1 + file.addr_size() + 2 + file.len_size() + 4;
  std::vector<uint8_t> header;
  VH5_RETURN_IF_ERROR(ReadHeader(file, address, len, "BTHD", what, &header));
  ByteDecoder in(std::span<const uint8_t>(header.data() + 6, header.size() - 6));
  uint64_t node_size = 0, record_size = 0, depth = 0, root = 0;
  uint8_t split = 0, merge = 0;
  if (!in.Uint(4, &node_size) || !in.Uint(2, &record_size) || !in.Uint(2, &depth) ||
      !in.U8(&split) || !in.U8(&merge) || !in.Uint(file.addr_size(), &root))
    return Bad(what, address, "short");
  if (node_size < 16 || node_size > file.file_size() || record_size == 0 ||
      record_size >= node_size)
    return Bad(what, address,
               "a node of " + std::to_string(node_size) + " bytes for records of " +
                   std::to_string(record_size));
  if (split == 0 || split > 100 || merge >= split) return Bad(what, address, "split and merge");
  uint64_t undefined = ~uint64_t{0} >> (64 - 8 * file.addr_size());
  if (root != undefined && (root >= file.file_size() || node_size > file.file_size() - root))
    return Bad(what, address, "its root node lies past the end of the file");
  return Status::OK();
}

Status CheckHeap(const FileBytes& file, uint64_t address) {
  const char* what = "fractal heap header";
  // The fixed part; I/O filters add a variable tail, read when present.
  uint64_t a = file.addr_size(), l = file.len_size();
  uint64_t fixed = 4 + 1 + 2 + 2 + 1 + 4 + l + a + l + a + l + l + l + l + l + l + l + l + 2 + l +
                   l + 2 + 2 + a + 2;
  if (address >= file.file_size() || fixed + 4 > file.file_size() - address)
    return Bad(what, address, "lies past the end of the file");
  std::vector<uint8_t> head;
  VH5_RETURN_IF_ERROR(file.Read(address, 9, &head));
  uint64_t filters = head[7] | (uint64_t{head[8]} << 8);
  uint64_t len = fixed + (filters > 0 ? l + 4 + filters : 0) + 4;
  std::vector<uint8_t> header;
  return ReadHeader(file, address, len, "FRHP", what, &header);
}

}  // namespace

Status CheckDenseStorage(const FileBytes& file, const DenseStorage& dense) {
  if (!dense.dense) return Status::OK();
  VH5_RETURN_IF_ERROR(CheckHeap(file, dense.heap));
  VH5_RETURN_IF_ERROR(CheckBtree(file, dense.name_index));
  if (dense.order_index) VH5_RETURN_IF_ERROR(CheckBtree(file, *dense.order_index));
  return Status::OK();
}

}  // namespace vh5
