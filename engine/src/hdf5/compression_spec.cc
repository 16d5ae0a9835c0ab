#include "hdf5/compression_spec.h"

#include "hdf5/h5_handle.h"

namespace vh5 {

Result<CompressionSpec> ParseCompression(const std::string& text) {
  CompressionSpec spec;
  if (text.empty() || text == "none") return spec;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string item = text.substr(pos, comma == std::string::npos ? comma : comma - pos);
    if (item == "shuffle") {
      spec.shuffle = true;
    } else if (item == "fletcher32") {
      spec.fletcher32 = true;
    } else if (item == "lzf" || item == "gzip" || item.rfind("gzip:", 0) == 0) {
      if (!spec.compressor.empty()) return Status::InvalidArgument("two compressors in " + text);
      spec.compressor = item.substr(0, item.find(':'));
      if (item.size() > 5) {
        std::string level = item.substr(5);
        if (level.size() != 1 || level[0] < '0' || level[0] > '9')
          return Status::InvalidArgument("gzip level must be 0-9, not " + level);
        spec.gzip_level = level[0] - '0';
      }
    } else if (item != "none") {
      return Status::InvalidArgument("unknown compression " + item);
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return spec;
}

Status SetFilters(hid_t dcpl, const CompressionSpec& spec) {
  constexpr H5Z_filter_t kLzfFilter = 32000;
  if (spec.shuffle && H5Pset_shuffle(dcpl) < 0) return h5::Error("cannot set shuffle");
  if (spec.compressor == "lzf") {
    if (H5Pset_filter(dcpl, kLzfFilter, H5Z_FLAG_OPTIONAL, 0, nullptr) < 0)
      return h5::Error("cannot set lzf");
  } else if (spec.compressor == "gzip") {
    if (H5Pset_deflate(dcpl, static_cast<unsigned>(spec.gzip_level)) < 0)
      return h5::Error("cannot set gzip");
  }
  if (spec.fletcher32 && H5Pset_fletcher32(dcpl) < 0) return h5::Error("cannot set fletcher32");
  return Status::OK();
}

}  // namespace vh5
