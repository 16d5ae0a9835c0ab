// What every object of one open versioned file shares: the HDF5 file, a
// descriptor for direct chunk reads, and the raw_data datasets opened so far.
//
// Thread safety: Raw() may be called concurrently.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "fd.h"
#include "h5_handle.h"
#include "raw_data.h"

namespace vh5 {

inline constexpr const char kVersionsGroup[] = "/_version_data/versions";

struct FileCore {
  // Declared first so that it is closed last, after every object opened in it.
  h5::Handle file;
  std::string path;
  std::shared_ptr<const Fd> fd;

  // The raw_data dataset at absolute `raw_path`, opened once and shared.
  Result<std::shared_ptr<RawData>> Raw(const std::string& raw_path);
  // Drops the shared raw_data objects (after a commit grew them); objects
  // already handed out stay valid for the chunks they knew.
  void ForgetRawData();

 private:
  std::mutex mu_;  // guards raw_
  std::map<std::string, std::shared_ptr<RawData>> raw_;
};

}  // namespace vh5
