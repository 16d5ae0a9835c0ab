// The LZF filter (HDF5 filter id 32000) as h5py writes it, over liblzf.
//
// Debian's hdf5-plugin-lzf fails to load (undefined lzf_decompress), so the
// engine registers its own. The chunk format is plain LZF with no header; h5py
// stores the uncompressed chunk size in cd_values[2], which sizes the first
// output buffer.
#include <lzf.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <mutex>

#include "hdf5/h5_handle.h"

namespace vh5::h5 {
namespace {

constexpr H5Z_filter_t kLzfFilterId = 32000;
constexpr unsigned kLzfFilterVersion = 4;
constexpr unsigned kLzfLibVersion = 0x0105;  // what h5py records in cd_values[1]

// Records the chunk size in cd_values[2] when a dataset is created, as h5py does.
herr_t SetLocal(hid_t dcpl, hid_t type, hid_t /*space*/) {
  unsigned flags = 0;
  size_t nelements = 8;
  unsigned values[8] = {};
  if (H5Pget_filter_by_id2(dcpl, kLzfFilterId, &flags, &nelements, values, 0, nullptr, nullptr) < 0)
    return -1;
  if (nelements < 3) nelements = 3;
  values[0] = kLzfFilterVersion;
  values[1] = kLzfLibVersion;
  hsize_t chunkdims[32];
  int ndims = H5Pget_chunk(dcpl, 32, chunkdims);
  if (ndims < 0) return -1;
  size_t bytes = H5Tget_size(type);
  if (bytes == 0) return -1;
  for (int i = 0; i < ndims; ++i) bytes *= chunkdims[i];
  values[2] = static_cast<unsigned>(bytes);
  return H5Pmodify_filter(dcpl, kLzfFilterId, flags, nelements, values);
}

// The most `nbytes` of LZF can decompress to: a back reference of the
// longest length turns 3 bytes into 264, nothing does better. A hostile
// cd_values[2] (or a doubling) never sizes a buffer past it.
size_t MaxDecompressed(size_t nbytes) { return nbytes / 3 * 264 + 264; }

size_t Filter(unsigned flags, size_t cd_nelmts, const unsigned cd_values[], size_t nbytes,
              size_t* buf_size, void** buf) {
  if (flags & H5Z_FLAG_REVERSE) {
    size_t limit = MaxDecompressed(nbytes);
    size_t out_size = (cd_nelmts >= 3 && cd_values[2] != 0) ? cd_values[2] : *buf_size;
    out_size = std::min(std::max<size_t>(out_size, 1), limit);
    // A chunk whose recorded size is too small is retried with a doubled buffer.
    for (int attempt = 0; attempt < 16; ++attempt) {
      void* out = std::malloc(out_size);
      if (out == nullptr) return 0;
      unsigned n =
          lzf_decompress(*buf, static_cast<unsigned>(nbytes), out, static_cast<unsigned>(out_size));
      if (n != 0) {
        std::free(*buf);
        *buf = out;
        *buf_size = out_size;
        return n;
      }
      std::free(out);
      if (errno != E2BIG || out_size == limit) return 0;
      out_size = std::min(out_size * 2, limit);
    }
    return 0;
  }
  // Compression that does not shrink the chunk fails, and HDF5 stores it raw
  // (the filter is optional, as h5py registers it).
  if (nbytes < 2) return 0;
  size_t out_size = nbytes - 1;
  void* out = std::malloc(out_size);
  if (out == nullptr) return 0;
  unsigned n =
      lzf_compress(*buf, static_cast<unsigned>(nbytes), out, static_cast<unsigned>(out_size));
  if (n == 0) {
    std::free(out);
    return 0;
  }
  std::free(*buf);
  *buf = out;
  *buf_size = out_size;
  return n;
}

}  // namespace

void RegisterLzfFilter() {
  static std::once_flag once;
  std::call_once(once, [] {
    static const H5Z_class2_t kClass = {
        H5Z_CLASS_T_VERS, kLzfFilterId, 1, 1, "lzf", nullptr, SetLocal, Filter,
    };
    H5Zregister(&kClass);
  });
}

}  // namespace vh5::h5
