#include "read/buffered_dataset.h"

#include <algorithm>
#include <cstring>

#include "read/cell_file.h"
#include "vh5/shape.h"
#include "vh5/vlen_text.h"
#include "vh5/zarr.h"

namespace vh5 {

Result<size_t> BufferedDataset::Read(uint64_t offset, size_t len, char* out) const {
  if (offset >= content_.size()) return size_t{0};
  size_t n = static_cast<size_t>(std::min<uint64_t>(len, content_.size() - offset));
  std::memcpy(out, content_.data() + offset, n);
  return n;
}

std::vector<uint64_t> BufferedDataset::MappedCells() const {
  if (mapped_cells_) return *mapped_cells_;
  std::vector<uint64_t> chunks = ZarrChunks(info_);
  uint64_t cells = 1;
  for (size_t d = 0; d < chunks.size(); ++d) cells *= (info_.shape[d] + chunks[d] - 1) / chunks[d];
  std::vector<uint64_t> all(cells);
  for (uint64_t c = 0; c < cells; ++c) all[c] = c;
  return all;
}

Result<std::shared_ptr<const Dataset>> BufferedDataset::OpenCell(uint64_t cell) const {
  size_t rank = info_.shape.size();
  if (rank == 0) return Status::Unsupported("no Zarr chunks for a scalar dataset");
  std::vector<uint64_t> chunks = ZarrChunks(info_);
  std::vector<uint64_t> origin(rank), extent(rank), zero(rank, 0);
  uint64_t rest = cell;
  for (size_t d = rank; d-- > 0;) {
    uint64_t grid = (info_.shape[d] + chunks[d] - 1) / chunks[d];
    if (grid == 0) return Status::NotFound("no such chunk");
    origin[d] = rest % grid * chunks[d];
    extent[d] = std::min(chunks[d], info_.shape[d] - origin[d]);
    rest /= grid;
  }
  if (rest != 0) return Status::NotFound("no such chunk");
  std::string bytes;
  if (info_.dtype.is_vlen_string) {
    VH5_ASSIGN_OR_RETURN(std::vector<std::string> values, DecodeLines(content_));
    if (values.size() != Product(info_.shape))
      return Status::Corruption("a string dataset of another element count than its shape");
    std::vector<std::string> items(Product(chunks));
    // The box's rows in the dataset and in the chunk, walked together.
    BoxRows to(chunks, zero, extent);
    for (BoxRows from(info_.shape, origin, extent); !from.done(); from.Next(), to.Next())
      for (uint64_t i = 0; i < from.length(); ++i)
        items[to.offset() + i] = std::move(values[from.offset() + i]);
    bytes = ZarrVlenUtf8(items);
  } else {
    size_t item = info_.dtype.itemsize;
    if (content_.size() != Product(info_.shape) * item)
      return Status::Corruption("a dataset of another size than its shape");
    uint64_t elements = Product(chunks);
    bytes.resize(elements * item);
    for (uint64_t e = 0; e < elements; ++e)
      if (info_.fill_bytes.size() == item)
        std::memcpy(bytes.data() + e * item, info_.fill_bytes.data(), item);
    uint64_t row = extent[rank - 1] * item;
    BoxRows to(chunks, zero, extent);
    for (BoxRows from(info_.shape, origin, extent); !from.done(); from.Next(), to.Next())
      std::memcpy(bytes.data() + to.offset() * item, content_.data() + from.offset() * item, row);
    if (ZarrKeepsEncoding(info_) && info_.compression != "none") {
      VH5_ASSIGN_OR_RETURN(bytes, ZarrEncode(info_, std::move(bytes)));
    }
  }
  return BuiltCellFile::Make(info_, 0, [bytes]() -> Result<std::string> { return bytes; });
}

}  // namespace vh5
