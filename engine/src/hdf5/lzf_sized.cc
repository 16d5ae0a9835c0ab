#include "hdf5/lzf_sized.h"

#include <lzf.h>

#include <algorithm>

namespace vh5 {
namespace {

constexpr size_t kLongestLiteral = 32;     // control byte 0..31: 1..32 bytes follow
constexpr size_t kLongestReference = 264;  // 7 + 255 + 2 bytes copied
constexpr size_t kShortReference = 8;      // up to 8 bytes: 2-byte reference

// Literal runs of `n` bytes of `data`, each at most 32 long.
void AppendLiterals(std::string* out, const char* data, size_t n) {
  while (n > 0) {
    size_t run = std::min(n, kLongestLiteral);
    out->push_back(static_cast<char>(run - 1));
    out->append(data, run);
    data += run;
    n -= run;
  }
}

// Copies of the byte before (offset 1): `zeros` more zeros after a zero.
void AppendBackReferences(std::string* out, size_t zeros) {
  while (zeros > 0) {
    size_t len = std::min(zeros, kLongestReference);
    if (len < 3) {
      out->push_back(static_cast<char>(len - 1));
      out->append(len, '\0');
    } else if (len <= kShortReference) {
      out->push_back(static_cast<char>((len - 2) << 5));
      out->push_back('\0');
    } else {
      out->push_back(static_cast<char>(7 << 5));
      out->push_back(static_cast<char>(len - 9));
      out->push_back('\0');
    }
    zeros -= len;
  }
}

}  // namespace

ZeroTailedLzf::ZeroTailedLzf(const char* data, size_t nonzero_end, size_t total)
    : tail_(total - nonzero_end) {
  if (nonzero_end == 0) return;
  head_.resize(nonzero_end + nonzero_end / 16 + 64);
  unsigned n = lzf_compress(data, static_cast<unsigned>(nonzero_end), head_.data(),
                            static_cast<unsigned>(head_.size()));
  if (n == 0) {
    head_.clear();
    AppendLiterals(&head_, data, nonzero_end);
  } else {
    head_.resize(n);
  }
}

size_t ZeroTailedLzf::BackReferenceCost(size_t zeros) {
  size_t cost = zeros / kLongestReference * 3;
  size_t rest = zeros % kLongestReference;
  if (rest == 0) return cost;
  if (rest < 3) return cost + rest + 1;
  return cost + (rest <= kShortReference ? 2 : 3);
}

size_t ZeroTailedLzf::TailCost(size_t zeros, size_t literal, size_t runs) {
  if (zeros == 0) return 0;
  return literal + runs + BackReferenceCost(zeros - literal);
}

std::string ZeroTailedLzf::Encode(size_t size) const {
  std::string out = head_;
  if (tail_ == 0) return out;
  size = std::clamp(size, min_size(), max_size());
  size_t budget = size - head_.size();
  // The fewest literal zeros whose runs can be split to spend `budget`
  // exactly: a split adds a byte; every zero may be a run of its own.
  for (size_t literal = 1; literal <= tail_; ++literal) {
    size_t references = BackReferenceCost(tail_ - literal);
    size_t fewest_runs = (literal + kLongestLiteral - 1) / kLongestLiteral;
    if (literal + fewest_runs + references > budget) continue;
    if (2 * literal + references < budget) continue;
    size_t runs = budget - literal - references;
    size_t base = literal / runs, longer = literal % runs;
    for (size_t r = 0; r < runs; ++r) {
      size_t len = base + (r < longer ? 1 : 0);
      out.push_back(static_cast<char>(len - 1));
      out.append(len, '\0');
    }
    AppendBackReferences(&out, tail_ - literal);
    return out;
  }
  // Unreachable for sizes in range; the shortest stream otherwise.
  out.push_back('\0');
  out.push_back('\0');
  AppendBackReferences(&out, tail_ - 1);
  return out;
}

}  // namespace vh5
