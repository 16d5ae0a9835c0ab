// Append-only files of checksummed records: what durable staging keeps its
// state in (doc/staging.md).
//
// A record is, little-endian: u32 CRC-32 (zlib's) of the type byte and the
// payload, u32 payload length, u8 type, the payload. A reader stops at the
// first record that does not check out; everything before it is valid. A
// record cut short by a crash (the tail of a write(2) that never finished,
// or bytes never fsynced before a power loss) is such a stop, a "torn tail".
//
// Thread safety: none; the owner serializes all calls.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/fd.h"
#include "vh5/status.h"

namespace vh5 {

class RecordWriter {
 public:
  RecordWriter() = default;
  // Appends to `path`, which ends after `size` valid bytes (cut there).
  static Result<RecordWriter> Append(const std::string& path, uint64_t size);
  // A new file `path` (replacing any), written from the start.
  static Result<RecordWriter> Create(const std::string& path);

  bool is_open() const { return fd_.valid(); }
  void Close() { fd_ = Fd(); }
  // Bytes in the file, and those buffered for it.
  uint64_t size() const { return size_ + buffer_.size(); }

  // Buffers a record; nothing reaches the file before Write(). A writer
  // with no file (yet) buffers too.
  void Add(uint8_t type, std::string_view payload);
  // Takes the records `other` buffered, after any buffered here.
  void TakeBuffered(RecordWriter* other) {
    buffer_ += other->buffer_;
    other->buffer_.clear();
  }
  bool has_buffered() const { return !buffer_.empty(); }
  // The buffered records in one write(2). On failure the file is cut back to
  // where it was, so that a later record never follows a torn one.
  Status Write();
  // fdatasync(2) of what Write() wrote.
  Status Sync();

 private:
  RecordWriter(std::string path, Fd fd, uint64_t size)
      : path_(std::move(path)), fd_(std::move(fd)), size_(size) {}
  // Reserves space ahead of the end, so that a full disk still takes the
  // few bytes a record needs (a removal that frees space must not fail).
  void Preallocate();

  std::string path_;
  Fd fd_;
  uint64_t size_ = 0;
  uint64_t reserved_to_ = 0;
  std::string buffer_;
};

class RecordReader {
 public:
  static Result<RecordReader> Open(const std::string& path);

  // The next valid record: false at the end of the valid records.
  Result<bool> Next(uint8_t* type, std::string* payload);
  // Where the valid records end, and whether bytes follow them there.
  uint64_t valid_end() const { return valid_end_; }
  bool torn() const { return valid_end_ < file_size_; }
  uint64_t file_size() const { return file_size_; }

 private:
  RecordReader(std::string path, Fd fd, uint64_t file_size)
      : path_(std::move(path)), fd_(std::move(fd)), file_size_(file_size) {}

  std::string path_;
  Fd fd_;
  uint64_t file_size_ = 0;
  uint64_t valid_end_ = 0;
  bool done_ = false;
};

}  // namespace vh5
