// A descriptor's bytes read in aligned blocks, the blocks read last kept:
// for walks that read many small structures lying near each other (object
// headers, symbol nodes, heaps), one pread(2) per block instead of one or
// two per structure.
//
// The file's bytes must not change while one is in use: a caller reads a
// file it holds steady (its readers' gate, file_state.h).
//
// Thread safety: none (the blocks are its state); one per walk.
#pragma once

#include <cstdint>
#include <vector>

#include "vh5/byte_source.h"

namespace vh5 {

class BlockCachedFile final : public ByteSource {
 public:
  static constexpr size_t kBlockBytes = 64 << 10;
  static constexpr size_t kBlocksKept = 64;  // 4 MiB
  // Reads this long go straight to the file.
  static constexpr size_t kBypassBytes = 4 * kBlockBytes;

  // `fd` stays the caller's; `size` is the file's size when the walk begins.
  BlockCachedFile(int fd, uint64_t size);

  uint64_t size() const override { return size_; }
  Result<size_t> Read(uint64_t offset, size_t len, char* out) const override;

 private:
  struct Block {
    uint64_t index = ~uint64_t{0};
    std::vector<char> bytes;  // kBlockBytes, fewer at the end of the file
  };
  // Block `index`, read unless kept.
  Result<const Block*> Get(uint64_t index) const;

  int fd_;
  uint64_t size_;
  mutable std::vector<Block> blocks_;  // direct-mapped by index % kBlocksKept
};

}  // namespace vh5
