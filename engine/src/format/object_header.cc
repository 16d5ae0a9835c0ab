#include "format/object_header.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "util/byte_decoder.h"
#include "util/checksum.h"

namespace vh5 {
namespace {

constexpr size_t kV1PrefixSize = 16;  // 12 bytes of fields, padded to 8-byte alignment
constexpr uint8_t kV2FlagsKnown = 0x3f;
constexpr uint8_t kV2ChunkSizeBits = 0x03;
constexpr uint8_t kV2CreationOrder = 0x04;
constexpr uint8_t kV2PhaseChange = 0x10;
constexpr uint8_t kV2Times = 0x20;

Status Checksummed(std::span<const uint8_t> image, const char* what) {
  if (image.size() < 4) return Status::Corruption(std::string(what) + " too short");
  uint32_t stored = static_cast<uint32_t>(LoadLe(image.data() + image.size() - 4, 4));
  if (MetadataChecksum(image.first(image.size() - 4)) != stored)
    return Status::Corruption(std::string(what) + " checksum mismatch");
  return Status::OK();
}

}  // namespace

const HeaderMessage* ObjectHeader::Find(uint16_t type) const {
  for (const HeaderMessage& m : messages_)
    if (m.type == type) return &m;
  return nullptr;
}

Result<ObjectHeader> ObjectHeader::Read(const FileBytes& file, uint64_t address) {
  ObjectHeader header;
  // A dataset's or group's header holds a dozen messages in one chunk or two.
  header.messages_.reserve(16);
  header.chunks_.reserve(2);
  header.chunk_addresses_.reserve(2);
  std::vector<std::pair<uint64_t, uint64_t>> pending;  // continuation chunks: address, length
  std::vector<uint64_t> seen = {address};

  std::vector<uint8_t> start;
  VH5_RETURN_IF_ERROR(file.Read(address, 16, &start));
  if (start.size() >= 5 && std::memcmp(start.data(), "OHDR", 4) == 0) {
    if (start[4] != 2)
      return Status::Unsupported("object header version " + std::to_string(start[4]));
    header.version_ = 2;
    if (start.size() < 6) return Status::Corruption("object header prefix too short");
    uint8_t flags = start[5];
    if (flags & ~kV2FlagsKnown) return Status::Corruption("unknown object header flags");
    header.creation_order_ = flags & kV2CreationOrder;
    size_t size_bytes = size_t{1} << (flags & kV2ChunkSizeBits);
    size_t prefix = 6 + ((flags & kV2Times) ? 16 : 0) + ((flags & kV2PhaseChange) ? 4 : 0);
    std::vector<uint8_t> fields;
    VH5_RETURN_IF_ERROR(file.Read(address, prefix + size_bytes, &fields));
    uint64_t chunk0 = LoadLe(fields.data() + prefix, size_bytes);
    prefix += size_bytes;
    if (chunk0 > kMaxChunkBytes) return Status::Unsupported("object header chunk over 64 MiB");
    std::vector<uint8_t> image;
    VH5_RETURN_IF_ERROR(file.Read(address, prefix + chunk0 + 4, &image));
    VH5_RETURN_IF_ERROR(Checksummed(image, "object header"));
    header.chunks_.push_back(std::move(image));
    header.chunk_addresses_.push_back(address);
    VH5_RETURN_IF_ERROR(header.ParseMessages(file, 0, prefix, prefix + chunk0, &pending));
  } else {
    if (start.empty() || start[0] != 1)
      return Status::Unsupported("object header version " +
                                 std::to_string(start.empty() ? -1 : start[0]));
    if (start.size() < kV1PrefixSize) return Status::Corruption("object header prefix too short");
    header.version_ = 1;
    uint64_t chunk0 = LoadLe(start.data() + 8, 4);
    if (chunk0 > kMaxChunkBytes) return Status::Unsupported("object header chunk over 64 MiB");
    std::vector<uint8_t> image;
    VH5_RETURN_IF_ERROR(file.Read(address + kV1PrefixSize, chunk0, &image));
    header.chunks_.push_back(std::move(image));
    header.chunk_addresses_.push_back(address + kV1PrefixSize);
    VH5_RETURN_IF_ERROR(header.ParseMessages(file, 0, 0, chunk0, &pending));
  }

  for (size_t next = 0; next < pending.size(); ++next) {
    auto [chunk_address, length] = pending[next];
    if (header.chunks_.size() >= kMaxChunks)
      return Status::Corruption("object header has too many continuation chunks");
    if (std::find(seen.begin(), seen.end(), chunk_address) != seen.end())
      return Status::Corruption("object header continuation loops");
    seen.push_back(chunk_address);
    if (length > kMaxChunkBytes) return Status::Unsupported("object header chunk over 64 MiB");
    std::vector<uint8_t> image;
    VH5_RETURN_IF_ERROR(file.Read(chunk_address, length, &image));
    size_t begin = 0, end = image.size();
    if (header.version_ == 2) {
      if (image.size() < 8 || std::memcmp(image.data(), "OCHK", 4) != 0)
        return Status::Corruption("bad object header continuation chunk");
      VH5_RETURN_IF_ERROR(Checksummed(image, "object header continuation chunk"));
      begin = 4;
      end = image.size() - 4;
    }
    header.chunks_.push_back(std::move(image));
    header.chunk_addresses_.push_back(chunk_address);
    VH5_RETURN_IF_ERROR(
        header.ParseMessages(file, header.chunks_.size() - 1, begin, end, &pending));
  }
  return header;
}

Status ObjectHeader::ParseMessages(const FileBytes& file, size_t chunk, size_t begin, size_t end,
                                   std::vector<std::pair<uint64_t, uint64_t>>* pending) {
  const std::vector<uint8_t>& image = chunks_[chunk];
  ByteDecoder in(std::span<const uint8_t>(image).subspan(begin, end - begin));
  size_t header_size = version_ == 1 ? 8 : (creation_order_ ? 6 : 4);
  while (in.remaining() > 0) {
    if (in.remaining() < header_size) {
      // Version 2 may leave a gap too small for a message at a chunk's end.
      if (version_ == 1) return Status::Corruption("object header message overflows its chunk");
      break;
    }
    HeaderMessage m{};
    uint16_t size = 0;
    if (version_ == 1) {
      in.U16(&m.type);
      in.U16(&size);
      in.U8(&m.flags);
      in.Skip(3);
      if (size % 8 != 0) return Status::Corruption("object header message not aligned");
    } else {
      uint8_t type = 0;
      in.U8(&type);
      m.type = type;
      in.U16(&size);
      in.U8(&m.flags);
      if (creation_order_) in.Skip(2);
    }
    if (!in.Bytes(size, &m.data))
      return Status::Corruption("object header message overflows its chunk");
    m.address = chunk_addresses_[chunk] + static_cast<uint64_t>(m.data.data() - image.data());
    if (m.type == kContinuationMessage) {
      ByteDecoder cont(m.data);
      uint64_t where = 0, length = 0;
      if (!cont.Uint(file.addr_size(), &where) || !cont.Uint(file.len_size(), &length))
        return Status::Corruption("short continuation message");
      pending->push_back({where, length});
    }
    messages_.push_back(m);
  }
  return Status::OK();
}

}  // namespace vh5
