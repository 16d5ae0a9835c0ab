#include "staging/record_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "util/byte_decoder.h"
#include "util/posix_file.h"

namespace vh5 {
namespace {

constexpr size_t kHeaderBytes = 4 + 4 + 1;
// Space kept reserved past the end of the log, and when to extend it.
constexpr uint64_t kReserveBytes = 1 << 20;
constexpr uint64_t kReserveLow = 256 << 10;

uint32_t Crc(uint8_t type, std::string_view payload) {
  uLong crc = crc32(0, &type, 1);
  // zlib takes a uInt length: feed large payloads in pieces.
  for (size_t at = 0; at < payload.size();) {
    size_t n = std::min<size_t>(payload.size() - at, 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(payload.data() + at), static_cast<uInt>(n));
    at += n;
  }
  return static_cast<uint32_t>(crc);
}

}  // namespace

Result<RecordWriter> RecordWriter::Append(const std::string& path, uint64_t size) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(path);
  if (static_cast<uint64_t>(st.st_size) != size && ::ftruncate(fd.get(), static_cast<off_t>(size)))
    return ErrnoStatus(path + ": cutting a torn tail");
  RecordWriter w(path, std::move(fd), size);
  w.Preallocate();
  return w;
}

Result<RecordWriter> RecordWriter::Create(const std::string& path) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoStatus(path);
  RecordWriter w(path, std::move(fd), 0);
  w.Preallocate();
  return w;
}

void RecordWriter::Preallocate() {
  if (size() + kReserveLow <= reserved_to_) return;
  // Best effort: a filesystem without fallocate appends as it always did.
  if (::fallocate(fd_.get(), FALLOC_FL_KEEP_SIZE, static_cast<off_t>(size()),
                  static_cast<off_t>(kReserveBytes)) == 0)
    reserved_to_ = size() + kReserveBytes;
}

void RecordWriter::Add(uint8_t type, std::string_view payload) {
  char header[kHeaderBytes];
  StoreLe(header, 4, Crc(type, payload));
  StoreLe(header + 4, 4, static_cast<uint32_t>(payload.size()));
  header[8] = static_cast<char>(type);
  buffer_.append(header, kHeaderBytes);
  buffer_.append(payload);
}

Status RecordWriter::Write() {
  if (buffer_.empty()) return Status::OK();
  size_t done = 0;
  while (done < buffer_.size()) {
    ssize_t n = ::pwrite(fd_.get(), buffer_.data() + done, buffer_.size() - done,
                         static_cast<off_t>(size_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = ErrnoStatus(path_);
      buffer_.clear();
      if (done > 0 && ::ftruncate(fd_.get(), static_cast<off_t>(size_)) != 0) Close();
      return s;
    }
    done += static_cast<size_t>(n);
  }
  size_ += buffer_.size();
  buffer_.clear();
  Preallocate();
  return Status::OK();
}

Status RecordWriter::Sync() {
  if (::fdatasync(fd_.get()) != 0) return ErrnoStatus(path_ + ": fdatasync");
  return Status::OK();
}

Result<RecordReader> RecordReader::Open(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(path);
  return RecordReader(path, std::move(fd), static_cast<uint64_t>(st.st_size));
}

Result<bool> RecordReader::Next(uint8_t* type, std::string* payload) {
  if (done_) return false;
  done_ = true;  // until this record checks out
  uint64_t at = valid_end_;
  if (file_size_ - at < kHeaderBytes) return false;
  char header[kHeaderBytes];
  if (PreadAll(fd_.get(), header, kHeaderBytes, at) != static_cast<ssize_t>(kHeaderBytes))
    return ErrnoStatus(path_);
  uint64_t len = LoadLe(reinterpret_cast<const uint8_t*>(header + 4), 4);
  if (len > file_size_ - at - kHeaderBytes) return false;
  payload->resize(static_cast<size_t>(len));
  if (PreadAll(fd_.get(), payload->data(), payload->size(), at + kHeaderBytes) !=
      static_cast<ssize_t>(len))
    return ErrnoStatus(path_);
  *type = static_cast<uint8_t>(header[8]);
  if (Crc(*type, *payload) != LoadLe(reinterpret_cast<const uint8_t*>(header), 4)) return false;
  valid_end_ = at + kHeaderBytes + len;
  done_ = false;
  return true;
}

}  // namespace vh5
