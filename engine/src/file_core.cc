#include "file_core.h"

namespace vh5 {

Result<std::shared_ptr<RawData>> FileCore::Raw(const std::string& raw_path) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = raw_.find(raw_path);
  if (it != raw_.end()) return it->second;
  VH5_ASSIGN_OR_RETURN(std::shared_ptr<RawData> raw, RawData::Open(file.get(), fd, raw_path));
  raw_.emplace(raw_path, raw);
  return raw;
}

void FileCore::ForgetRawData() {
  std::lock_guard<std::mutex> lock(mu_);
  raw_.clear();
}

}  // namespace vh5
