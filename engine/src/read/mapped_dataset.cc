#include "read/mapped_dataset.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <thread>
#include <unordered_map>

#include "read/cell_file.h"
#include "util/fd.h"
#include "util/shares.h"
#include "vh5/shape.h"
#include "vh5/zarr.h"

namespace vh5 {
namespace {

// Set on a thread while it reads past a closed gate: every chunk it reads
// is checked against its slot's hash (file_state.h).
thread_local bool checking_chunks = false;

class CheckingChunks {
 public:
  CheckingChunks() { checking_chunks = true; }
  ~CheckingChunks() { checking_chunks = false; }
  CheckingChunks(const CheckingChunks&) = delete;
  CheckingChunks& operator=(const CheckingChunks&) = delete;
};

}  // namespace

MappedDataset::MappedDataset(DatasetInfo info, ChunkMap map,
                             std::vector<std::shared_ptr<RawData>> sources)
    : info_(std::move(info)), map_(std::move(map)), sources_(std::move(sources)) {
  itemsize_ = info_.dtype.itemsize;
  uint64_t elements = 1;
  for (uint64_t d : info_.shape) elements *= d;
  size_ = elements * itemsize_;
  row_elements_ = 1;
  row_cells_ = true;
  for (size_t d = 1; d < info_.shape.size(); ++d) {
    row_elements_ *= info_.shape[d];
    if (map_.cell_dims()[d] < info_.shape[d]) row_cells_ = false;
  }
  if (!sources_.empty()) {
    fd_ = sources_[0]->fd();
    fd_owner_ = sources_[0]->fd_owner();
    access_ = sources_[0]->access();
  }
}

DiskRead MappedDataset::PassForData() const { return DiskRead(access_, DiskRead::Kind::kData); }

std::optional<uint64_t> MappedDataset::CellFileOffset(uint64_t cell) const {
  const ChunkMap::Piece* piece = nullptr;
  if (!row_cells_ || fd_ < 0 || !CoveredByOnePiece(cell, &piece)) return std::nullopt;
  const RawData& raw = *sources_[piece->source];
  if (raw.fd() != fd_) return std::nullopt;
  const uint64_t* sstart = map_.SourceStart(*piece);
  const uint64_t* count = map_.Count(*piece);
  for (size_t d = 1; d < map_.rank(); ++d)
    if (sstart[d] != 0 || raw.dims()[d] != info_.shape[d]) return std::nullopt;
  return raw.RowsOffset(sstart[0], count[0]);
}

Status MappedDataset::Locate(uint64_t offset, size_t len, std::vector<Run>* out,
                             ReadHold* hold) const {
  hold->Release();
  out->clear();
  struct Held {
    Held(const DiskAccess& access, const std::string& path, std::shared_ptr<const Fd> fd)
        : pass(access, DiskRead::Kind::kChecked, path), fd(std::move(fd)) {}
    DiskRead pass;
    std::shared_ptr<const Fd> fd;
  };
  auto held = std::make_shared<Held>(access_, std::string(), fd_owner_);
  VH5_RETURN_IF_ERROR(held->pass.status());
  if (held->pass.checked()) {
    // Another process writes: no bytes leave unchecked, so Read() makes them all.
    if (offset < size_ && len > 0) out->push_back(Run{std::min<uint64_t>(len, size_ - offset), -1});
    return Status::OK();
  }
  Runs(offset, len, out);
  *hold = ReadHold(std::move(held), fd_);
  return Status::OK();
}

void MappedDataset::Runs(uint64_t offset, size_t len, std::vector<Run>* out) const {
  out->clear();
  if (offset >= size_ || len == 0) return;
  uint64_t end = offset + std::min<uint64_t>(len, size_ - offset);
  auto add = [out](uint64_t length, int64_t file_offset) {
    if (!out->empty()) {
      Run& last = out->back();
      bool both_other = last.file_offset < 0 && file_offset < 0;
      bool adjacent = last.file_offset >= 0 && file_offset >= 0 &&
                      static_cast<uint64_t>(last.file_offset) + last.length ==
                          static_cast<uint64_t>(file_offset);
      if (both_other || adjacent) {
        last.length += length;
        return;
      }
    }
    out->push_back(Run{length, file_offset});
  };
  if (!row_cells_ || fd_ < 0) {
    add(end - offset, -1);
    return;
  }
  // A row cell is one contiguous stretch of the view: cell_bytes each.
  uint64_t cell_bytes = map_.cell_dims()[0] * row_elements_ * itemsize_;
  for (uint64_t pos = offset; pos < end;) {
    uint64_t cell = pos / cell_bytes;
    uint64_t stop = std::min(end, (cell + 1) * cell_bytes);
    std::optional<uint64_t> at = CellFileOffset(cell);
    if (at) {
      add(stop - pos, static_cast<int64_t>(*at + (pos - cell * cell_bytes)));
    } else {
      add(stop - pos, -1);
    }
    pos = stop;
  }
}

void MappedDataset::Fill(char* out, uint64_t elements) const {
  const std::string& fill = info_.fill_bytes;
  if (fill.size() != itemsize_ ||
      std::all_of(fill.begin(), fill.end(), [](char c) { return c == 0; })) {
    std::memset(out, 0, elements * itemsize_);
    return;
  }
  for (uint64_t i = 0; i < elements; ++i) std::memcpy(out + i * itemsize_, fill.data(), itemsize_);
}

Result<size_t> MappedDataset::Read(uint64_t offset, size_t len, char* out) const {
  if (offset >= size_ || len == 0) return size_t{0};
  len = static_cast<size_t>(std::min<uint64_t>(len, size_ - offset));
  {
    DiskRead pass(access_, DiskRead::Kind::kChecked);
    VH5_RETURN_IF_ERROR(pass.status());
    if (!pass.checked()) return ReadPassed(offset, len, out);
    CheckingChunks checking;
    Status checked = ReadOther(offset, len, out);
    if (checked.ok()) return len;
  }
  // A chunk not as it was (moved by a delete under way), or gone: wait for
  // the writer like any other read (and then, most likely, Stale).
  DiskRead pass = PassForData();
  VH5_RETURN_IF_ERROR(pass.status());
  return ReadPassed(offset, len, out);
}

Result<size_t> MappedDataset::ReadPassed(uint64_t offset, size_t len, char* out) const {
  thread_local std::vector<Run> runs;
  Runs(offset, len, &runs);
  uint64_t done = 0;
  for (const Run& run : runs) {
    char* dst = out + done;
    if (run.file_offset < 0) {
      VH5_RETURN_IF_ERROR(ReadOther(offset + done, static_cast<size_t>(run.length), dst));
    } else {
      // Chunks stored one after another: one pread for all of them.
      ssize_t n = PreadAll(fd_, dst, run.length, static_cast<uint64_t>(run.file_offset));
      if (n < 0) return Status::IOError(std::string("pread: ") + std::strerror(errno));
      if (static_cast<uint64_t>(n) != run.length)
        return Status::Corruption("a chunk lies past the end of the file");
    }
    done += run.length;
  }
  return len;
}

Status MappedDataset::ReadOther(uint64_t offset, size_t len, char* out) const {
  uint64_t first = offset / itemsize_;
  uint64_t last = (offset + len + itemsize_ - 1) / itemsize_;
  if (offset % itemsize_ == 0 && len % itemsize_ == 0) return ReadElements(first, last, out);
  std::vector<char> tmp((last - first) * itemsize_);
  VH5_RETURN_IF_ERROR(ReadElements(first, last, tmp.data()));
  std::memcpy(out, tmp.data() + (offset - first * itemsize_), len);
  return Status::OK();
}

Status MappedDataset::ReadSource(const ChunkMap::Piece& piece, const uint64_t* start,
                                 const uint64_t* count, char* out) const {
  const RawData& raw = *sources_[piece.source];
  if (!checking_chunks) return raw.ReadBlock(start, count, out);
  size_t rank = map_.rank();
  const uint64_t* whole_start = map_.SourceStart(piece);
  std::vector<uint64_t> extent(map_.Count(piece), map_.Count(piece) + rank);
  uint64_t row_bytes = itemsize_;
  for (size_t d = 1; d < rank; ++d) {
    if (start[d] != whole_start[d] || count[d] != extent[d])
      return Status::TryAgain("a part of a chunk's rows cannot be checked");
    row_bytes *= extent[d];
  }
  // The whole chunk, hashed as versioned-hdf5 did when it stored it.
  std::string whole(extent[0] * row_bytes, '\0');
  VH5_RETURN_IF_ERROR(raw.ReadBlock(whole_start, extent.data(), whole.data()));
  if (!raw.MatchesSlot(whole_start[0], whole, extent))
    return Status::TryAgain("a chunk is not what its slot held: another process moved it");
  std::memcpy(out, whole.data() + (start[0] - whole_start[0]) * row_bytes, count[0] * row_bytes);
  return Status::OK();
}

bool MappedDataset::CoveredByOnePiece(uint64_t cell, const ChunkMap::Piece** piece) const {
  std::span<const ChunkMap::Piece> pieces = map_.PiecesOf(cell);
  if (pieces.size() != 1) return false;
  size_t rank = map_.rank();
  uint64_t origin[32], extent[32];  // HDF5 allows 32 dimensions at most
  if (rank > 32) return false;
  map_.CellBox(cell, origin, extent);
  const uint64_t* vstart = map_.VirtualStart(pieces[0]);
  const uint64_t* count = map_.Count(pieces[0]);
  for (size_t d = 0; d < rank; ++d)
    if (vstart[d] != origin[d] || count[d] != extent[d]) return false;
  *piece = &pieces[0];
  return true;
}

Status MappedDataset::BuildCell(uint64_t cell, std::vector<char>* out) const {
  size_t rank = map_.rank();
  std::vector<uint64_t> origin(rank), extent(rank);
  map_.CellBox(cell, origin.data(), extent.data());
  uint64_t elements = Product(extent);
  out->resize(elements * itemsize_);
  const ChunkMap::Piece* whole = nullptr;
  if (CoveredByOnePiece(cell, &whole))
    return ReadSource(*whole, map_.SourceStart(*whole), map_.Count(*whole), out->data());
  Fill(out->data(), elements);
  std::vector<char> block;
  std::vector<uint64_t> in_cell(rank);
  for (const ChunkMap::Piece& piece : map_.PiecesOf(cell)) {
    std::span<const uint64_t> count(map_.Count(piece), rank);
    const uint64_t* vstart = map_.VirtualStart(piece);
    block.resize(Product(count) * itemsize_);
    VH5_RETURN_IF_ERROR(ReadSource(piece, map_.SourceStart(piece), count.data(), block.data()));
    // Scatter rows of the piece into the cell buffer.
    uint64_t row = count[rank - 1] * itemsize_;
    for (size_t d = 0; d < rank; ++d) in_cell[d] = vstart[d] - origin[d];
    for (BoxRows rows(extent, in_cell, count); !rows.done(); rows.Next())
      std::memcpy(out->data() + rows.offset() * itemsize_, block.data() + rows.row() * row, row);
  }
  return Status::OK();
}

Status MappedDataset::ReadFromRowCell(uint64_t cell, uint64_t first, uint64_t last,
                                      char* out) const {
  const ChunkMap::Piece* piece = nullptr;
  if (CoveredByOnePiece(cell, &piece)) {
    // Read only the rows (slices along axis 0) the range touches.
    uint64_t row_first = first / row_elements_;
    uint64_t row_last = (last + row_elements_ - 1) / row_elements_;
    std::vector<uint64_t> start(map_.SourceStart(*piece), map_.SourceStart(*piece) + map_.rank());
    std::vector<uint64_t> count(map_.Count(*piece), map_.Count(*piece) + map_.rank());
    start[0] += row_first;
    count[0] = row_last - row_first;
    if (first % row_elements_ == 0 && last % row_elements_ == 0)
      return ReadSource(*piece, start.data(), count.data(), out);
    std::vector<char> tmp((row_last - row_first) * row_elements_ * itemsize_);
    VH5_RETURN_IF_ERROR(ReadSource(*piece, start.data(), count.data(), tmp.data()));
    std::memcpy(out, tmp.data() + (first - row_first * row_elements_) * itemsize_,
                (last - first) * itemsize_);
    return Status::OK();
  }
  if (map_.PiecesOf(cell).empty()) {
    Fill(out, last - first);
    return Status::OK();
  }
  std::vector<char> whole;
  VH5_RETURN_IF_ERROR(BuildCell(cell, &whole));
  std::memcpy(out, whole.data() + first * itemsize_, (last - first) * itemsize_);
  return Status::OK();
}

Status MappedDataset::ReadElements(uint64_t first, uint64_t last, char* out) const {
  const std::vector<uint64_t>& shape = info_.shape;
  const std::vector<uint64_t>& cells = map_.cell_dims();
  size_t rank = shape.size();
  if (rank == 0) return Status::Unsupported("a scalar virtual dataset");

  if (row_cells_) {
    uint64_t cell_elements = cells[0] * row_elements_;
    uint64_t first_cell = first / cell_elements;
    uint64_t end_cell = (last + cell_elements - 1) / cell_elements;
    // Cells [from, to) of the range, each into its own part of `out`.
    auto read_cells = [&](uint64_t from, uint64_t to, uint64_t step) -> Status {
      for (uint64_t cell = from; cell < to; cell += step) {
        uint64_t cell_first = cell * cell_elements;
        uint64_t e = std::max(first, cell_first);
        uint64_t end = std::min(last, cell_first + cell_elements);
        VH5_RETURN_IF_ERROR(
            ReadFromRowCell(cell, e - cell_first, end - cell_first, out + (e - first) * itemsize_));
      }
      return Status::OK();
    };
    // Filtered chunks are decoded on every core: inflating is the cost of
    // such a read, and the cells' bytes go to places no other cell touches.
    uint64_t helpers = 0;
    // (Checked reads stay on this thread: it alone has passed the gate.)
    if (!checking_chunks && !sources_.empty() && sources_[0]->filtered() &&
        end_cell - first_cell >= 4)
      helpers = std::min<uint64_t>(end_cell - first_cell,
                                   std::max(1u, std::thread::hardware_concurrency())) -
                1;
    if (helpers == 0) return read_cells(first_cell, end_cell, 1);
    // Nothing may escape before every helper is joined. The helpers read
    // under this thread's pass of the file's gate (which it holds until
    // they are joined): passing it again could wait for a writer that
    // waits for this very read.
    DiskRead::Passes passes = DiskRead::Current();
    return RunShares(helpers + 1, [&](size_t h) -> Status {
      DiskRead::Adopt adopt(passes);
      try {
        return read_cells(first_cell + h, end_cell, helpers + 1);
      } catch (const std::exception& e) {
        return Status::IOError(std::string("decoding chunks: ") + e.what());
      }
    });
  }

  // General case: walk runs along the last dimension, each inside one cell.
  std::unordered_map<uint64_t, std::vector<char>> cell_cache;
  std::vector<uint64_t> idx(rank), origin(rank), extent(rank);
  uint64_t rest = first;
  for (size_t d = rank; d-- > 0;) {
    idx[d] = rest % shape[d];
    rest /= shape[d];
  }
  size_t last_dim = rank - 1;
  for (uint64_t e = first; e < last;) {
    uint64_t cell_end = (idx[last_dim] / cells[last_dim] + 1) * cells[last_dim];
    uint64_t run =
        std::min({shape[last_dim], cell_end, idx[last_dim] + (last - e)}) - idx[last_dim];
    uint64_t cell = map_.CellOf(idx.data());
    auto it = cell_cache.find(cell);
    if (it == cell_cache.end()) {
      std::vector<char> buf;
      VH5_RETURN_IF_ERROR(BuildCell(cell, &buf));
      it = cell_cache.emplace(cell, std::move(buf)).first;
    }
    map_.CellBox(cell, origin.data(), extent.data());
    uint64_t lin = 0;
    for (size_t d = 0; d < rank; ++d) lin = lin * extent[d] + (idx[d] - origin[d]);
    std::memcpy(out + (e - first) * itemsize_, it->second.data() + lin * itemsize_,
                run * itemsize_);
    e += run;
    idx[last_dim] += run;
    for (size_t d = last_dim; d > 0 && idx[d] >= shape[d]; --d) {
      idx[d] = 0;
      ++idx[d - 1];
    }
  }
  return Status::OK();
}

Result<std::shared_ptr<const Dataset>> MappedDataset::OpenCell(uint64_t cell) const {
  const std::vector<uint64_t>& chunks = map_.cell_dims();
  uint64_t chunk_bytes = Product(chunks) * itemsize_;
  bool keep = ZarrKeepsEncoding(info_);
  // A cell that is one whole slot of raw_data (versioned-hdf5 stores every
  // chunk so, edge chunks whole too) is that slot's stored chunk.
  const ChunkMap::Piece* piece = nullptr;
  const ChunkMap::Piece* aligned = nullptr;
  if (CoveredByOnePiece(cell, &piece)) {
    const RawData& raw = *sources_[piece->source];
    const uint64_t* sstart = map_.SourceStart(*piece);
    bool whole_slot = raw.chunk_dims() == chunks;
    for (size_t d = 0; whole_slot && d < map_.rank(); ++d)
      whole_slot = sstart[d] % chunks[d] == 0 && sstart[d] + chunks[d] <= raw.dims()[d];
    if (whole_slot) {
      aligned = piece;
      std::optional<ChunkIndex::Entry> entry = raw.StoredChunk(sstart);
      bool as_stored = keep && raw.fd() >= 0 && entry && entry->filter_mask == 0 &&
                       (raw.filtered() || entry->size == chunk_bytes);
      if (as_stored)
        return std::shared_ptr<const Dataset>(std::make_shared<StoredCellFile>(
            info_, raw.fd_owner(), raw.access(), entry->offset, entry->size));
    }
  }
  std::shared_ptr<const MappedDataset> self = shared_from_this();
  bool encode = keep && info_.compression != "none";
  BuiltCellFile::Builder build = [self, cell, aligned, encode]() -> Result<std::string> {
    std::string whole;
    VH5_RETURN_IF_ERROR(self->WholeCell(cell, aligned, &whole));
    if (!encode) return whole;
    return ZarrEncode(self->info_, std::move(whole));
  };
  return BuiltCellFile::Make(info_, encode ? 0 : chunk_bytes, std::move(build));
}

Status MappedDataset::WholeCell(uint64_t cell, const ChunkMap::Piece* aligned,
                                std::string* out) const {
  const std::vector<uint64_t>& chunks = map_.cell_dims();
  uint64_t elements = Product(chunks);
  out->assign(elements * itemsize_, '\0');
  if (aligned)
    return sources_[aligned->source]->ReadBlock(map_.SourceStart(*aligned), chunks.data(),
                                                out->data());
  size_t rank = map_.rank();
  std::vector<uint64_t> origin(rank), extent(rank), zero(rank, 0);
  map_.CellBox(cell, origin.data(), extent.data());
  std::vector<char> clipped;
  VH5_RETURN_IF_ERROR(BuildCell(cell, &clipped));
  Fill(out->data(), elements);
  uint64_t row = extent[rank - 1] * itemsize_;
  for (BoxRows rows(chunks, zero, extent); !rows.done(); rows.Next())
    std::memcpy(out->data() + rows.offset() * itemsize_, clipped.data() + rows.row() * row, row);
  return Status::OK();
}

}  // namespace vh5
