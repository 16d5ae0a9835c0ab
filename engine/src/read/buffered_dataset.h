// A dataset whose whole file content is built once and kept in memory:
// variable-length strings (their line form has no fixed element offsets)
// and the rare non-virtual dataset inside a version.
#pragma once

#include <string>

#include "vh5/dataset.h"

namespace vh5 {

class BufferedDataset final : public Dataset {
 public:
  BufferedDataset(DatasetInfo info, std::string content)
      : info_(std::move(info)), content_(std::move(content)) {}

  const DatasetInfo& info() const override { return info_; }
  uint64_t size() const override { return content_.size(); }
  Result<size_t> Read(uint64_t offset, size_t len, char* out) const override;

 private:
  DatasetInfo info_;
  std::string content_;
};

}  // namespace vh5
