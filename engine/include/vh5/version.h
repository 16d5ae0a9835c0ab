// A committed version: an immutable snapshot of a tree of groups and datasets.
//
// Thread safety: every method may be called from any thread at once.
// Paths are relative to the version root, '/'-separated, without a leading
// slash; "" is the root group.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vh5/dataset.h"
#include "vh5/metadata.h"
#include "vh5/status.h"

namespace vh5 {

class Version {
 public:
  virtual ~Version() = default;

  virtual const VersionInfo& info() const = 0;

  // The kind of node at `path`; NotFound if there is none.
  virtual Result<NodeKind> Kind(std::string_view path) const = 0;
  // The children of the group at `path`, sorted by name.
  virtual Result<std::vector<DirEntry>> List(std::string_view path) const = 0;
  // The HDF5 attributes of the group or dataset at `path`.
  virtual Result<Attributes> GetAttributes(std::string_view path) const = 0;
  // The dataset at `path`; the same object for every call with the same path.
  virtual Result<std::shared_ptr<const Dataset>> OpenDataset(std::string_view path) const = 0;
  // How the file stores the data of a dataset at `path`, whichever version
  // has it: its raw_data's dtype, chunks, fill value and compression (shape
  // and attributes empty); nullopt when the file stores none.
  // versioned-hdf5 keeps one raw_data per path: a dataset there must match.
  virtual Result<std::optional<DatasetInfo>> StoredLayout(std::string_view path) const {
    (void)path;
    return std::optional<DatasetInfo>();
  }
};

}  // namespace vh5
