#include "util/checksum.h"

namespace vh5 {
namespace {

constexpr uint32_t Rotate(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

// lookup3's reversible mixing of three 32-bit words.
void Mix(uint32_t& a, uint32_t& b, uint32_t& c) {
  a -= c, a ^= Rotate(c, 4), c += b;
  b -= a, b ^= Rotate(a, 6), a += c;
  c -= b, c ^= Rotate(b, 8), b += a;
  a -= c, a ^= Rotate(c, 16), c += b;
  b -= a, b ^= Rotate(a, 19), a += c;
  c -= b, c ^= Rotate(b, 4), b += a;
}

// lookup3's final mixing, after the last (partial) block.
void Final(uint32_t& a, uint32_t& b, uint32_t& c) {
  c ^= b, c -= Rotate(b, 14);
  a ^= c, a -= Rotate(c, 11);
  b ^= a, b -= Rotate(a, 25);
  c ^= b, c -= Rotate(b, 16);
  a ^= c, a -= Rotate(c, 4);
  b ^= a, b -= Rotate(a, 14);
  c ^= b, c -= Rotate(b, 24);
}

// The little-endian word of up to 4 bytes at `p` (missing bytes count as 0).
uint32_t Word(const uint8_t* p, size_t n) {
  uint32_t w = 0;
  for (size_t i = 0; i < n && i < 4; ++i) w |= static_cast<uint32_t>(p[i]) << (8 * i);
  return w;
}

}  // namespace

uint32_t MetadataChecksum(std::span<const uint8_t> bytes) {
  size_t length = bytes.size();
  const uint8_t* k = bytes.data();
  uint32_t a = 0xdeadbeef + static_cast<uint32_t>(length);
  uint32_t b = a, c = a;
  while (length > 12) {
    a += Word(k, 4);
    b += Word(k + 4, 4);
    c += Word(k + 8, 4);
    Mix(a, b, c);
    length -= 12;
    k += 12;
  }
  if (length == 0) return c;
  // The last 1 to 12 bytes, zero-padded.
  a += Word(k, length);
  if (length > 4) b += Word(k + 4, length - 4);
  if (length > 8) c += Word(k + 8, length - 8);
  Final(a, b, c);
  return c;
}

}  // namespace vh5
