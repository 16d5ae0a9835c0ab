// An HDF5 object header read with pread(2): its messages, in file order.
//
// Reads version 1 headers (what the earliest file format and h5py by default
// write) and version 2 headers ("OHDR", written for libver "latest"), with
// their checksums, optional time and attribute-phase fields, creation-order
// indices, and continuation chunks ("OCHK" in version 2). Everything is
// bounded: each chunk must lie inside the file, each message inside its
// chunk, a chunk is never read twice, and at most kMaxChunks are followed.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "format/file_bytes.h"
#include "vh5/status.h"

namespace vh5 {

// Message types the engine reads or checks.
inline constexpr uint16_t kDataspaceMessage = 0x0001;
inline constexpr uint16_t kLinkInfoMessage = 0x0002;
inline constexpr uint16_t kDatatypeMessage = 0x0003;
inline constexpr uint16_t kOldFillValueMessage = 0x0004;
inline constexpr uint16_t kFillValueMessage = 0x0005;
inline constexpr uint16_t kLinkMessage = 0x0006;
inline constexpr uint16_t kExternalFilesMessage = 0x0007;
inline constexpr uint16_t kLayoutMessage = 0x0008;
inline constexpr uint16_t kGroupInfoMessage = 0x000A;
inline constexpr uint16_t kFilterPipelineMessage = 0x000B;
inline constexpr uint16_t kAttributeMessage = 0x000C;
inline constexpr uint16_t kContinuationMessage = 0x0010;
inline constexpr uint16_t kSymbolTableMessage = 0x0011;
inline constexpr uint16_t kAttributeInfoMessage = 0x0015;
inline constexpr uint16_t kRefCountMessage = 0x0016;

// Bit 1 of a message's flags: the message lives elsewhere (shared message
// table or a committed datatype) and the bytes here only point at it.
inline constexpr uint8_t kMessageShared = 0x02;

struct HeaderMessage {
  uint16_t type;
  uint8_t flags;
  std::span<const uint8_t> data;  // points into the ObjectHeader that holds it
  uint64_t address = 0;           // file address of data[0]
};

class ObjectHeader {
 public:
  static constexpr size_t kMaxChunks = 1024;
  static constexpr uint64_t kMaxChunkBytes = uint64_t{64} << 20;

  // The header at file address `address`.
  static Result<ObjectHeader> Read(const FileBytes& file, uint64_t address);

  // An empty header, for ReadFrom.
  ObjectHeader() = default;
  // Replaces this header by the one at `address`, reusing its buffers: a
  // walk over many headers allocates for the first few only. On error the
  // header is empty.
  Status ReadFrom(const FileBytes& file, uint64_t address);

  ObjectHeader(ObjectHeader&&) = default;
  ObjectHeader& operator=(ObjectHeader&&) = default;
  ObjectHeader(const ObjectHeader&) = delete;  // messages point into chunks_
  ObjectHeader& operator=(const ObjectHeader&) = delete;

  int version() const { return version_; }
  const std::vector<HeaderMessage>& messages() const { return messages_; }
  // The first message of `type`, or nullptr.
  const HeaderMessage* Find(uint16_t type) const;

 private:
  Status ReadInto(const FileBytes& file, uint64_t address);
  // Chunk `chunks_used_` of `length` bytes read at `address`, its buffer reused.
  Status ReadChunk(const FileBytes& file, uint64_t address, uint64_t length);
  // Splits one chunk's message area into messages, queueing continuations.
  Status ParseMessages(const FileBytes& file, size_t chunk, size_t begin, size_t end,
                       std::vector<std::pair<uint64_t, uint64_t>>* pending);

  int version_ = 0;
  bool creation_order_ = false;  // version 2: each message carries a 2-byte index
  // The first chunks_used_ hold the header; the rest are buffers kept for
  // ReadFrom. Moving the outer vector keeps the buffers messages point into.
  std::vector<std::vector<uint8_t>> chunks_;
  size_t chunks_used_ = 0;
  std::vector<uint64_t> chunk_addresses_;  // file address of each chunk's first byte
  std::vector<HeaderMessage> messages_;
  std::vector<std::pair<uint64_t, uint64_t>> pending_;  // continuation chunks: address, length
};

}  // namespace vh5
