// A dataset whose whole file content is built once and kept in memory:
// variable-length strings (their line form has no fixed element offsets)
// and the rare non-virtual dataset inside a version.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vh5/dataset.h"

namespace vh5 {

class BufferedDataset final : public Dataset {
 public:
  // `mapped_cells`: the cells a virtual dataset maps (Dataset::MappedCells);
  // nullopt for a plain dataset, which stores every cell.
  BufferedDataset(DatasetInfo info, std::string content,
                  std::optional<std::vector<uint64_t>> mapped_cells = std::nullopt)
      : info_(std::move(info)),
        content_(std::move(content)),
        mapped_cells_(std::move(mapped_cells)) {}

  const DatasetInfo& info() const override { return info_; }
  uint64_t size() const override { return content_.size(); }
  Result<size_t> Read(uint64_t offset, size_t len, char* out) const override;
  // Built in memory already: the content is its own key.
  std::string ContentKey() const override { return "=" + content_; }
  std::vector<uint64_t> MappedCells() const override;
  // Cut out of the content: strings in numcodecs' VLenUTF8 layout, other
  // elements as they are; padded to the whole chunk.
  Result<std::shared_ptr<const Dataset>> OpenCell(uint64_t cell) const override;

 private:
  DatasetInfo info_;
  std::string content_;
  std::optional<std::vector<uint64_t>> mapped_cells_;
};

}  // namespace vh5
