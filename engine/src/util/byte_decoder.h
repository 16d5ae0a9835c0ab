// Bounded little-endian decoding of bytes read from an HDF5 file, and the
// matching encoding (StoreLe, AppendLe) for what the engine writes.
//
// Every read checks the bytes left first; a read past the end returns false
// and leaves the decoder failed, so a chain of reads needs one check at the
// end. Nothing here trusts a length read from the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace vh5 {

// The unsigned little-endian integer of `n` (at most 8) bytes at `p`.
inline uint64_t LoadLe(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = n; i-- > 0;) v = (v << 8) | p[i];
  return v;
}

// Stores `v` as `n` (at most 8) little-endian bytes at `p`.
inline void StoreLe(void* p, size_t n, uint64_t v) {
  auto* out = static_cast<uint8_t*>(p);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}

// Appends `v` as `n` little-endian bytes to a string or byte vector.
template <typename Bytes>
void AppendLe(Bytes* out, size_t n, uint64_t v) {
  for (size_t i = 0; i < n; ++i)
    out->push_back(static_cast<typename Bytes::value_type>(v >> (8 * i)));
}

class ByteDecoder {
 public:
  explicit ByteDecoder(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  size_t position() const { return pos_; }
  size_t remaining() const { return bytes_.size() - pos_; }
  bool failed() const { return failed_; }
  // The bytes from `from` up to the current position.
  std::span<const uint8_t> Since(size_t from) const { return bytes_.subspan(from, pos_ - from); }

  // An unsigned integer of `n` bytes (1 to 8).
  bool Uint(size_t n, uint64_t* out) {
    if (!Need(n)) return false;
    *out = LoadLe(bytes_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool U8(uint8_t* out) {
    uint64_t v;
    if (!Uint(1, &v)) return false;
    *out = static_cast<uint8_t>(v);
    return true;
  }
  bool U16(uint16_t* out) {
    uint64_t v;
    if (!Uint(2, &v)) return false;
    *out = static_cast<uint16_t>(v);
    return true;
  }
  bool U32(uint32_t* out) {
    uint64_t v;
    if (!Uint(4, &v)) return false;
    *out = static_cast<uint32_t>(v);
    return true;
  }
  bool U64(uint64_t* out) { return Uint(8, out); }

  bool Skip(uint64_t n) {
    if (!Need(n)) return false;
    pos_ += static_cast<size_t>(n);
    return true;
  }
  bool Bytes(uint64_t n, std::span<const uint8_t>* out) {
    if (!Need(n)) return false;
    *out = bytes_.subspan(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return true;
  }
  // A NUL-terminated string; the terminator must lie inside the bytes.
  bool CString(std::string_view* out) {
    if (failed_) return false;
    const void* nul = std::memchr(bytes_.data() + pos_, 0, remaining());
    if (nul == nullptr) return Fail();
    size_t len = static_cast<size_t>(static_cast<const uint8_t*>(nul) - (bytes_.data() + pos_));
    *out = std::string_view(reinterpret_cast<const char*>(bytes_.data() + pos_), len);
    pos_ += len + 1;
    return true;
  }

 private:
  bool Need(uint64_t n) {
    if (failed_ || n > remaining()) return Fail();
    return true;
  }
  bool Fail() {
    failed_ = true;
    return false;
  }

  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace vh5
