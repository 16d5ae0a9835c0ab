#include "util/block_cached_file.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "util/fd.h"
#include "util/posix_file.h"

namespace vh5 {

BlockCachedFile::BlockCachedFile(int fd, uint64_t size)
    : fd_(fd), size_(size), blocks_(kBlocksKept) {}

Result<const BlockCachedFile::Block*> BlockCachedFile::Get(uint64_t index) const {
  Block& block = blocks_[index % kBlocksKept];
  if (block.index == index) return &block;
  uint64_t begin = index * kBlockBytes;
  size_t want = static_cast<size_t>(std::min<uint64_t>(kBlockBytes, size_ - begin));
  block.index = ~uint64_t{0};
  block.bytes.resize(want);
  ssize_t got = PreadAll(fd_, block.bytes.data(), want, begin);
  if (got < 0) return ErrnoStatus("pread");
  block.bytes.resize(static_cast<size_t>(got));  // shorter: the file shrank since
  block.index = index;
  return &block;
}

Result<size_t> BlockCachedFile::Read(uint64_t offset, size_t len, char* out) const {
  if (len >= kBypassBytes) {  // would only push out the blocks kept
    ssize_t got = PreadAll(
        fd_, out, static_cast<size_t>(std::min<uint64_t>(len, size_ - std::min(offset, size_))),
        offset);
    if (got < 0) return ErrnoStatus("pread");
    return static_cast<size_t>(got);
  }
  size_t done = 0;
  while (done < len && offset + done < size_) {
    uint64_t at = offset + done;
    VH5_ASSIGN_OR_RETURN(const Block* block, Get(at / kBlockBytes));
    size_t in_block = static_cast<size_t>(at % kBlockBytes);
    if (in_block >= block->bytes.size()) break;
    size_t n = std::min(len - done, block->bytes.size() - in_block);
    std::memcpy(out + done, block->bytes.data() + in_block, n);
    done += n;
  }
  return done;
}

}  // namespace vh5
