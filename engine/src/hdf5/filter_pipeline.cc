#include "hdf5/filter_pipeline.h"

#include <lzf.h>
#include <zlib.h>

#include <climits>
#include <cstring>

namespace vh5 {
namespace {

constexpr H5Z_filter_t kLzfFilter = 32000;

// The most a compressed byte can stand for: deflate's 258-byte matches in
// two bits (1032:1), LZF's 264-byte back-references in three (88:1). A
// chunk that claims more is refused before anything is allocated for it.
constexpr uint64_t kMaxInflateRatio = 1032;
constexpr uint64_t kMaxLzfRatio = 88;

Status CheckRatio(const std::string& in, size_t size, uint64_t ratio, const char* what) {
  if (size > in.size() * ratio + 1024)
    return Status::Corruption(std::string("a ") + what + " chunk of " + std::to_string(in.size()) +
                              " bytes cannot hold " + std::to_string(size));
  return Status::OK();
}

Status Inflate(const std::string& in, size_t size, std::string* out) {
  VH5_RETURN_IF_ERROR(CheckRatio(in, size, kMaxInflateRatio, "gzip"));
  out->resize(size);
  z_stream z{};
  if (inflateInit(&z) != Z_OK) return Status::IOError("zlib: cannot start inflating");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out->data());
  z.avail_out = static_cast<uInt>(size);
  int rc = inflate(&z, Z_FINISH);
  uLong produced = z.total_out;
  inflateEnd(&z);
  if (rc != Z_STREAM_END || produced != size)
    return Status::Corruption("a gzip chunk does not inflate to its " + std::to_string(size) +
                              " bytes");
  return Status::OK();
}

Status Unlzf(const std::string& in, size_t size, std::string* out) {
  VH5_RETURN_IF_ERROR(CheckRatio(in, size, kMaxLzfRatio, "LZF"));
  out->resize(size);
  unsigned n = size == 0 ? 0
                         : lzf_decompress(in.data(), static_cast<unsigned>(in.size()), out->data(),
                                          static_cast<unsigned>(size));
  if (n != size)
    return Status::Corruption("an LZF chunk does not decompress to its " + std::to_string(size) +
                              " bytes");
  return Status::OK();
}

// Byte b of element e was stored at b * elements + e.
Status Unshuffle(const std::string& in, unsigned element_size, std::string* out) {
  out->resize(in.size());
  if (element_size <= 1 || in.size() < element_size) {
    *out = in;
    return Status::OK();
  }
  size_t elements = in.size() / element_size;
  const char* src = in.data();
  char* dst = out->data();
  for (unsigned b = 0; b < element_size; ++b)
    for (size_t e = 0; e < elements; ++e) dst[e * element_size + b] = src[b * elements + e];
  // A tail shorter than one element was stored as it is.
  size_t whole = elements * element_size;
  std::memcpy(dst + whole, src + whole, in.size() - whole);
  return Status::OK();
}

}  // namespace

FilterPipeline FilterPipeline::FromDcpl(hid_t dcpl) {
  FilterPipeline p;
  int n = H5Pget_nfilters(dcpl);
  for (int i = 0; i < n; ++i) {
    unsigned flags = 0, cd[8] = {};
    char name[64] = {};
    size_t ncd = 8;
    H5Z_filter_t id = H5Pget_filter2(dcpl, static_cast<unsigned>(i), &flags, &ncd, cd, sizeof name,
                                     name, nullptr);
    if (id == H5Z_FILTER_DEFLATE || id == kLzfFilter) {
      p.filters_.push_back(Filter{id, 0});
    } else if (id == H5Z_FILTER_SHUFFLE && ncd >= 1) {
      p.filters_.push_back(Filter{id, cd[0]});
    } else {
      p.supported_ = false;
    }
  }
  return p;
}

Status FilterPipeline::Decode(const std::string& stored, uint32_t filter_mask, size_t size,
                              std::string* out) const {
  if (!supported_) return Status::Unsupported("a filter vh5fs does not decode itself");
  if (size > INT_MAX) return Status::Unsupported("a chunk over 2 GiB");
  std::string current = stored, next;
  // Undo in reverse order of application; a set mask bit: filter skipped.
  for (size_t i = filters_.size(); i-- > 0;) {
    if (i < 32 && (filter_mask & (uint32_t{1} << i))) continue;
    const Filter& f = filters_[i];
    // Only the last undone filter must yield exactly `size`; intermediate
    // stages of these filters keep the chunk's size too.
    if (f.id == H5Z_FILTER_DEFLATE) {
      VH5_RETURN_IF_ERROR(Inflate(current, size, &next));
    } else if (f.id == kLzfFilter) {
      VH5_RETURN_IF_ERROR(Unlzf(current, size, &next));
    } else {
      VH5_RETURN_IF_ERROR(Unshuffle(current, f.element_size, &next));
    }
    current.swap(next);
  }
  if (current.size() != size)
    return Status::Corruption("a stored chunk of " + std::to_string(current.size()) +
                              " bytes where " + std::to_string(size) + " were expected");
  out->swap(current);
  return Status::OK();
}

}  // namespace vh5
