#include "vh5/shape.h"

#include <cerrno>
#include <cstdlib>

namespace vh5 {

uint64_t Product(std::span<const uint64_t> dims) {
  uint64_t n = 1;
  for (uint64_t d : dims) n *= d;
  return n;
}

uint64_t RowElements(std::span<const uint64_t> dims) {
  return dims.empty() ? 1 : Product(dims.subspan(1));
}

std::optional<uint64_t> CheckedProduct(std::span<const uint64_t> dims) {
  // A zero extent anywhere makes the product 0, however large the others.
  for (uint64_t d : dims)
    if (d == 0) return uint64_t{0};
  uint64_t n = 1;
  for (uint64_t d : dims) {
    if (n > UINT64_MAX / d) return std::nullopt;
    n *= d;
  }
  return n;
}

bool NextInBox(std::span<uint64_t> index, std::span<const uint64_t> first,
               std::span<const uint64_t> last) {
  size_t d = index.size();
  while (d-- > 0) {
    if (index[d]++ < last[d]) return true;
    index[d] = first[d];
  }
  return false;
}

BoxRows::BoxRows(std::span<const uint64_t> shape, std::span<const uint64_t> start,
                 std::span<const uint64_t> count)
    : shape_(shape), start_(start), count_(count), index_(count.size(), 0) {
  length_ = count.back();
  rows_ = length_ == 0 ? 0 : Product(count.first(count.size() - 1));
  for (size_t d = 0; d < shape.size(); ++d) offset_ = offset_ * shape[d] + start[d];
}

void BoxRows::Next() {
  if (++row_ == rows_) return;
  // The row's position steps along every dimension but the last.
  size_t d = index_.size() - 1;
  while (d-- > 0) {
    if (++index_[d] < count_[d]) break;
    index_[d] = 0;
  }
  offset_ = 0;
  for (size_t i = 0; i < index_.size(); ++i) offset_ = offset_ * shape_[i] + start_[i] + index_[i];
}

std::string DimsText(std::span<const uint64_t> dims) {
  std::string out;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) out += ",";
    out += std::to_string(dims[i]);
  }
  return out;
}

Result<std::vector<uint64_t>> ParseDims(std::string_view text) {
  std::vector<uint64_t> out;
  Status bad = Status::InvalidArgument("bad dimensions: " + std::string(text));
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string item(text.substr(pos, comma == std::string_view::npos ? comma : comma - pos));
    item.erase(0, item.find_first_not_of(" ()"));
    item.erase(item.find_last_not_of(" ()") + 1);
    if (!item.empty()) {
      char* end = nullptr;
      errno = 0;
      unsigned long long v = std::strtoull(item.c_str(), &end, 10);
      // strtoull saturates past 2^64 - 1 (ERANGE): never a size to keep.
      if (*end != '\0' || item[0] == '-' || errno == ERANGE) return bad;
      out.push_back(v);
    } else if (comma != std::string_view::npos) {
      return bad;
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  if (out.empty()) return bad;
  return out;
}

}  // namespace vh5
