// Plain descriptions of versions, groups, datasets and attributes.
// Values only: no HDF5 handles, safe to copy between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vh5 {

// The name the Python library uses for the empty root of the version graph.
inline constexpr const char kFirstVersionName[] = "__first_version__";

struct VersionInfo {
  std::string name;
  std::string prev_version;  // kFirstVersionName for a first version
  std::string timestamp;     // as stored, e.g. "2024-01-01 13:00:00.000001+0000"
  int64_t timestamp_ns = 0;  // the same instant, ns since the Unix epoch (0 if unparsable)
};

// A dataset's element type.
struct DType {
  std::string numpy;      // NumPy spelling: "<f8", "|b1", "|S8", "[('x', '<i4'), ...]",
                          // or "vlen-str" for variable-length strings
  uint64_t itemsize = 0;  // bytes per element in the file (0 for vlen-str)
  bool is_vlen_string = false;
};

// One HDF5 attribute, as the filesystem shows it.
//
// `text` is what the xattr user.h5.<name> reads: the plain text of a string
// attribute; for other types, the value in Python literal form ("0.5", "7",
// "True", "(1+2j)", "[1, 2, 3]", "b'\\x00\\x01'"). `type` is empty for a
// scalar variable-length UTF-8 string (h5py's str) and otherwise the NumPy
// spelling of the HDF5 type, a subarray shape prefixed for arrays
// ("<f8", "(3,)<i8", "|S5", "(2,)vlen-str"); fs/ shows it as the xattr
// user.vh5.h5type.<name>. Together they reproduce the attribute exactly.
struct Attribute {
  std::string name;
  std::string text;
  std::string type;
};
using Attributes = std::vector<Attribute>;

struct DatasetInfo {
  DType dtype;
  std::vector<uint64_t> shape;
  std::vector<uint64_t> chunks;
  // The fill value's bytes in the stored layout (itemsize bytes; empty for vlen-str),
  // and its text for the xattr user.vh5.fillvalue (same literal form as Attribute::text;
  // empty for vlen-str).
  std::string fill_bytes;
  std::string fill_text;
  std::string compression;  // "none", "gzip:4", "gzip:4,shuffle", "lzf", "fletcher32", ...
  Attributes attrs;
};

enum class NodeKind { kGroup, kDataset };

struct DirEntry {
  std::string name;
  NodeKind kind;
};

}  // namespace vh5
