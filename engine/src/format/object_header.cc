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
  VH5_RETURN_IF_ERROR(header.ReadInto(file, address));
  return header;
}

Status ObjectHeader::ReadFrom(const FileBytes& file, uint64_t address) {
  Status read = ReadInto(file, address);
  if (!read.ok()) {
    chunks_used_ = 0;
    chunk_addresses_.clear();
    messages_.clear();
  }
  return read;
}

Status ObjectHeader::ReadChunk(const FileBytes& file, uint64_t address, uint64_t length) {
  if (chunks_used_ == chunks_.size()) chunks_.emplace_back();
  VH5_RETURN_IF_ERROR(file.Read(address, length, &chunks_[chunks_used_]));
  ++chunks_used_;
  chunk_addresses_.push_back(address);
  return Status::OK();
}

Status ObjectHeader::ReadInto(const FileBytes& file, uint64_t address) {
  version_ = 0;
  creation_order_ = false;
  chunks_used_ = 0;
  chunk_addresses_.clear();
  messages_.clear();
  pending_.clear();
  // A dataset's or group's header holds a dozen messages in one chunk or two.
  messages_.reserve(16);

  uint8_t start[16];
  constexpr size_t start_size = sizeof start;
  VH5_RETURN_IF_ERROR(file.Read(address, std::span<uint8_t>(start, start_size)));
  if (std::memcmp(start, "OHDR", 4) == 0) {
    if (start[4] != 2)
      return Status::Unsupported("object header version " + std::to_string(start[4]));
    version_ = 2;
    uint8_t flags = start[5];
    if (flags & ~kV2FlagsKnown) return Status::Corruption("unknown object header flags");
    creation_order_ = flags & kV2CreationOrder;
    size_t size_bytes = size_t{1} << (flags & kV2ChunkSizeBits);
    size_t prefix = 6 + ((flags & kV2Times) ? 16 : 0) + ((flags & kV2PhaseChange) ? 4 : 0);
    uint8_t size_field[8];
    VH5_RETURN_IF_ERROR(file.Read(address + prefix, std::span<uint8_t>(size_field, size_bytes)));
    uint64_t chunk0 = LoadLe(size_field, size_bytes);
    prefix += size_bytes;
    if (chunk0 > kMaxChunkBytes) return Status::Unsupported("object header chunk over 64 MiB");
    VH5_RETURN_IF_ERROR(ReadChunk(file, address, prefix + chunk0 + 4));
    VH5_RETURN_IF_ERROR(Checksummed(chunks_[0], "object header"));
    VH5_RETURN_IF_ERROR(ParseMessages(file, 0, prefix, prefix + chunk0, &pending_));
  } else {
    if (start[0] != 1)
      return Status::Unsupported("object header version " + std::to_string(start[0]));
    version_ = 1;
    uint64_t chunk0 = LoadLe(start + 8, 4);
    if (chunk0 > kMaxChunkBytes) return Status::Unsupported("object header chunk over 64 MiB");
    VH5_RETURN_IF_ERROR(ReadChunk(file, address + kV1PrefixSize, chunk0));
    VH5_RETURN_IF_ERROR(ParseMessages(file, 0, 0, chunk0, &pending_));
  }

  for (size_t next = 0; next < pending_.size(); ++next) {
    auto [chunk_address, length] = pending_[next];
    if (chunks_used_ >= kMaxChunks)
      return Status::Corruption("object header has too many continuation chunks");
    // A chunk read before (or the header's own start) again: a loop.
    if (chunk_address == address || std::find(chunk_addresses_.begin(), chunk_addresses_.end(),
                                              chunk_address) != chunk_addresses_.end())
      return Status::Corruption("object header continuation loops");
    if (length > kMaxChunkBytes) return Status::Unsupported("object header chunk over 64 MiB");
    VH5_RETURN_IF_ERROR(ReadChunk(file, chunk_address, length));
    const std::vector<uint8_t>& image = chunks_[chunks_used_ - 1];
    size_t begin = 0, end = image.size();
    if (version_ == 2) {
      if (image.size() < 8 || std::memcmp(image.data(), "OCHK", 4) != 0)
        return Status::Corruption("bad object header continuation chunk");
      VH5_RETURN_IF_ERROR(Checksummed(image, "object header continuation chunk"));
      begin = 4;
      end = image.size() - 4;
    }
    VH5_RETURN_IF_ERROR(ParseMessages(file, chunks_used_ - 1, begin, end, &pending_));
  }
  return Status::OK();
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
