// Writing versioned files in the format of versioned-hdf5 (data_version 4).
//
// CommitVersion writes a whole version from in-memory content: every chunk is
// hashed with SHA-256 as the Python library does, chunks already stored for
// that dataset path are reused, new ones are appended to raw_data, and the
// version's datasets become virtual datasets mapping each chunk. A chunk
// holding nothing but the fill value is not stored and has no mapping.
//
// Not thread-safe: one writer per file, and no reader may have it open.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vh5/byte_source.h"
#include "vh5/metadata.h"
#include "vh5/status.h"

namespace vh5 {

struct NewDataset {
  std::string path;   // inside the version, e.g. "a/b/values"
  std::string dtype;  // NumPy spelling ("<f8", "|b1", "|S8", "vlen-str", ...)
  std::vector<uint64_t> shape;
  std::vector<uint64_t> chunks;
  std::string fill_bytes;            // one element in its stored layout; empty means zeros
  std::string compression = "none";  // "gzip:4", "lzf", "gzip:4,shuffle", "fletcher32", ...
  // The elements in C order (fixed-size types): read from `source` when set,
  // else taken from `data`.
  std::shared_ptr<const ByteSource> source;
  std::string data;
  std::vector<std::string> strings;  // the elements in C order (vlen-str)
  Attributes attrs;
};

struct NewGroup {
  std::string path;  // "" is the version's root group
  Attributes attrs;
};

struct NewVersion {
  std::string name;
  std::string prev_version;  // empty: the current version (or the first version)
  std::string timestamp;     // empty: now, in the stored form
  bool make_current = true;
  std::vector<NewGroup> groups;  // parents of datasets are created as needed
  std::vector<NewDataset> datasets;
};

// Creates an empty versioned file at `path`, as the Python library does;
// Exists if something is already there.
Status CreateVersionedFile(const std::string& path);

// Adds `version` to the versioned file at `path`.
Status CommitVersion(const std::string& path, const NewVersion& version);

// What a version name may be: not empty, no '/', not "." or "..", not
// kFirstVersionName.
Status ValidateVersionName(const std::string& name);

}  // namespace vh5
