#include "offline/chunk_copy.h"

#include <algorithm>
#include <cstdint>

#include "hdf5/h5_handle.h"

namespace vh5 {
namespace {

// The whole chunk at `from`, through HDF5's read path (fill where unallocated).
Status CopyThroughFilters(hid_t src, const std::vector<hsize_t>& from, hid_t dst,
                          const std::vector<hsize_t>& to) {
  h5::Handle dcpl(H5Dget_create_plist(src));
  int rank = static_cast<int>(from.size());
  std::vector<hsize_t> chunk(from.size());
  if (H5Pget_chunk(dcpl.get(), rank, chunk.data()) != rank) return h5::Error("not chunked");
  h5::Handle type(H5Dget_type(src));
  h5::Handle mem(H5Screate_simple(rank, chunk.data(), nullptr));
  h5::Handle src_space(H5Dget_space(src)), dst_space(H5Dget_space(dst));
  // Clipped to the datasets' extents, as H5Dread requires.
  std::vector<hsize_t> src_dims(from.size()), dst_dims(from.size()), count(chunk);
  H5Sget_simple_extent_dims(src_space.get(), src_dims.data(), nullptr);
  H5Sget_simple_extent_dims(dst_space.get(), dst_dims.data(), nullptr);
  for (size_t d = 0; d < from.size(); ++d) {
    if (from[d] >= src_dims[d] || to[d] >= dst_dims[d]) return Status::OK();
    count[d] = std::min({chunk[d], src_dims[d] - from[d], dst_dims[d] - to[d]});
  }
  mem = h5::Handle(H5Screate_simple(rank, count.data(), nullptr));
  H5Sselect_hyperslab(src_space.get(), H5S_SELECT_SET, from.data(), nullptr, count.data(), nullptr);
  H5Sselect_hyperslab(dst_space.get(), H5S_SELECT_SET, to.data(), nullptr, count.data(), nullptr);
  uint64_t elements = 1;
  for (hsize_t c : count) elements *= c;
  std::vector<char> buf(elements * H5Tget_size(type.get()) + 1);
  if (H5Dread(src, type.get(), mem.get(), src_space.get(), H5P_DEFAULT, buf.data()) < 0)
    return h5::Error("cannot read a chunk");
  herr_t written = H5Dwrite(dst, type.get(), mem.get(), dst_space.get(), H5P_DEFAULT, buf.data());
  if (H5Tis_variable_str(type.get()) > 0 || H5Tdetect_class(type.get(), H5T_VLEN) > 0)
    H5Dvlen_reclaim(type.get(), mem.get(), H5P_DEFAULT, buf.data());
  if (written < 0) return h5::Error("cannot write a chunk");
  return Status::OK();
}

// Whether the elements of `dataset` are global heap ids in the file.
bool HoldsHeapIds(hid_t dataset) {
  h5::Handle type(H5Dget_type(dataset));
  return H5Tis_variable_str(type.get()) > 0 || H5Tdetect_class(type.get(), H5T_VLEN) > 0;
}

bool SameFile(hid_t a, hid_t b) {
  H5O_info_t ia, ib;
  return H5Oget_info2(a, &ia, H5O_INFO_BASIC) >= 0 && H5Oget_info2(b, &ib, H5O_INFO_BASIC) >= 0 &&
         ia.fileno == ib.fileno;
}

}  // namespace

Status CopyChunk(hid_t src, const std::vector<hsize_t>& from, hid_t dst,
                 const std::vector<hsize_t>& to) {
  hsize_t stored = 0;
  if (H5Dget_chunk_storage_size(src, from.data(), &stored) < 0) {
    h5::TakeErrorStack();
    stored = 0;
  }
  if (stored == 0 || (HoldsHeapIds(src) && !SameFile(src, dst)))
    return CopyThroughFilters(src, from, dst, to);
  std::vector<char> buf(stored);
  uint32_t mask = 0;
  if (H5Dread_chunk(src, H5P_DEFAULT, from.data(), &mask, buf.data()) < 0)
    return h5::Error("cannot read a stored chunk");
  if (H5Dwrite_chunk(dst, H5P_DEFAULT, mask, to.data(), buf.size(), buf.data()) < 0)
    return h5::Error("cannot write a stored chunk");
  return Status::OK();
}

}  // namespace vh5
