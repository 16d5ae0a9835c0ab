#include "read/cell_file.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "vh5/zarr.h"

namespace vh5 {

Result<size_t> StoredCellFile::Read(uint64_t offset, size_t len, char* out) const {
  if (offset >= size_ || len == 0) return size_t{0};
  len = static_cast<size_t>(std::min<uint64_t>(len, size_ - offset));
  // Waits for another process's write: a delete may move stored chunks.
  DiskRead pass(access_, DiskRead::Kind::kData);
  VH5_RETURN_IF_ERROR(pass.status());
  ssize_t n = PreadAll(fd_->get(), out, len, offset_ + offset);
  if (n < 0) return Status::IOError(std::string("pread: ") + std::strerror(errno));
  if (static_cast<size_t>(n) != len)
    return Status::Corruption("a chunk lies past the end of the file");
  return len;
}

Status StoredCellFile::Locate(uint64_t offset, size_t len, std::vector<Run>* out,
                              ReadHold* hold) const {
  hold->Release();
  out->clear();
  if (offset >= size_ || len == 0) return Status::OK();
  uint64_t n = std::min<uint64_t>(len, size_ - offset);
  struct Held {
    Held(const DiskAccess& access, std::shared_ptr<const Fd> fd)
        : pass(access, DiskRead::Kind::kChecked), fd(std::move(fd)) {}
    DiskRead pass;
    std::shared_ptr<const Fd> fd;
  };
  auto held = std::make_shared<Held>(access_, fd_);
  VH5_RETURN_IF_ERROR(held->pass.status());
  if (held->pass.checked()) {
    out->push_back(Run{n, -1});  // another process writes: Read() waits for it
    return Status::OK();
  }
  out->push_back(Run{n, static_cast<int64_t>(offset_ + offset)});
  *hold = ReadHold(std::move(held), fd_->get());
  return Status::OK();
}

Result<std::shared_ptr<const Dataset>> BuiltCellFile::Make(DatasetInfo info, uint64_t size,
                                                           Builder build) {
  std::shared_ptr<BuiltCellFile> file(new BuiltCellFile(std::move(info), size, std::move(build)));
  if (size == 0) {
    MutexLock lock(&file->mu_);
    VH5_ASSIGN_OR_RETURN(file->bytes_, file->build_());
    file->built_ = true;
    file->size_ = file->bytes_.size();
  }
  return std::shared_ptr<const Dataset>(std::move(file));
}

Result<size_t> BuiltCellFile::Read(uint64_t offset, size_t len, char* out) const {
  MutexLock lock(&mu_);
  if (!built_) {
    VH5_ASSIGN_OR_RETURN(bytes_, build_());
    if (bytes_.size() != size_) return Status::Corruption("a chunk built to another size");
    built_ = true;
  }
  if (offset >= bytes_.size()) return size_t{0};
  size_t n = static_cast<size_t>(std::min<uint64_t>(len, bytes_.size() - offset));
  std::memcpy(out, bytes_.data() + offset, n);
  return n;
}

Result<std::string> ZarrEncode(const DatasetInfo& info, std::string raw) {
  size_t item = info.dtype.itemsize;
  if (ZarrShuffled(info) && item > 1) {
    // numcodecs' Shuffle and HDF5's: byte k of every element, for each k.
    std::string shuffled(raw.size(), '\0');
    size_t elements = raw.size() / item;
    for (size_t e = 0; e < elements; ++e)
      for (size_t k = 0; k < item; ++k) shuffled[k * elements + e] = raw[e * item + k];
    raw = std::move(shuffled);
  }
  if (info.compression.rfind("gzip:", 0) != 0) return raw;
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::string out(size, '\0');
  int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &size,
                     reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()),
                     ZarrZlibLevel(info));
  if (rc != Z_OK) return Status::IOError("zlib: cannot compress a chunk");
  out.resize(size);
  return out;
}

}  // namespace vh5
