#include "commit/cell_reader.h"

#include "vh5/shape.h"

#include <algorithm>

namespace vh5 {

CellReader::CellReader(const ByteSource& source, std::vector<uint64_t> shape,
                       std::vector<uint64_t> chunks, uint64_t itemsize)
    : source_(source), shape_(std::move(shape)), chunks_(std::move(chunks)), itemsize_(itemsize) {
  row_bytes_ = itemsize_;
  for (size_t d = 1; d < shape_.size(); ++d) row_bytes_ *= shape_[d];
}

Status CellReader::ReadExact(uint64_t offset, uint64_t len, char* out) const {
  VH5_ASSIGN_OR_RETURN(size_t n, source_.Read(offset, static_cast<size_t>(len), out));
  if (n != len)
    return Status::IOError("content ended at byte " + std::to_string(offset + n) + " of " +
                           std::to_string(shape_[0] * row_bytes_));
  return Status::OK();
}

Status CellReader::LoadSlab(uint64_t first_row) {
  if (slab_first_row_ == first_row) return Status::OK();
  uint64_t rows = std::min(chunks_[0], shape_[0] - first_row);
  slab_.resize(rows * row_bytes_);
  slab_first_row_ = UINT64_MAX;
  VH5_RETURN_IF_ERROR(ReadExact(first_row * row_bytes_, slab_.size(), slab_.data()));
  slab_first_row_ = first_row;
  return Status::OK();
}

Status CellReader::Read(const std::vector<uint64_t>& origin, const std::vector<uint64_t>& extent,
                        std::string* out) {
  size_t rank = extent.size();
  uint64_t run = extent[rank - 1] * itemsize_;
  out->resize(Product(std::span(extent).first(rank - 1)) * run);
  // A box spanning every trailing dimension is one contiguous range.
  bool contiguous = true;
  for (size_t d = 1; d < rank; ++d) contiguous = contiguous && extent[d] == shape_[d];
  if (contiguous) return ReadExact(origin[0] * row_bytes_, out->size(), out->data());
  uint64_t slab_rows = std::min(chunks_[0], shape_[0] - origin[0]);
  bool use_slab = slab_rows * row_bytes_ <= kMaxSlabBytes;
  if (use_slab) VH5_RETURN_IF_ERROR(LoadSlab(origin[0]));
  // Walk the runs along the last dimension, C order over the box.
  for (BoxRows rows(shape_, origin, extent); !rows.done(); rows.Next()) {
    char* dst = out->data() + rows.row() * run;
    uint64_t at = rows.offset() * itemsize_;
    if (use_slab) {
      std::copy_n(slab_.data() + (at - origin[0] * row_bytes_), run, dst);
    } else {
      VH5_RETURN_IF_ERROR(ReadExact(at, run, dst));
    }
  }
  return Status::OK();
}

}  // namespace vh5
