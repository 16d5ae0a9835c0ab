// One Zarr chunk file of a version's dataset (Dataset::OpenCell, zarr.h).
//
// StoredCellFile is a stored raw_data chunk as it lies in the file (read,
// and spliced, in place); BuiltCellFile is a chunk made on the first read
// (decoded, assembled from pieces, or strings encoded) and kept while the
// file is open.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "read/file_state.h"
#include "util/fd.h"
#include "vh5/dataset.h"
#include "vh5/mutex.h"

namespace vh5 {

class StoredCellFile final : public Dataset {
 public:
  StoredCellFile(DatasetInfo info, std::shared_ptr<const Fd> fd, DiskAccess access, uint64_t offset,
                 uint64_t size)
      : info_(std::move(info)),
        fd_(std::move(fd)),
        access_(std::move(access)),
        offset_(offset),
        size_(size) {}

  const DatasetInfo& info() const override { return info_; }
  uint64_t size() const override { return size_; }
  Result<size_t> Read(uint64_t offset, size_t len, char* out) const override;
  Status Locate(uint64_t offset, size_t len, std::vector<Run>* out, ReadHold* hold) const override;

 private:
  DatasetInfo info_;
  std::shared_ptr<const Fd> fd_;
  DiskAccess access_;
  uint64_t offset_;
  uint64_t size_;
};

class BuiltCellFile final : public Dataset {
 public:
  using Builder = std::function<Result<std::string>()>;
  // `size` is what `build` will make: known before (decoded chunks), or
  // built now when not (size 0 passed: encoded chunks, strings).
  static Result<std::shared_ptr<const Dataset>> Make(DatasetInfo info, uint64_t size,
                                                     Builder build);

  const DatasetInfo& info() const override { return info_; }
  uint64_t size() const override { return size_; }
  Result<size_t> Read(uint64_t offset, size_t len, char* out) const override;

 private:
  BuiltCellFile(DatasetInfo info, uint64_t size, Builder build)
      : info_(std::move(info)), size_(size), build_(std::move(build)) {}
  Status Build() const;

  DatasetInfo info_;
  uint64_t size_;
  Builder build_;
  mutable Mutex mu_;
  mutable bool built_ GUARDED_BY(mu_) = false;
  mutable std::string bytes_ GUARDED_BY(mu_);
};

// `raw` (a whole chunk, C order) encoded as ZarrArrayJson(info) says: the
// shuffle filter, then zlib, each when the dataset has it.
Result<std::string> ZarrEncode(const DatasetInfo& info, std::string raw);

}  // namespace vh5
